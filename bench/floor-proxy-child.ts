/**
 * The least a Node proxy can cost, for bench/server-hop.ts: a node:http server in its own
 * process that relays each request's bytes to the fake at argv[2] and the answer's bytes back
 * (no JSON parse, no auth, no gateway), over a keep-alive agent upstream with Nagle off both
 * ways. Its hop over the direct call is this box's floor for any proxy written in Node.
 * Prints `FLOOR_URL <url>`; exits when stdin closes; a `cpu` line on stdin answers
 * `CPU_US <user+system µs so far>`.
 */
import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { obeyParent } from "./child-control.js";

const upstream = process.argv[2];
if (!upstream) throw new Error("usage: floor-proxy-child.ts <fake base URL>");
const target = new URL(upstream);
// The fake's base URL ends in /v1; the client's does too, so paths pass through unchanged.
const agent = new Agent({ keepAlive: true, maxSockets: 256, noDelay: true });

const server = createServer({ noDelay: true, keepAliveTimeout: 60_000 }, (req, res) => {
  const headers = { ...req.headers, host: target.host };
  const out = request({ agent, host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  out.on("error", () => res.destroy());
  req.pipe(out);
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
process.stdout.write(`FLOOR_URL http://127.0.0.1:${(server.address() as AddressInfo).port}${target.pathname.replace(/\/$/, "")}\n`);
const quit = (): void => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
obeyParent(quit);
