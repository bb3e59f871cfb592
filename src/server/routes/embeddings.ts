import type { ChatOptions, Gateway } from "../../index.js";
import { HttpError, type Headers, type IncomingCall, type Reply } from "../call.js";
import { readJsonObject } from "../json-body.js";
import { attribution } from "../attribution.js";

/** The embeddings member a gateway may have: OpenAI's request in, `CreateEmbeddingResponse` out. */
interface EmbeddingGateway {
  embed(body: Record<string, unknown>, options?: ChatOptions): Promise<unknown>;
}

function canEmbed(gateway: Gateway): gateway is Gateway & EmbeddingGateway {
  return typeof (gateway as Partial<EmbeddingGateway>).embed === "function";
}

/** `POST /v1/embeddings`: served by `gateway.embed` when this gateway has it. */
export async function embeddings(gateway: Gateway, call: IncomingCall, key: string | undefined, headers: Headers): Promise<Reply> {
  if (!canEmbed(gateway)) {
    throw new HttpError(404, "not_supported", "Embeddings are not supported by this gateway version", "invalid_request_error");
  }
  const body = await readJsonObject(call);
  const options: ChatOptions = { ...attribution(call, body), signal: call.signal };
  if (key !== undefined) options.key = key;
  const result = await gateway.embed(body, options);
  return { status: 200, headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(result) };
}
