import type {
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionCreateParamsStreaming,
} from "openai/resources/chat/completions";
import type { ChatRequest } from "../../core/chat-request.js";

/**
 * The gateway's request is OpenAI's own shape, so every field passes through as it is. Only
 * what belongs to the gateway changes: `model` becomes the deployment's model, and `stream`,
 * `stream_options` and `n` are the adapter's to set (`n` can only be 1). Undefined fields are
 * left out, so an OpenAI-compatible server never sees a `null` it did not expect.
 */
export function toOpenAIRequest(request: ChatRequest, model: string): ChatCompletionCreateParamsNonStreaming {
  const { model: _logicalModel, stream: _stream, stream_options: _streamOptions, n: _n, ...fields } = request;
  const body: ChatCompletionCreateParamsNonStreaming = { ...fields, model };
  for (const key of Object.keys(body) as (keyof typeof body)[]) {
    if (body[key] === undefined) delete body[key];
  }
  return body;
}

/** The streaming form: usage arrives in a last chunk with `choices: []`. */
export function toOpenAIStreamRequest(request: ChatRequest, model: string): ChatCompletionCreateParamsStreaming {
  return { ...toOpenAIRequest(request, model), stream: true, stream_options: { include_usage: true } };
}
