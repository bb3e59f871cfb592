import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { InvalidRequestError, createGateway } from "../src/index.js";
import { openai } from "../src/openai.js";
import { startFakeOpenAI, type FakeOpenAI } from "./fakes/openai-server.js";

/** `model: "gpt-4o"` with no declared route, over the real `openai` SDK and fake servers. */
let first: FakeOpenAI;
let second: FakeOpenAI;
const KEY = "sk-test-bare-names";
const messages = [{ role: "user" as const, content: "Hello" }];

beforeAll(async () => {
  [first, second] = await Promise.all([startFakeOpenAI(), startFakeOpenAI()]);
});
afterAll(async () => {
  await Promise.all([first.close(), second.close()]);
});
beforeEach(() => {
  first.reset();
  second.reset();
});

describe("bare model names", () => {
  it("go to the one configured provider whose catalog lists them, priced from its row", async () => {
    const gateway = createGateway({
      providers: {
        openai: openai({ baseURL: first.url, apiKey: KEY }),
        // Named for its vendor: its catalog is Mistral's, so it does not claim gpt-4o.
        mistral: openai({ baseURL: second.url, apiKey: KEY }),
      },
    });
    first.enqueue({ reply: "from openai", usage: { promptTokens: 1_000, completionTokens: 100 } });
    const res = await gateway.chat({ model: "gpt-4o", messages });
    expect(res.choices[0]?.message.content).toBe("from openai");
    expect(res.gateway.deployment).toBe("openai/gpt-4o");
    expect(first.lastRequest?.body.model).toBe("gpt-4o");
    expect(res.gateway.costUsd).toBe(0.0035);

    second.enqueue({ reply: "from mistral", usage: { promptTokens: 1_000, completionTokens: 100 } });
    const large = await gateway.chat({ model: "mistral-large-latest", messages });
    expect(large.gateway.deployment).toBe("mistral/mistral-large-latest");
    expect(second.lastRequest?.body.model).toBe("mistral-large-latest");
    expect(large.gateway.costUsd).toBe(0.00065);
    await gateway.close();
  });

  it("take a vendor's own org/model name when no provider has the org's name", async () => {
    const gateway = createGateway({ providers: { groq: openai({ baseURL: first.url, apiKey: KEY }) } });
    const res = await gateway.chat({ model: "qwen/qwen3-32b", messages });
    expect(res.gateway.deployment).toBe("groq/qwen/qwen3-32b");
    expect(first.lastRequest?.body.model).toBe("qwen/qwen3-32b");
    await gateway.close();
  });

  it("known to two providers are refused, naming each provider/model, and nothing is sent", async () => {
    const gateway = createGateway({
      providers: {
        openai: openai({ baseURL: first.url, apiKey: KEY }),
        azure: openai({ baseURL: second.url, apiKey: KEY }),
      },
    });
    const error = await gateway.chat({ model: "gpt-4o", messages }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as InvalidRequestError).code).toBe("request_invalid");
    expect((error as Error).message).toContain("name one ('openai/gpt-4o' or 'azure/gpt-4o')");
    expect((error as Error).message).toContain("more than one configured provider");
    expect(first.requestCount + second.requestCount).toBe(0);
    // Naming the provider still works.
    const res = await gateway.chat({ model: "azure/gpt-4o", messages });
    expect(res.gateway.deployment).toBe("azure/gpt-4o");
    await gateway.close();
  });

  it("no provider knows are refused, listing the declared names and the provider/model form", async () => {
    const gateway = createGateway({
      providers: { openai: openai({ baseURL: first.url, apiKey: KEY }), local: openai({ baseURL: second.url, apiKey: KEY }) },
      models: { fast: "openai/gpt-4o-mini" },
    });
    // `local` is not a known vendor: it knows no catalog name, so it never takes a bare name.
    for (const model of ["llama3", "mistral-large-latest"]) {
      const error = await gateway.chat({ model, messages }).catch((caught: unknown) => caught);
      expect(error, model).toBeInstanceOf(InvalidRequestError);
      expect((error as Error).message).toContain(`'${model}' is not a declared model (have: fast)`);
      expect((error as Error).message).toContain("'provider/model' with a configured provider (have: openai, local)");
    }
    expect(first.requestCount + second.requestCount).toBe(0);
    await gateway.close();
  });

  it("a declared route of the same name wins over the catalog", async () => {
    const gateway = createGateway({
      providers: { openai: openai({ baseURL: first.url, apiKey: KEY }) },
      models: { "gpt-4o": "openai/gpt-4o-mini" },
    });
    const res = await gateway.chat({ model: "gpt-4o", messages });
    expect(res.gateway.deployment).toBe("openai/gpt-4o-mini");
    await gateway.close();
  });

  it("may be fallbacks and key models", async () => {
    const gateway = createGateway({
      providers: { openai: openai({ baseURL: first.url, apiKey: KEY }) },
      models: { smart: { deployments: ["openai/gpt-5.5"], fallbacks: ["gpt-4.1-mini"] } },
      keys: { team: { models: ["smart", "gpt-4.1-mini"] } },
      retry: { retries: 0 },
    });
    first.enqueue({ fail: { status: 500 } });
    const res = await gateway.chat({ model: "smart", messages }, { key: "team" });
    expect(res.gateway.deployment).toBe("openai/gpt-4.1-mini");
    await gateway.close();
    expect(() =>
      createGateway({
        providers: { openai: openai({ baseURL: first.url, apiKey: KEY }) },
        models: { smart: { deployments: ["openai/gpt-5.5"], fallbacks: ["no-such-model"] } },
      }),
    ).toThrow(/no-such-model/);
  });
});
