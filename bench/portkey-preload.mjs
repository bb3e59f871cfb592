// Loaded with `node --import` into the Portkey gateway process the bench starts.
// 1. Portkey's start-server.js calls serve({ port }) with no hostname, which listens on every
//    interface; the bench must stay on loopback, so a listen() without a host gets 127.0.0.1.
// 2. The process exits when its stdin closes, so it never outlives the bench.
import net from "node:net";

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "number" && (args[1] === undefined || typeof args[1] === "function")) {
    args.splice(1, args[1] === undefined ? 1 : 0, "127.0.0.1");
  }
  return listen.apply(this, args);
};

process.stdin.on("end", () => process.exit(0));
process.stdin.on("close", () => process.exit(0));
process.stdin.resume();
