/**
 * Provider SDKs are optional peer dependencies. A static `import ... from "openai"` fails
 * while the module graph links, with a raw ERR_MODULE_NOT_FOUND nobody can catch. Loading the
 * SDK here, when an adapter is built, turns a missing one into a `ConfigError` that says what
 * to install, and keeps `import("modelgate/openai")` from paying for the SDK until it is used.
 *
 * It loads synchronously (adapter factories are synchronous) through `require`, so ESM callers
 * get the SDK's CommonJS build. The error mappers therefore match SDK errors by class name as
 * well as `instanceof` (see sdk-error.ts): a `client` built from the ESM build still maps.
 */
import { createRequire } from "node:module";
import { ConfigError } from "../../core/errors.js";

/**
 * @param packageName the SDK, e.g. `openai` or `@anthropic-ai/sdk`
 * @param entry the modelgate entry that needs it, for the message, e.g. `modelgate/openai`
 */
export function loadPeer<T>(packageName: string, entry: string): T {
  const load = createRequire(import.meta.url);
  try {
    return load(packageName) as T;
  } catch (error) {
    if (isMissing(error, packageName)) {
      throw new ConfigError([
        {
          path: "providers",
          message: `${entry} needs the '${packageName}' package, which is not installed: npm install ${packageName}`,
        },
      ]);
    }
    throw error;
  }
}

/** Only the package itself missing; a broken install (a file missing inside it) stays as is. */
function isMissing(error: unknown, packageName: string): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (code !== "MODULE_NOT_FOUND" && code !== "ERR_MODULE_NOT_FOUND") return false;
  return error.message.includes(`'${packageName}'`);
}
