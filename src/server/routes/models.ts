import type { Gateway } from "../../index.js";
import type { Headers, Reply } from "../call.js";
import type { HandlerOptions } from "../options.js";

/** `GET /v1/models`: the models the caller's key may use, in OpenAI's list shape. */
export function listModels(gateway: Gateway, models: HandlerOptions["models"], key: string | undefined, created: number, headers: Headers): Reply {
  const names = typeof models === "function" ? models(key) : (models ?? deployedModels(gateway));
  const data = [...new Set(names)].map((id) => ({ id, object: "model", created, owned_by: "modelgate" }));
  return { status: 200, headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify({ object: "list", data }) };
}

function deployedModels(gateway: Gateway): string[] {
  return gateway.health().map((deployment) => `${deployment.provider}/${deployment.model}`);
}
