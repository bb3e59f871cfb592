import type { ChatChunk, ToolCallDelta } from "./chat-chunk.js";
import type { ReasoningDetail, ToolCall } from "./chat-request.js";
import type { AssistantAudio, ChatResponse, ChoiceLogprobs, FinishReason, ResponseModeration, SearchResult, UrlCitationAnnotation, Usage } from "./chat-response.js";

/** Assembles stream chunks into the `ChatResponse` the same call would have returned unstreamed. */
export class ChunkAccumulator {
  private id = "";
  private created = 0;
  private model = "";
  private content = "";
  private sawContent = false;
  private refusal: string | undefined;
  private reasoningContent: string | undefined;
  private readonly reasoningDetails: ReasoningDetail[] = [];
  private finishReason: FinishReason | null = null;
  private usage: Usage | undefined;
  private systemFingerprint: string | null | undefined;
  private serviceTier: string | null | undefined;
  private logprobs: ChoiceLogprobs | undefined;
  private audio: Partial<AssistantAudio> | undefined;
  private readonly annotations: UrlCitationAnnotation[] = [];
  /** Perplexity repeats the whole list on every chunk: the last one sent is kept. */
  private citations: string[] | undefined;
  private searchResults: SearchResult[] | undefined;
  private moderation: ResponseModeration | null | undefined;
  private readonly toolCalls: ToolCall[] = [];
  private chunkCount = 0;

  add(chunk: ChatChunk): void {
    this.chunkCount++;
    if (chunk.id) this.id = chunk.id;
    if (chunk.created) this.created = chunk.created;
    if (chunk.model) this.model = chunk.model;
    if (chunk.usage) this.usage = chunk.usage;
    if (chunk.system_fingerprint !== undefined) this.systemFingerprint = chunk.system_fingerprint;
    if (chunk.service_tier !== undefined) this.serviceTier = chunk.service_tier;
    if (chunk.citations) this.citations = chunk.citations;
    if (chunk.search_results) this.searchResults = chunk.search_results;
    if (chunk.moderation !== undefined) this.moderation = chunk.moderation;
    for (const choice of chunk.choices) {
      if (choice.index !== 0) continue;
      const delta = choice.delta;
      if (typeof delta.content === "string") {
        this.content += delta.content;
        this.sawContent = true;
      }
      if (typeof delta.refusal === "string") this.refusal = (this.refusal ?? "") + delta.refusal;
      if (typeof delta.reasoning_content === "string") this.reasoningContent = (this.reasoningContent ?? "") + delta.reasoning_content;
      for (const detail of delta.reasoning_details ?? []) this.addReasoningDetail(detail);
      for (const call of delta.tool_calls ?? []) this.addToolCall(call);
      if (choice.logprobs) this.addLogprobs(choice.logprobs);
      if (delta.audio) this.addAudio(delta.audio);
      if (delta.annotations) this.annotations.push(...delta.annotations);
      if (choice.finish_reason) this.finishReason = choice.finish_reason;
    }
  }

  /**
   * A call's first piece says its kind (`type`, or a `custom` field); later pieces append to its
   * name and to its arguments (a function call) or its input (a custom tool call).
   */
  private addToolCall(call: ToolCallDelta): void {
    let target = this.toolCalls[call.index];
    if (!target) {
      target =
        call.type === "custom" || (call.type === undefined && call.custom !== undefined)
          ? { id: "", type: "custom", custom: { name: "", input: "" } }
          : { id: "", type: "function", function: { name: "", arguments: "" } };
      this.toolCalls[call.index] = target;
    }
    if (call.id) target.id = call.id;
    if (target.type === "custom") {
      if (call.custom?.name) target.custom.name += call.custom.name;
      if (call.custom?.input) target.custom.input += call.custom.input;
    } else {
      if (call.function?.name) target.function.name += call.function.name;
      if (call.function?.arguments) target.function.arguments += call.function.arguments;
    }
  }

  /** A detail with the `index` of one already seen continues it (text appended, signature or data set). */
  private addReasoningDetail(detail: ReasoningDetail): void {
    const previous = detail.index === undefined ? undefined : this.reasoningDetails.find((known) => known.index === detail.index);
    if (previous === undefined) {
      this.reasoningDetails.push({ ...detail });
    } else if (previous.type === "reasoning.text" && detail.type === "reasoning.text") {
      previous.text += detail.text;
      if (detail.signature !== undefined) previous.signature = (previous.signature ?? "") + detail.signature;
    } else if (previous.type === "reasoning.encrypted" && detail.type === "reasoning.encrypted") {
      previous.data += detail.data;
    }
  }

  /** Each chunk carries the log probabilities of its own tokens: appended, as OpenAI's SDK does. */
  private addLogprobs(piece: ChoiceLogprobs): void {
    this.logprobs ??= { content: null };
    if (piece.content) this.logprobs.content = [...(this.logprobs.content ?? []), ...piece.content];
    if (piece.refusal) this.logprobs.refusal = [...(this.logprobs.refusal ?? []), ...piece.refusal];
    else if (piece.refusal === null) this.logprobs.refusal ??= null;
  }

  /** Spoken output streams as base64 and transcript pieces; `id` and `expires_at` arrive once. */
  private addAudio(piece: NonNullable<ChatChunk["choices"][number]["delta"]["audio"]>): void {
    const audio = (this.audio ??= {});
    if (piece.id !== undefined) audio.id = piece.id;
    if (piece.expires_at !== undefined) audio.expires_at = piece.expires_at;
    if (piece.data !== undefined) audio.data = (audio.data ?? "") + piece.data;
    if (piece.transcript !== undefined) audio.transcript = (audio.transcript ?? "") + piece.transcript;
  }

  /** True once a chunk carried a finish reason: all that follows is usage. */
  get finished(): boolean {
    return this.finishReason !== null;
  }

  /** True once any chunk arrived. */
  get hasContent(): boolean {
    return this.chunkCount > 0;
  }

  toResponse(): ChatResponse {
    const toolCalls = this.toolCalls.filter((call): call is ToolCall => call !== undefined);
    const response: ChatResponse = {
      id: this.id,
      object: "chat.completion",
      created: this.created,
      model: this.model,
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: this.sawContent || toolCalls.length === 0 ? this.content : null,
            ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
            ...(this.refusal !== undefined ? { refusal: this.refusal } : {}),
            ...(this.reasoningContent !== undefined ? { reasoning_content: this.reasoningContent } : {}),
            ...(this.reasoningDetails.length > 0 ? { reasoning_details: this.reasoningDetails } : {}),
            ...(this.audio ? { audio: { id: "", data: "", expires_at: 0, transcript: "", ...this.audio } } : {}),
            ...(this.annotations.length > 0 ? { annotations: this.annotations } : {}),
          },
          finish_reason: this.finishReason,
          logprobs: this.logprobs ?? null,
        },
      ],
    };
    if (this.usage) response.usage = this.usage;
    if (this.systemFingerprint !== undefined) response.system_fingerprint = this.systemFingerprint;
    if (this.serviceTier !== undefined) response.service_tier = this.serviceTier;
    if (this.citations) response.citations = this.citations;
    if (this.searchResults) response.search_results = this.searchResults;
    if (this.moderation !== undefined) response.moderation = this.moderation;
    return response;
  }
}
