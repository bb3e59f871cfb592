
/*
 * The fast path of reading an OpenAI answer: a hand-written check of the shape OpenAI (and most
 * compatible servers) send on a plain answer, returning exactly what the lenient zod schemas in
 * from-openai-response.ts would, without them. Measured on the real SDK path, the zod parse of
 * one completion cost ~100 µs between network waits on a 2 GHz core (most of the adapter's
 * overhead over the bare SDK); this reads the same payload in a few.
 *
 * Whatever this check does not know returns `undefined`, and the zod schemas read the payload
 * as before: a key it has no rule for (a vendor's extension, a field added to the schemas
 * later), a value of another type than the common one (a count that is not a count, a number
 * where a string goes), the rare fields (logprobs, audio, citations, reasoning details, content
 * as an array). So an answer it accepts maps to the same response, and any other answer keeps
 * every quirk, `.catch` and error message of the schemas.
 */

/*
 * What the schemas return for the shapes read here. Declared apart (not inferred from the
 * schemas, which would import them back): from-openai-response.ts assigns a reading to the
 * schema's type, so the compiler checks the two agree.
 */
type Text = string | null | undefined;
interface WireUsage {
  prompt_tokens?: number | undefined;
  completion_tokens?: number | undefined;
  total_tokens?: number | undefined;
  prompt_tokens_details?: { cached_tokens?: number | undefined; cache_write_tokens?: number | undefined; audio_tokens?: number | undefined } | null | undefined;
  completion_tokens_details?:
    | { reasoning_tokens?: number | undefined; audio_tokens?: number | undefined; accepted_prediction_tokens?: number | undefined; rejected_prediction_tokens?: number | undefined }
    | null
    | undefined;
  prompt_cache_hit_tokens?: number | undefined;
}
interface WireToolCall {
  id?: Text;
  function: { name: string; arguments: string };
}
interface WireMessage {
  content?: Text;
  refusal?: Text;
  tool_calls?: WireToolCall[] | null | undefined;
  reasoning_content?: Text;
  reasoning?: Text;
  // Required keys in the schema's output type (they go through a transform).
  reasoning_details: undefined;
  audio?: undefined;
  annotations: [] | undefined;
}
export interface WireCompletion {
  id: string;
  created: number;
  model?: string | undefined;
  choices: { index: number; message: WireMessage; finish_reason?: Text; logprobs?: undefined }[];
  usage?: WireUsage | null | undefined;
  system_fingerprint?: Text;
  service_tier?: Text;
}
interface WireToolCallDelta {
  index?: number | undefined;
  id?: Text;
  function?: { name?: Text; arguments?: Text } | null | undefined;
}
interface WireDelta extends Omit<WireMessage, "tool_calls"> {
  role?: Text;
  tool_calls?: WireToolCallDelta[] | null | undefined;
}
export interface WireChunk {
  id: string;
  created: number;
  model?: string | undefined;
  choices?: { index: number; delta?: WireDelta | null | undefined; finish_reason?: Text; logprobs?: undefined }[] | null | undefined;
  usage?: WireUsage | null | undefined;
  system_fingerprint?: Text;
  service_tier?: Text;
}

/** Keys the schemas ignore (strip) at the top level; anything else not read is unknown. */
const IGNORED_TOP_LEVEL = "object";

/** A completion of the common shape, read as `completionSchema` would; `undefined` when it is not one. */
export function readCommonCompletion(payload: unknown): WireCompletion | undefined {
  if (!isObject(payload)) return undefined;
  let id: string | undefined;
  let created: number | undefined;
  let model: string | undefined;
  let choices: WireCompletion["choices"] | undefined;
  let usage: WireCompletion["usage"];
  let systemFingerprint: string | null | undefined;
  let serviceTier: string | null | undefined;
  for (const key in payload) {
    const value = payload[key];
    switch (key) {
      case "id":
        if (typeof value !== "string") return undefined;
        id = value;
        break;
      case "created":
        if (!isFiniteNumber(value)) return undefined;
        created = value;
        break;
      case "model":
        if (typeof value !== "string") {
          if (value !== undefined) return undefined;
        } else model = value;
        break;
      case "choices":
        choices = readChoices(value);
        if (choices === undefined) return undefined;
        break;
      case "usage": {
        const read = readUsage(value);
        if (read === FAILED) return undefined;
        usage = read;
        break;
      }
      case "system_fingerprint":
        if (!isNullishString(value)) return undefined;
        systemFingerprint = value;
        break;
      case "service_tier":
        if (!isNullishString(value)) return undefined;
        serviceTier = value;
        break;
      case IGNORED_TOP_LEVEL:
        break;
      default:
        return undefined;
    }
  }
  if (id === undefined || created === undefined || choices === undefined) return undefined;
  return {
    id,
    created,
    model,
    choices,
    usage,
    system_fingerprint: systemFingerprint,
    service_tier: serviceTier,
  };
}

/** A stream chunk of the common shape, read as `chunkSchema` would; `undefined` when it is not one. */
export function readCommonChunk(payload: unknown): WireChunk | undefined {
  if (!isObject(payload)) return undefined;
  let id: string | undefined;
  let created: number | undefined;
  let model: string | undefined;
  let choices: WireChunk["choices"];
  let usage: WireChunk["usage"];
  let systemFingerprint: string | null | undefined;
  let serviceTier: string | null | undefined;
  for (const key in payload) {
    const value = payload[key];
    switch (key) {
      case "id":
        if (typeof value !== "string") return undefined;
        id = value;
        break;
      case "created":
        if (!isFiniteNumber(value)) return undefined;
        created = value;
        break;
      case "model":
        if (typeof value !== "string") {
          if (value !== undefined) return undefined;
        } else model = value;
        break;
      case "choices": {
        const read = readChunkChoices(value);
        if (read === FAILED) return undefined;
        choices = read;
        break;
      }
      case "usage": {
        const read = readUsage(value);
        if (read === FAILED) return undefined;
        usage = read;
        break;
      }
      case "system_fingerprint":
        if (!isNullishString(value)) return undefined;
        systemFingerprint = value;
        break;
      case "service_tier":
        if (!isNullishString(value)) return undefined;
        serviceTier = value;
        break;
      // OpenAI pads stream chunks with random `obfuscation` text; the schema strips it.
      case "obfuscation":
      case IGNORED_TOP_LEVEL:
        break;
      default:
        return undefined;
    }
  }
  if (id === undefined || created === undefined) return undefined;
  return {
    id,
    created,
    model,
    choices,
    usage,
    system_fingerprint: systemFingerprint,
    service_tier: serviceTier,
  };
}

/** A sentinel for "not the common shape" where `undefined` is a valid reading. */
const FAILED = Symbol("not the common shape");

type Choice = WireCompletion["choices"][number];
type Message = Choice["message"];
type ToolCall = NonNullable<Message["tool_calls"]>[number];
type ChunkChoice = NonNullable<WireChunk["choices"]>[number];
type Delta = NonNullable<ChunkChoice["delta"]>;
type ToolCallDelta = NonNullable<Delta["tool_calls"]>[number];

function readChoices(value: unknown): Choice[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const choices: Choice[] = new Array<Choice>(value.length);
  for (let position = 0; position < value.length; position++) {
    const source: unknown = value[position];
    if (!isObject(source)) return undefined;
    let index = 0;
    let message: Message | undefined;
    let finishReason: string | null | undefined;
    for (const key in source) {
      const field = source[key];
      switch (key) {
        case "index":
          if (!isCount(field) || !Number.isSafeInteger(field)) return undefined;
          index = field;
          break;
        case "message":
          message = readMessage(field);
          if (message === undefined) return undefined;
          break;
        case "finish_reason":
          if (!isNullishString(field)) return undefined;
          finishReason = field;
          break;
        case "logprobs":
          if (field != null) return undefined;
          break;
        default:
          return undefined;
      }
    }
    if (message === undefined) return undefined;
    choices[position] = { index, message, finish_reason: finishReason, logprobs: undefined };
  }
  return choices;
}

function readMessage(value: unknown): Message | undefined {
  if (!isObject(value)) return undefined;
  const message: Message = {
    content: undefined,
    refusal: undefined,
    tool_calls: undefined,
    reasoning_content: undefined,
    reasoning: undefined,
    reasoning_details: undefined,
    audio: undefined,
    annotations: undefined,
  };
  for (const key in value) {
    const field = value[key];
    switch (key) {
      // The schema does not read a message's role.
      case "role":
        break;
      case "tool_calls":
        if (field == null) message.tool_calls = field;
        else {
          const calls = readToolCalls(field);
          if (calls === undefined) return undefined;
          message.tool_calls = calls;
        }
        break;
      default:
        if (!readAnswerField(key, field, message)) return undefined;
    }
  }
  return message;
}

/** The fields a completion's message and a chunk's delta have alike. */
type AnswerFields = Pick<WireMessage, "content" | "refusal" | "reasoning_content" | "reasoning" | "annotations">;

/**
 * Reads one field a message and a delta share into `into`; false when the key is not one of
 * them or its value is not the common shape (the schema then reads the whole payload).
 */
function readAnswerField(key: string, field: unknown, into: AnswerFields): boolean {
  switch (key) {
    case "content":
    case "refusal":
    case "reasoning_content":
    case "reasoning":
      if (!isNullishString(field)) return false;
      into[key] = field;
      return true;
    // Only "none": citations are read by the schema, item by item.
    case "annotations":
      if (Array.isArray(field) && field.length === 0) into.annotations = [];
      else if (field != null) return false;
      return true;
    case "audio":
    case "reasoning_details":
      return field == null;
    default:
      return false;
  }
}

function readToolCalls(value: unknown): ToolCall[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const calls: ToolCall[] = new Array<ToolCall>(value.length);
  for (let position = 0; position < value.length; position++) {
    const source: unknown = value[position];
    if (!isObject(source)) return undefined;
    let id: string | null | undefined;
    let name: string | undefined;
    let args: string | undefined;
    for (const key in source) {
      const field = source[key];
      switch (key) {
        case "id":
          if (!isNullishString(field)) return undefined;
          id = field;
          break;
        case "type":
          break;
        case "function":
          if (!isObject(field)) return undefined;
          for (const part in field) {
            const member = field[part];
            if (part === "name" && typeof member === "string") name = member;
            else if (part === "arguments" && typeof member === "string") args = member;
            else return undefined;
          }
          break;
        default:
          return undefined;
      }
    }
    if (name === undefined || args === undefined) return undefined;
    calls[position] = { id, function: { name, arguments: args } };
  }
  return calls;
}

function readChunkChoices(value: unknown): ChunkChoice[] | null | undefined | typeof FAILED {
  if (value == null) return value;
  if (!Array.isArray(value)) return FAILED;
  const choices: ChunkChoice[] = new Array<ChunkChoice>(value.length);
  for (let position = 0; position < value.length; position++) {
    const source: unknown = value[position];
    if (!isObject(source)) return FAILED;
    let index = 0;
    let delta: Delta | null | undefined;
    let finishReason: string | null | undefined;
    for (const key in source) {
      const field = source[key];
      switch (key) {
        case "index":
          if (!isCount(field) || !Number.isSafeInteger(field)) return FAILED;
          index = field;
          break;
        case "delta":
          if (field == null) delta = field;
          else {
            delta = readDelta(field);
            if (delta === undefined) return FAILED;
          }
          break;
        case "finish_reason":
          if (!isNullishString(field)) return FAILED;
          finishReason = field;
          break;
        case "logprobs":
          if (field != null) return FAILED;
          break;
        default:
          return FAILED;
      }
    }
    choices[position] = { index, delta, finish_reason: finishReason, logprobs: undefined };
  }
  return choices;
}

function readDelta(value: unknown): Delta | undefined {
  if (!isObject(value)) return undefined;
  const delta: Delta = {
    role: undefined,
    content: undefined,
    refusal: undefined,
    tool_calls: undefined,
    reasoning_content: undefined,
    reasoning: undefined,
    reasoning_details: undefined,
    audio: undefined,
    annotations: undefined,
  };
  for (const key in value) {
    const field = value[key];
    switch (key) {
      case "role":
        if (!isNullishString(field)) return undefined;
        delta.role = field;
        break;
      case "tool_calls":
        if (field == null) delta.tool_calls = field;
        else {
          const calls = readToolCallDeltas(field);
          if (calls === undefined) return undefined;
          delta.tool_calls = calls;
        }
        break;
      default:
        if (!readAnswerField(key, field, delta)) return undefined;
    }
  }
  return delta;
}

function readToolCallDeltas(value: unknown): ToolCallDelta[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const calls: ToolCallDelta[] = new Array<ToolCallDelta>(value.length);
  for (let position = 0; position < value.length; position++) {
    const source: unknown = value[position];
    if (!isObject(source)) return undefined;
    let index: number | undefined;
    let id: string | null | undefined;
    let fn: { name: string | null | undefined; arguments: string | null | undefined } | null | undefined;
    for (const key in source) {
      const field = source[key];
      switch (key) {
        case "index":
          if (field === undefined) break;
          if (!isCount(field) || !Number.isSafeInteger(field)) return undefined;
          index = field;
          break;
        case "id":
          if (!isNullishString(field)) return undefined;
          id = field;
          break;
        case "type":
          break;
        case "function":
          if (field == null) {
            fn = field;
            break;
          }
          if (!isObject(field)) return undefined;
          fn = { name: undefined, arguments: undefined };
          for (const part in field) {
            const member = field[part];
            if (!isNullishString(member)) return undefined;
            if (part === "name") fn.name = member;
            else if (part === "arguments") fn.arguments = member;
            else return undefined;
          }
          break;
        default:
          return undefined;
      }
    }
    calls[position] = { index, id, function: fn };
  }
  return calls;
}

type Usage = NonNullable<WireCompletion["usage"]>;
type PromptDetails = NonNullable<Usage["prompt_tokens_details"]>;
type CompletionDetails = NonNullable<Usage["completion_tokens_details"]>;

/** Usage whose every count is a count; `FAILED` otherwise (the schema then decides what it reads). */
function readUsage(value: unknown): Usage | null | undefined | typeof FAILED {
  if (value == null) return value;
  if (!isObject(value)) return FAILED;
  const usage: Usage = {
    prompt_tokens: undefined,
    completion_tokens: undefined,
    total_tokens: undefined,
    prompt_tokens_details: undefined,
    completion_tokens_details: undefined,
    prompt_cache_hit_tokens: undefined,
  };
  for (const key in value) {
    const field = value[key];
    switch (key) {
      case "prompt_tokens":
      case "completion_tokens":
      case "total_tokens":
      case "prompt_cache_hit_tokens":
        if (field === undefined) break;
        if (!isCount(field)) return FAILED;
        usage[key] = field;
        break;
      case "prompt_tokens_details": {
        const details = readCounts<PromptDetails>(field, PROMPT_DETAILS);
        if (details === FAILED) return FAILED;
        usage.prompt_tokens_details = details;
        break;
      }
      case "completion_tokens_details": {
        const details = readCounts<CompletionDetails>(field, COMPLETION_DETAILS);
        if (details === FAILED) return FAILED;
        usage.completion_tokens_details = details;
        break;
      }
      default:
        return FAILED;
    }
  }
  return usage;
}

const PROMPT_DETAILS: ReadonlySet<string> = new Set(["cached_tokens", "cache_write_tokens", "audio_tokens"]);
const COMPLETION_DETAILS: ReadonlySet<string> = new Set([
  "reasoning_tokens",
  "audio_tokens",
  "accepted_prediction_tokens",
  "rejected_prediction_tokens",
]);

function readCounts<T>(value: unknown, known: ReadonlySet<string>): T | null | undefined | typeof FAILED {
  if (value == null) return value;
  if (!isObject(value)) return FAILED;
  const counts: Record<string, number | undefined> = {};
  for (const name of known) counts[name] = undefined;
  for (const key in value) {
    const field = value[key];
    if (!known.has(key)) return FAILED;
    if (field === undefined) continue;
    if (!isCount(field)) return FAILED;
    counts[key] = field;
  }
  return counts as T;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

/** What the schema's `count` accepts: a finite number, zero or more. */
function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}

function isNullishString(value: unknown): value is string | null | undefined {
  return value == null || typeof value === "string";
}
