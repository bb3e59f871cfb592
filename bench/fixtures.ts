/** Request bodies for the bench: ~2 KB of JSON, a different prompt per call (every call a cache miss). */

const SYSTEM =
  "You are a support assistant for an online shop. Answer briefly, cite the order number when there is one, " +
  "never invent a tracking code, and hand over to a human when the customer asks for one. ";

// Prose, not one repeated character, so string hashing and JSON escaping do representative work.
const FILLER =
  "My order arrived yesterday but the box was damaged and two of the three items inside were scratched. " +
  "I would like to know whether I can return only the damaged items or whether the whole order has to go back, " +
  "and how long the refund takes once the parcel is received at your warehouse. ";

/** A user prompt of about `bytes` characters that starts with `n`, so each call differs. */
export function prompt(n: number, bytes: number): string {
  let text = `Request ${n}. `;
  while (text.length < bytes) text += FILLER;
  return text.slice(0, bytes);
}

export interface BenchBody {
  model: string;
  messages: { role: "system" | "user"; content: string }[];
  temperature: number;
  max_tokens: number;
  user?: string;
}

/** A request body whose JSON is about 2 KB (system + user message), unique per `n`. */
export function body2k(model: string, n: number): BenchBody {
  return {
    model,
    messages: [
      { role: "system", content: SYSTEM },
      { role: "user", content: prompt(n, 2048 - SYSTEM.length - 140) },
    ],
    temperature: 0,
    max_tokens: 64,
  };
}

/** A short body for the network paths (the SDK and the proxy), unique per `n`. */
export function smallBody(model: string, n: number): BenchBody {
  return {
    model,
    messages: [{ role: "user", content: `Say hello to request ${n} in five words.` }],
    temperature: 0,
    max_tokens: 16,
  };
}

/** A fixed, short reply: the same answer size on every path. */
export const REPLY = "Sure: you can return only the damaged items; the refund takes 3-5 days.";
