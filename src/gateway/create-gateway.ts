import { declaredDeployments } from "../core/route.js";
import type { ChatOptions } from "../core/call-context.js";
import { checkSettings } from "../config/check-settings.js";
import { DEFAULTS } from "../config/defaults.js";
import { buildPipeline } from "./build-pipeline.js";
import { CallRuntime } from "./call-runtime.js";
import { gatewayKeys } from "./gateway-keys.js";
import type { ChatBody, EmbeddingBody, Gateway, GatewayConfig } from "./gateway-types.js";
import { KeyAdmission } from "./key-admission.js";

export type { GatewayStats } from "./build-pipeline.js";
export type { GatewayKeys } from "./gateway-keys.js";
export type { ChatBody, EmbeddingBody, Gateway, GatewayConfig, GatewayEmbeddingResponse } from "./gateway-types.js";

/**
 * Builds a gateway from a config, validated at once: a bad config throws `ConfigError`
 * listing every bad path.
 *
 * @example
 * const gateway = createGateway({ providers: { openai: openai() }, models: { fast: "openai/gpt-4o-mini" } });
 * const res = await gateway.chat({ model: "fast", messages: [{ role: "user", content: "Hi" }] });
 */
export function createGateway(config: GatewayConfig): Gateway {
  const { settings, table } = checkSettings(config);
  const { controlPlane, keys: staticKeys } = settings;
  // Before the pipeline: the bounded wait for runtime keys counts from creation.
  const keys = new KeyAdmission(controlPlane, staticKeys, settings.controlPlaneTimeoutMs ?? DEFAULTS.controlPlaneTimeoutMs);
  const pipeline = buildPipeline(settings, table);
  const runtime = new CallRuntime(pipeline, keys, Object.keys(settings.providers));

  return {
    chat: ((body: ChatBody, options?: ChatOptions) => runtime.chat(body, options)) as Gateway["chat"],
    embed: (body: EmbeddingBody, options?: ChatOptions) => runtime.embed(body, options),
    health: () => pipeline.health.report(declaredDeployments(table)),
    spend: pipeline.spend,
    budgets: pipeline.budgets,
    alerts: pipeline.alerts,
    stats: () => pipeline.stats(),
    keys: gatewayKeys(controlPlane, staticKeys ?? {}, table, () => keys.waitForKeys()),
    on: (name, listener) => pipeline.events.on(name, listener),
    off: (name, listener) => pipeline.events.off(name, listener),
    close: () => runtime.close(),
  };
}
