import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway, type GatewayEventMap } from "../src/index.js";
import { openai } from "../src/openai.js";
import { startFakeOpenAI, type FakeOpenAI } from "./fakes/openai-server.js";

/** A model the catalog marks deprecated warns on its first use per gateway, over the real SDK. */
let server: FakeOpenAI;
const messages = [{ role: "user" as const, content: "Hello" }];

beforeAll(async () => {
  server = await startFakeOpenAI();
});
afterAll(async () => {
  await server.close();
});

function gateway() {
  return createGateway({
    providers: { openai: openai({ baseURL: server.url, apiKey: "sk-test-deprecation" }) },
    models: { old: "openai/o3-mini", current: "openai/o4-mini" },
  });
}

describe("deprecated models", () => {
  it("emit one model_deprecated warning per model per gateway, and the call is served", async () => {
    const first = gateway();
    const warnings: GatewayEventMap["warning"][] = [];
    first.on("warning", (event) => warnings.push(event));
    for (let call = 0; call < 3; call++) {
      const res = await first.chat({ model: "old", messages });
      expect(res.gateway.deployment).toBe("openai/o3-mini");
    }
    await first.chat({ model: "openai/o3-mini-2025-01-31", messages });
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatchObject({
      code: "model_deprecated",
      provider: "openai",
      deployment: "openai/o3-mini",
      providerModel: "o3-mini",
      model: "old",
      deprecated: { replacement: "o4-mini" },
    });
    expect(warnings[0]?.message).toBe("model 'o3-mini' (openai) is deprecated; use 'o4-mini' instead");
    // A snapshot is its own provider-side model: it warns once too.
    expect(warnings[1]).toMatchObject({ providerModel: "o3-mini-2025-01-31", model: "openai/o3-mini-2025-01-31" });
    await first.close();

    // Another gateway warns again: the memory is the gateway's, not the process's.
    const second = gateway();
    const again: GatewayEventMap["warning"][] = [];
    second.on("warning", (event) => again.push(event));
    await second.chat({ model: "old", messages });
    expect(again).toHaveLength(1);
    await second.close();
  });

  it("say when a retired model was retired, and current models do not warn", async () => {
    const retired = createGateway({ providers: { google: openai({ baseURL: server.url, apiKey: "sk-test-deprecation" }) } });
    const warnings: GatewayEventMap["warning"][] = [];
    retired.on("warning", (event) => warnings.push(event));
    await retired.chat({ model: "google/gemini-2.5-flash", messages });
    expect(warnings).toHaveLength(0);
    await retired.chat({ model: "google/gemini-2.0-flash", messages });
    expect(warnings.map((warning) => warning.message)).toEqual([
      "model 'gemini-2.0-flash' (google) was retired on 2026-06-01; use 'gemini-2.5-flash' instead",
    ]);
    await retired.close();
  });
});
