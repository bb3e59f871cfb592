import type { StateStore } from "../../index.js";
import type { Headers, Reply } from "../call.js";

const READY_TIMEOUT_MS = 2_000;

/** A draw of zero tokens: a real round trip to a shared store that changes nothing. */
const PROBE_DRAW = [{ key: "modelgate:readyz", amount: 0, capacity: 1, refillPerMs: 1 }] as const;

export function healthz(headers: Headers): Reply {
  return json(200, { status: "ok" }, headers);
}

/** `GET /readyz`: 503 while draining or when the shared store does not answer in time. */
export async function readyz(store: StateStore | undefined, draining: boolean, headers: Headers): Promise<Reply> {
  if (draining) return json(503, { status: "draining" }, headers);
  if (!store) return json(200, { status: "ready" }, headers);
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("timeout")), READY_TIMEOUT_MS);
    });
    await Promise.race([store.peekTokens(PROBE_DRAW, Date.now()), timeout]);
    return json(200, { status: "ready", store: "reachable" }, headers);
  } catch {
    return json(503, { status: "unready", store: "unreachable" }, headers);
  } finally {
    clearTimeout(timer);
  }
}

function json(status: number, body: unknown, headers: Headers): Reply {
  return { status, headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) };
}
