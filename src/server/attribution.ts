import { HttpError, type IncomingCall } from "./call.js";

const MAX_TAGS = 32;
const MAX_TAG_CHARS = 128;
const MAX_USER_CHARS = 256;

/**
 * Who a call is for: `x-modelgate-user` (set by the calling service) wins over the body's
 * `user`; `x-modelgate-tags` is a comma-separated list. Bounded, so a header cannot blow up
 * spend reports or metrics.
 */
export function attribution(call: IncomingCall, body: Record<string, unknown>): { user?: string; tags?: string[] } {
  const out: { user?: string; tags?: string[] } = {};
  const user = call.header("x-modelgate-user") ?? (typeof body.user === "string" ? body.user : undefined);
  if (user !== undefined && user !== "") {
    if (user.length > MAX_USER_CHARS) throw new HttpError(400, "request_invalid", `user: expected at most ${MAX_USER_CHARS} characters`, "invalid_request_error", "user");
    out.user = user;
  }
  const rawTags = call.header("x-modelgate-tags");
  if (rawTags) {
    const tags = rawTags.split(",").map((tag) => tag.trim()).filter((tag) => tag !== "");
    if (tags.length > MAX_TAGS || tags.some((tag) => tag.length > MAX_TAG_CHARS)) {
      throw new HttpError(400, "request_invalid", `x-modelgate-tags: expected at most ${MAX_TAGS} tags of at most ${MAX_TAG_CHARS} characters`);
    }
    if (tags.length > 0) out.tags = tags;
  }
  return out;
}
