import { describe, expect, it } from "vitest";
import { BudgetExceededError, ConfigError, InvalidRequestError, createGateway, type ChatBody } from "../src/index.js";
import { mockProvider } from "../src/testing.js";

const hello = [{ role: "user" as const, content: "hi" }];
const ask = (model: string): Omit<ChatBody, "stream"> => ({ model, messages: hello });
const PROTOTYPE_NAMES = ["constructor", "toString", "hasOwnProperty", "__proto__"];

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

describe("names that are Object.prototype members are not providers", () => {
  for (const name of PROTOTYPE_NAMES) {
    it(`a route to '${name}/x' is a ConfigError naming it`, () => {
      const build = () => createGateway({ providers: { p: mockProvider() }, models: { m: `${name}/x` } });
      expect(build).toThrow(ConfigError);
      expect(build).toThrow(new RegExp(`'${name}' is not a configured provider`));
    });

    it(`a call to '${name}/x' is an InvalidRequestError, nothing sent, no cooldown`, async () => {
      const p = mockProvider();
      const gateway = createGateway({ providers: { p }, models: { m: "p/x" } });
      const error = await rejection(gateway.chat(ask(`${name}/x`)));
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(p.calls).toBe(0);
      expect(gateway.health()[0]?.state).toBe("healthy");
    });

    it(`a deployment { provider: '${name}' } is a ConfigError`, () => {
      expect(() =>
        createGateway({ providers: { p: mockProvider() }, models: { m: { deployments: [{ provider: name, model: "x" }] } } }),
      ).toThrow(/is not a configured provider/);
    });
  }

  it("a provider that really is named 'constructor' is used", async () => {
    const named = mockProvider({ reply: "mine" });
    const gateway = createGateway({ providers: { constructor: named } as never, models: { m: "constructor/x" } });
    const res = await gateway.chat(ask("m"));
    expect(res.choices[0]?.message.content).toBe("mine");
  });

  for (const section of ["providers", "models", "keys", "prices"] as const) {
    it(`a '__proto__' entry under ${section} is refused, not dropped`, () => {
      // As JSON.parse makes it (an own property), the way a config read from a file has it.
      const entry = { providers: mockProvider(), models: "p/x", keys: {}, prices: { input: 1, output: 1 } }[section];
      const entries: Record<string, unknown> = section === "providers" ? { p: mockProvider() } : {};
      Object.defineProperty(entries, "__proto__", { value: entry, enumerable: true, configurable: true, writable: true });
      expect(Object.hasOwn(entries, "__proto__")).toBe(true);
      const config = { providers: { p: mockProvider() }, [section]: entries };
      expect(() => createGateway(config as never)).toThrow(new RegExp(`${section}\\.__proto__: '__proto__' cannot be a name`));
    });
  }

  it("a '__proto__' key under the body's metadata is refused, not dropped", async () => {
    const gateway = createGateway({ providers: { p: mockProvider() } });
    const body = JSON.parse(`{"model":"p/x","messages":[{"role":"user","content":"hi"}],"metadata":{"__proto__":"x"}}`) as ChatBody;
    await expect(gateway.chat(body)).rejects.toThrow(/metadata\.__proto__/);
  });
});

describe("JSON schemas must be JSON", () => {
  const circular = (): Record<string, unknown> => {
    const schema: Record<string, unknown> = { type: "object", properties: {} };
    (schema.properties as Record<string, unknown>).self = schema;
    return schema;
  };
  const deep = (levels: number): Record<string, unknown> => {
    let schema: Record<string, unknown> = { type: "string" };
    for (let i = 0; i < levels; i++) schema = { type: "object", properties: { a: schema } };
    return schema;
  };

  for (const [what, schema, fragment] of [
    ["circular", circular(), "is circular"],
    ["10,000 levels deep", deep(10_000), "nests deeper than"],
  ] as const) {
    it(`${what} tools[].function.parameters is an InvalidRequestError naming the path, nothing sent`, async () => {
      const p = mockProvider();
      const gateway = createGateway({ providers: { p }, cooldown: { failures: 1 } });
      const body: ChatBody = { ...ask("p/x"), tools: [{ type: "function", function: { name: "f", parameters: schema } }] };
      const error = await rejection(gateway.chat(body));
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect((error as InvalidRequestError).issues[0]?.path).toMatch(/^tools\[0\]\.function\.parameters\./);
      expect(error.message).toContain(fragment);
      expect(error.message.length).toBeLessThan(2_000);
      expect(p.calls).toBe(0);
      expect(gateway.health()).toEqual([]);
    });

    it(`${what} response_format.json_schema.schema is an InvalidRequestError naming the path`, async () => {
      const gateway = createGateway({ providers: { p: mockProvider() } });
      const body: ChatBody = { ...ask("p/x"), response_format: { type: "json_schema", json_schema: { name: "s", schema } } };
      const error = await rejection(gateway.chat({ ...body, stream: true }));
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect((error as InvalidRequestError).issues[0]?.path).toMatch(/^response_format\.json_schema\.schema\./);
    });
  }

  it("a BigInt or a function inside a schema is refused", async () => {
    const gateway = createGateway({ providers: { p: mockProvider() } });
    const body: ChatBody = { ...ask("p/x"), tools: [{ type: "function", function: { name: "f", parameters: { type: "object", default: 1n } } }] };
    await expect(gateway.chat(body)).rejects.toThrow(/tools\[0\]\.function\.parameters\.default: expected JSON, got a bigint/);
  });
});

describe("echoed values are capped", () => {
  it("a 10 MB model name gives a short message", async () => {
    const gateway = createGateway({ providers: { p: mockProvider() }, models: { m: "p/x" } });
    const error = await rejection(gateway.chat(ask("x".repeat(10 * 2 ** 20))));
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error.message.length).toBeLessThan(1_000);
    expect(error.message).toContain("(10485760 characters)");
  });

  it("a 10 MB provider name in the config, and a huge unknown field, give short messages", () => {
    const huge = "y".repeat(10 * 2 ** 20);
    const a = (() => {
      try {
        createGateway({ providers: { p: mockProvider() }, models: { m: `${huge}/x`, [huge]: "p/x" } });
      } catch (error) {
        return error as Error;
      }
    })();
    expect(a).toBeInstanceOf(ConfigError);
    expect(a!.message.length).toBeLessThan(2_000);
    const b = (() => {
      try {
        createGateway({ providers: { p: mockProvider() }, [huge]: 1 } as never);
      } catch (error) {
        return error as Error;
      }
    })();
    expect(b).toBeInstanceOf(ConfigError);
    expect(b!.message.length).toBeLessThan(2_000);
  });
});

describe("odd inputs", () => {
  it("a getter that throws inside the body is an InvalidRequestError", async () => {
    const gateway = createGateway({ providers: { p: mockProvider() } });
    const message = { role: "user", get content(): string {
      throw new Error("boom");
    } };
    const error = await rejection(gateway.chat({ model: "p/x", messages: [message as never] }));
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error.message).toMatch(/could not be read.*boom/);
  });

  it("a getter that throws inside the config is a ConfigError", () => {
    const config = { providers: { p: mockProvider() }, get models(): never {
      throw new Error("boom");
    } };
    expect(() => createGateway(config)).toThrow(ConfigError);
  });

  for (const [kind, value] of [
    ["RegExp", /x/],
    ["Date", new Date()],
    ["Map", new Map()],
  ] as const) {
    it(`a ${kind} as a config section is a ConfigError`, () => {
      for (const section of ["retry", "cooldown", "models", "cache"]) {
        expect(() => createGateway({ providers: { p: mockProvider() }, [section]: value } as never)).toThrow(
          new RegExp(`${section}: expected a plain object of settings, got a ${kind}`),
        );
      }
      expect(() => createGateway({ providers: { p: mockProvider() }, keys: { k: value } } as never)).toThrow(/keys\.k: expected a plain object/);
    });
  }

  it("BudgetExceededError names its scope once", () => {
    const error = new BudgetExceededError("key", 1, 1.5, "key 'k' (day)");
    expect(error.message).toBe("Budget exceeded for key 'k' (day): limit $1, spent $1.500000");
    expect(new BudgetExceededError("user", 1, 1, "u1 (day)").message).toMatch(/^Budget exceeded for user u1 \(day\)/);
  });
});
