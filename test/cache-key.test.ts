import { describe, expect, it } from "vitest";
import { CacheKeyMaker, type KeyScope } from "../src/cache/cache-key.js";
import { chatRequestSchema, type ChatRequest } from "../src/core/chat-request.js";

/*
 * The exact key hashes the scope and the whole request as framed bytes: requests or scopes that
 * differ must never share material (a collision would serve one request another's answer, or
 * one tenant another's), and what does not change the answer must not split entries.
 */

const keys = new CacheKeyMaker();
const TEAM_A: KeyScope = { scope: "key", key: "team-a", user: undefined };

function request(messages: unknown[], extra: Record<string, unknown> = {}): ChatRequest {
  return chatRequestSchema.parse({ model: "smart", messages, ...extra });
}
const user = (content: string) => ({ role: "user", content });
const exact = (body: ChatRequest, scope = TEAM_A, route = "smart") => keys.keysFor(body, route, scope, false).exact;

describe("cache keys", () => {
  it("tells apart requests whose text only moved between messages or fields", () => {
    const all = [
      exact(request([user("ab"), user("c")])),
      exact(request([user("a"), user("bc")])),
      exact(request([user("abc")])),
      exact(request([{ role: "user", content: "a", name: "b" }])),
      exact(request([user("ab")])),
      exact(request([{ role: "system", content: "ab" }])),
      exact(request([user("ab")], { temperature: 0 })),
      exact(request([user("ab")], { temperature: 1 })),
      exact(request([user("ab")]), TEAM_A, "smarter"),
    ];
    expect(new Set(all).size).toBe(all.length);
    // Text holding the framing's own tag bytes cannot pass for two messages.
    expect(exact(request([user("a\u0004\u0003\u0001\0\0\0\0user\u0001\0\0\0\0b")]))).not.toBe(exact(request([user("a"), user("b")])));
  });

  it("tells apart a lone surrogate from the replacement character UTF-8 would turn it into", () => {
    expect(exact(request([user("x\uD800y")]))).not.toBe(exact(request([user("x\uFFFDy")])));
    expect(exact(request([user("x\uDC00")]))).not.toBe(exact(request([user("x\uD800")])));
  });

  it("keeps scopes apart: keys, users, and a missing key from a key named null", () => {
    const body = request([user("hello")]);
    const scopes: KeyScope[] = [
      { scope: "key", key: "team-a", user: undefined },
      { scope: "key", key: "team-b", user: undefined },
      { scope: "key", key: undefined, user: undefined },
      { scope: "key", key: "null", user: undefined },
      { scope: "user", key: "team-a", user: "u1" },
      { scope: "user", key: "team-a", user: "u2" },
      { scope: "user", key: "team-au", user: "1" },
      { scope: "user", key: "team-a", user: undefined },
      { scope: "global", key: "team-a", user: "u1" },
    ];
    const all = scopes.map((scope) => exact(body, scope));
    expect(new Set(all).size).toBe(all.length);
    // The global scope ignores who asked.
    expect(exact(body, { scope: "global", key: "team-b", user: undefined })).toBe(exact(body, { scope: "global", key: "team-a", user: "u1" }));
  });

  it("gives a message with any other field (a cache breakpoint, tool calls) a key of its own", () => {
    const plain = exact(request([{ role: "user", content: "hi" }]));
    const marked = exact(request([{ role: "user", content: [{ type: "text", text: "hi" }] }]));
    expect(marked).not.toBe(plain);
  });

  it("gives the same key whatever the key order, and to a streamed and a plain call", () => {
    const a = request([{ role: "user", content: "hi", name: "ann" }], { temperature: 0.5, max_tokens: 9 });
    const b = request([{ name: "ann", content: "hi", role: "user" }], { max_tokens: 9, temperature: 0.5, stream: true, user: "someone" });
    expect(exact(a)).toBe(exact(b));
  });

  it("keys a request larger than the scratch buffer, and the next ones as before", () => {
    const small = request([user("hello")]);
    const before = exact(small);
    const huge = request([user("é".repeat(700_000)), user("x".repeat(100))]);
    const hugeKey = exact(huge);
    expect(hugeKey).toMatch(/^[\w-]{43}$/);
    expect(exact(huge)).toBe(hugeKey);
    expect(exact(small)).toBe(before);
    expect(exact(request([user("é".repeat(700_000)), user("x".repeat(101))]))).not.toBe(hugeKey);
  });

  it("sets the semantic partition apart from the exact key, and only when asked", () => {
    const body = request([{ role: "system", content: "terse" }, user("hi")]);
    const { exact: key, partition } = keys.keysFor(body, "smart", TEAM_A, true);
    expect(partition).toMatch(/^[\w-]{43}$/);
    expect(partition).not.toBe(key);
    expect(keys.keysFor(body, "smart", TEAM_A, false).partition).toBeUndefined();
    // Wording of user turns does not split a partition; the system prompt does.
    expect(keys.keysFor(request([{ role: "system", content: "terse" }, user("hello")]), "smart", TEAM_A, true).partition).toBe(partition);
    expect(keys.keysFor(request([{ role: "system", content: "verbose" }, user("hi")]), "smart", TEAM_A, true).partition).not.toBe(partition);
  });
});
