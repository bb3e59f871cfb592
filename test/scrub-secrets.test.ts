import { describe, expect, it } from "vitest";
import {
  MAX_MESSAGE_LENGTH,
  REDACTED,
  credentialHeaderValues,
  mentionsSecret,
  safeCause,
  scrubSecrets,
} from "../src/core/scrub-secrets.js";

describe("scrubSecrets", () => {
  it("masks every occurrence of each configured secret, the longest first", () => {
    expect(scrubSecrets("key hunter2-key, again hunter2-key", ["hunter2-key"])).toBe(`key ${REDACTED}, again ${REDACTED}`);
    // One secret inside another: the longer goes whole, not as a masked prefix plus a tail.
    expect(scrubSecrets("Bearer-ish abcd1234wxyz", ["abcd", "abcd1234wxyz"])).toBe(`Bearer-ish ${REDACTED}`);
  });

  it("ignores empty, missing and very short configured values", () => {
    expect(scrubSecrets("connection on port 443", ["", undefined, null, "on"])).toBe("connection on port 443");
  });

  it("masks credential shapes nobody configured", () => {
    expect(scrubSecrets("Authorization: Bearer abc.def-123 failed")).toBe(`Authorization: ${REDACTED} failed`);
    expect(scrubSecrets("Basic dXNlcjpwYXNz rejected")).toBe(`${REDACTED} rejected`);
    expect(scrubSecrets("Incorrect API key provided: sk-proj-****abcd")).toBe(`Incorrect API key provided: ${REDACTED}`);
    expect(scrubSecrets("invalid x-api-key sk-ant-api03-abcdefgh")).not.toContain("abcdefgh");
    expect(scrubSecrets('{"x-api-key":"not-key-shaped-value"}')).toBe(`{"x-api-key":"${REDACTED}"}`);
    expect(scrubSecrets("x-goog-api-key: AIzaSyA1234567890abcdefghijkl")).not.toContain("AIzaSy");
    expect(scrubSecrets("GET /v1beta/models/gemini:generateContent?key=plainvalue&alt=sse")).toBe(
      `GET /v1beta/models/gemini:generateContent?key=${REDACTED}&alt=sse`,
    );
    expect(scrubSecrets("api_key=hunter2hunter2 rest")).toBe(`api_key=${REDACTED} rest`);
    expect(scrubSecrets("Authorization: Token abcdefghijkl")).toBe(`Authorization: ${REDACTED}`);
    expect(scrubSecrets("sent Token 9f8e7d6c5b4a")).toBe(`sent ${REDACTED}`);
  });

  it("leaves ordinary provider wording alone", () => {
    const messages = [
      "The input token count (1048577) exceeds the maximum number of tokens allowed (1048576).",
      "prompt is too long: 210000 tokens > 200000 maximum",
      "max_tokens: must be at most 8192",
      "Unexpected token '<', \"<html>\" is not valid JSON",
      "Error fetching from https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent",
      "Could not reach anthropic: task-12345678 desk-abcdefgh",
    ];
    for (const message of messages) expect(scrubSecrets(message, [], Infinity)).toBe(message);
  });

  it("cuts to 300 characters by default, to maxLength when given, never with Infinity", () => {
    const long = "a".repeat(5000);
    expect(MAX_MESSAGE_LENGTH).toBe(300);
    expect(scrubSecrets(long)).toBe(`${"a".repeat(300)}…`);
    expect(scrubSecrets(long, [], 20)).toBe(`${"a".repeat(20)}…`);
    expect(scrubSecrets(long, [], Infinity)).toBe(long);
    expect(scrubSecrets("short", [], 300)).toBe("short");
  });

  it("masks before it cuts, so no key prefix survives at the cut", () => {
    const secret = "s3cr3t-value-0123456789";
    const text = `${"x".repeat(289)} ${secret}`;
    const result = scrubSecrets(text, [secret]);
    expect(result).not.toContain("s3cr3t");
    expect(result).toBe(`${"x".repeat(289)} ${REDACTED}`);
    expect(scrubSecrets(`${"y".repeat(295)} sk-abcdefghijklmnop`)).not.toMatch(/sk-a/);
  });

  it("bounds the work on huge text and leaves no fragment of a secret cut at the boundary", () => {
    const secret = "boundary-secret-ZZZZ";
    // The secret straddles the 100,000-character scan bound.
    const text = `${"word ".repeat(19_998)}abcd${secret}${" tail".repeat(1000)}`;
    const result = scrubSecrets(text, [secret], Infinity);
    expect(result.length).toBeLessThanOrEqual(100_001);
    expect(result.endsWith("…")).toBe(true);
    expect(result).not.toContain("boundary");
    expect(result).not.toContain("ZZZZ");
  });
});

describe("mentionsSecret and safeCause", () => {
  it("find a secret in a string, an error's message, its fields and its cause chain", () => {
    const secret = "tok-SECRET-123";
    expect(mentionsSecret(`echo ${secret}`, [secret])).toBe(true);
    expect(mentionsSecret(new Error(`echo ${secret}`), [secret])).toBe(true);
    const withBody = Object.assign(new Error("403"), { body: { error: { message: `bad ${secret}` } } });
    expect(mentionsSecret(withBody, [secret])).toBe(true);
    const wrapped = new Error("outer", { cause: new Error("middle", { cause: new Error(`inner ${secret}`) }) });
    expect(mentionsSecret(wrapped, [secret])).toBe(true);
    // Past util.inspect's default cut of long strings.
    expect(mentionsSecret({ body: `${"x".repeat(20_000)}${secret}` }, [secret])).toBe(true);
    expect(mentionsSecret(new Error("nothing here"), [secret])).toBe(false);
    expect(mentionsSecret(new Error("anything"), [])).toBe(false);
    expect(mentionsSecret(undefined, [secret])).toBe(false);
  });

  it("safeCause keeps a clean cause and drops one that holds a secret", () => {
    const clean = new Error("ECONNRESET");
    expect(safeCause(clean, ["key-0123456789"])).toBe(clean);
    expect(safeCause(new Error("echo key-0123456789"), ["key-0123456789"])).toBeUndefined();
    expect(safeCause(undefined, ["key-0123456789"])).toBeUndefined();
  });
});

describe("credentialHeaderValues", () => {
  it("picks the values of credential-like headers, with and without an auth scheme", () => {
    const values = credentialHeaderValues({
      "x-team": "checkout",
      "anthropic-beta": "tools-2024",
      Authorization: "Bearer abc-123-def",
      "x-proxy-token": "tok-SECRET-123",
      "X-Api-Key": "key-0123",
      "x-client-secret": "shh-4567",
      cookie: "session=abcdef",
      "proxy-authorization": "Basic dXNlcjpwYXNz",
    });
    expect(values).toEqual([
      "Bearer abc-123-def",
      "abc-123-def",
      "tok-SECRET-123",
      "key-0123",
      "shh-4567",
      "session=abcdef",
      "Basic dXNlcjpwYXNz",
      "dXNlcjpwYXNz",
    ]);
    expect(credentialHeaderValues(undefined)).toEqual([]);
  });
});
