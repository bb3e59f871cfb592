import type { ChatOptions, EmbeddingBody, Gateway } from "../../index.js";
import { HttpError, type Headers, type IncomingCall, type Reply } from "../call.js";
import { readJsonObject } from "../json-body.js";
import { attribution } from "../attribution.js";
import { gatewayJsonReply } from "./gateway-reply.js";

/** A gateway built elsewhere (another modelgate version) may lack `embed`: then the route says so. */
function canEmbed(gateway: Gateway): boolean {
  return typeof (gateway as Partial<Gateway>).embed === "function";
}

/** `POST /v1/embeddings`: served by `gateway.embed` when this gateway has it. */
export async function embeddings(gateway: Gateway, call: IncomingCall, key: string | undefined, headers: Headers): Promise<Reply> {
  if (!canEmbed(gateway)) {
    throw new HttpError(404, "not_supported", "Embeddings are not supported by this gateway version", "invalid_request_error");
  }
  const body = await readJsonObject(call);
  // Filled in place, not `{ ...attribution(call, body), signal }`: on Node 20's V8 a property
  // added to a spread copy takes a slow path (~2 µs apiece).
  const options: ChatOptions = attribution(call, body);
  options.signal = call.signal;
  if (key !== undefined) options.key = key;
  // The body is validated by gateway.embed, field by field, like a chat body.
  return gatewayJsonReply(headers, await gateway.embed(body as unknown as EmbeddingBody, options));
}
