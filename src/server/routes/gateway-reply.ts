import type { GatewayInfo } from "../../index.js";
import type { Headers, Reply } from "../call.js";

/**
 * A gateway answer (chat completion or embeddings) as OpenAI's JSON body, with what the gateway
 * did in `x-modelgate-*` headers. `headers` is this request's own object (made by dispatch):
 * filled in place.
 */
export function gatewayJsonReply(headers: Headers, result: { gateway: GatewayInfo }): Reply {
  const info = result.gateway;
  headers["content-type"] = "application/json";
  headers["x-modelgate-deployment"] = info.deployment;
  headers["x-modelgate-cache"] = info.cache;
  headers["x-modelgate-cost-usd"] = String(info.costUsd);
  // JSON.stringify leaves out a field set to undefined, which is cheaper than a
  // rest-destructured copy (measured as the chat route's largest own cost).
  return { status: 200, headers, body: JSON.stringify({ ...result, gateway: undefined }) };
}
