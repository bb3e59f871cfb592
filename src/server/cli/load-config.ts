import { readFile } from "node:fs/promises";
import { extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";

/**
 * Reads a config file's default export. `.json` is parsed; `.js`/`.mjs`/`.cjs` are imported;
 * `.ts`/`.mts`/`.cts` are imported natively when the runtime can (tsx, Node's type stripping),
 * else through jiti, which imports packages (`modelgate/openai`) natively, so the config's
 * adapters and error classes are the very ones the CLI runs (tsx's `tsImport` loads a second
 * copy; measured in the README).
 */
export async function loadConfigFile(file: string): Promise<unknown> {
  const path = resolve(file);
  const extension = extname(path);
  if (extension === ".json") return JSON.parse(await readFile(path, "utf8")) as unknown;
  const url = pathToFileURL(path).href;
  if (extension === ".js" || extension === ".mjs" || extension === ".cjs") return defaultOf(await import(url));
  if (extension === ".ts" || extension === ".mts" || extension === ".cts") {
    try {
      return defaultOf(await import(url));
    } catch (error) {
      if (!isUnknownExtension(error)) throw error;
    }
    const { createJiti } = await import("jiti");
    return createJiti(import.meta.url).import(path, { default: true });
  }
  throw new Error(`--config: expected a .ts, .mts, .js, .mjs, .cjs or .json file, got '${file}'`);
}

function defaultOf(module: unknown): unknown {
  const record = module as { default?: unknown };
  return record.default ?? module;
}

function isUnknownExtension(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "ERR_UNKNOWN_FILE_EXTENSION";
}
