import type { GatewayConfig } from "../../index.js";

type Providers = GatewayConfig["providers"];

/**
 * The providers whose API keys are in the environment, for `modelgate serve` without a
 * config: callers then name models `provider/model` (e.g. `openai/gpt-4o-mini`).
 */
export async function providersFromEnvironment(env: NodeJS.ProcessEnv): Promise<{ providers: Providers; names: string[] }> {
  const providers: Providers = {};
  if (env.OPENAI_API_KEY) {
    const { openai } = await import("../../openai.js");
    providers.openai = openai({ apiKey: env.OPENAI_API_KEY });
  }
  if (env.ANTHROPIC_API_KEY) {
    const { anthropic } = await import("../../anthropic.js");
    providers.anthropic = anthropic({ apiKey: env.ANTHROPIC_API_KEY });
  }
  const googleKey = env.GEMINI_API_KEY ?? env.GOOGLE_API_KEY;
  if (googleKey) {
    const { google } = await import("../../google.js");
    providers.google = google({ apiKey: googleKey });
  }
  return { providers, names: Object.keys(providers) };
}
