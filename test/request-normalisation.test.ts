import { describe, expect, it } from "vitest";
import type { ChatMessage, ChatRequest } from "../src/core/chat-request.js";
import { InvalidRequestError, type Issue } from "../src/core/errors.js";
import { toAnthropicRequest } from "../src/providers/anthropic/to-anthropic-request.js";
import { toGoogleRequest } from "../src/providers/google/to-google-request.js";
import { parseBase64DataUrl } from "../src/providers/shared/data-url.js";
import { joinText, liftSystemMessages } from "../src/providers/shared/lift-system.js";
import { parseToolArguments } from "../src/providers/shared/parse-tool-arguments.js";

// The request normalisation Anthropic and Gemini share (providers/shared/), and that both
// translators use it the same way.

describe("parseToolArguments", () => {
  it("reads a JSON object, and a blank string as {}", () => {
    expect(parseToolArguments('{"city":"Paris","days":[1,2]}')).toEqual({ city: "Paris", days: [1, 2] });
    expect(parseToolArguments("")).toEqual({});
    expect(parseToolArguments("  \n")).toEqual({});
  });

  it("refuses whatever is not a JSON object", () => {
    for (const source of ["[1,2]", "42", "null", '"text"', "{not json", "true"]) {
      expect(parseToolArguments(source), source).toBeUndefined();
    }
  });
});

describe("parseBase64DataUrl", () => {
  it("splits a base64 data URL into media type and payload", () => {
    expect(parseBase64DataUrl("data:image/png;base64,iVBORw0KGgo=")).toEqual({ mediaType: "image/png", data: "iVBORw0KGgo=" });
  });

  it("reads past parameters before ;base64 (RFC 2397)", () => {
    expect(parseBase64DataUrl("data:image/png;name=x.png;base64,iVBORw0KGgo=")).toEqual({ mediaType: "image/png", data: "iVBORw0KGgo=" });
    expect(parseBase64DataUrl("data:image/webp;charset=binary;name=a;base64,UklGRg==")).toEqual({ mediaType: "image/webp", data: "UklGRg==" });
  });

  it("keeps a payload with newlines whole, and the media type's case as written", () => {
    expect(parseBase64DataUrl("data:IMAGE/JPEG;base64,/9j/\n4AAQ")).toEqual({ mediaType: "IMAGE/JPEG", data: "/9j/\n4AAQ" });
  });

  it("is undefined for what is not a base64 data URL", () => {
    for (const url of ["https://example.com/a.png", "data:image/png,rawbytes", "data:;base64,AAAA", "data:image/png;name=x;base64AAAA", "xdata:image/png;base64,AA"]) {
      expect(parseBase64DataUrl(url), url).toBeUndefined();
    }
  });
});

describe("liftSystemMessages", () => {
  const messages: ChatMessage[] = [
    { role: "system", content: "Be brief." },
    { role: "developer", content: [{ type: "text", text: "Answer in " }, { type: "text", text: "French." }] },
    { role: "user", content: "Hi" },
    { role: "system", content: "Late rule." },
    { role: "assistant", content: "Bonjour" },
  ];

  it("hoists every system and developer message, late ones too, in order, with their joined text", () => {
    const issues: Issue[] = [];
    const lifted = liftSystemMessages(messages, { late: "hoist" }, issues);
    expect(lifted.map(({ index, text }) => ({ index, text }))).toEqual([
      { index: 0, text: "Be brief." },
      { index: 1, text: "Answer in French." },
      { index: 3, text: "Late rule." },
    ]);
    expect(lifted[1]!.message).toBe(messages[1]);
    expect(issues).toEqual([]);
  });

  it("refuses a late one with the caller's message, on its role's path", () => {
    const issues: Issue[] = [];
    const lifted = liftSystemMessages(messages, { late: "refuse", message: "move it first" }, issues);
    expect(lifted.map((entry) => entry.index)).toEqual([0, 1]);
    expect(issues).toEqual([{ path: "messages[3].role", message: "move it first" }]);
  });

  it("keeps empty texts (the provider decides whether they count)", () => {
    const lifted = liftSystemMessages([{ role: "system", content: "" }, { role: "user", content: "x" }], { late: "hoist" }, []);
    expect(lifted.map((entry) => entry.text)).toEqual([""]);
    expect(joinText([])).toBe("");
  });
});

describe("both translators normalise alike", () => {
  const withImage = (url: string): ChatRequest => ({
    model: "m",
    messages: [{ role: "user", content: [{ type: "image_url", image_url: { url } }] }],
  });

  it("take a data URL with parameters before ;base64", () => {
    const url = "data:image/png;name=x.png;base64,iVBORw0KGgo=";
    const anthropic = toAnthropicRequest(withImage(url), "claude-sonnet-4-6").params.messages;
    expect(anthropic).toEqual([
      { role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } }] },
    ]);
    const google = toGoogleRequest(withImage(url), "google").contents;
    expect(google).toEqual([{ role: "user", parts: [{ inlineData: { mimeType: "image/png", data: "iVBORw0KGgo=" } }] }]);
  });

  it("refuse tool arguments that are not a JSON object, each naming the field", () => {
    const request: ChatRequest = {
      model: "m",
      messages: [
        { role: "user", content: "Weather?" },
        { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "weather", arguments: "[1]" } }] },
        { role: "tool", tool_call_id: "c1", content: "sunny" },
      ],
    };
    const path = "messages[1].tool_calls[0].function.arguments";
    for (const translate of [() => toAnthropicRequest(request, "claude-sonnet-4-6"), () => toGoogleRequest(request, "google")]) {
      let error: unknown;
      try {
        translate();
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect((error as InvalidRequestError).issues.map((issue) => issue.path)).toContain(path);
    }
  });

  it("differ on a late system message: Anthropic hoists it, Gemini refuses it", () => {
    const request: ChatRequest = {
      model: "m",
      messages: [
        { role: "system", content: "First." },
        { role: "user", content: "Hi" },
        { role: "developer", content: "Then." },
      ],
    };
    expect(toAnthropicRequest(request, "claude-sonnet-4-6").params.system).toBe("First.\n\nThen.");
    expect(() => toGoogleRequest(request, "google")).toThrow(/messages\[2\]\.role/);
  });
});
