/**
 * The modelgate the bench measures: src/ bundled the way tsup ships it (ESM, node20, deps
 * external, no `keepNames`) into bench/.build, rebuilt on every run so it is always current.
 *
 * Why not import src/ through tsx: tsx compiles with esbuild's `keepNames`, which wraps every
 * closure the hot path creates in a `__name()` call; measured, that made `gateway.chat()` about
 * 1.5-2x slower than the bundle users get. Why not dist/: it may be stale.
 */
import { existsSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { bundleSources } from "./bundle.js";

type Core = typeof import("../src/index.js");
type Testing = typeof import("../src/testing.js");
type OpenAIEntry = typeof import("../src/openai.js");
type ServerEntry = typeof import("../src/server.js");

export interface Modelgate {
  createGateway: Core["createGateway"];
  ConfigError: Core["ConfigError"];
  mockProvider: Testing["mockProvider"];
  openai: OpenAIEntry["openai"];
  /** What was measured: "bundle (esbuild, like tsup)" or "src via tsx (fallback: ...)". */
  how: string;
  /** Directory of the bundle (for child processes), or undefined when src/ is used. */
  dir: string | undefined;
}

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(benchDir);
export const BUILD_DIR = join(benchDir, ".build");

let loading: Promise<Modelgate> | undefined;

/** Builds once per process (a child given `dir` only imports). */
export function loadModelgate(dir?: string): Promise<Modelgate> {
  loading ??= load(dir);
  return loading;
}

async function load(prebuilt: string | undefined): Promise<Modelgate> {
  let dir = prebuilt;
  let how = "bundle (esbuild like tsup: esm, node20, no keepNames)";
  if (!dir) {
    try {
      await build();
      dir = BUILD_DIR;
    } catch (error) {
      how = `src via tsx (bundle failed: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}; tsx's keepNames makes it slower)`;
    }
  }
  if (dir && existsSync(join(dir, "index.js"))) {
    const url = (name: string): string => pathToFileURL(join(dir!, `${name}.js`)).href;
    const [core, testing, openaiEntry] = await Promise.all([
      import(url("index")) as Promise<Core>,
      import(url("testing")) as Promise<Testing>,
      import(url("openai")) as Promise<OpenAIEntry>,
    ]);
    return {
      createGateway: core.createGateway,
      ConfigError: core.ConfigError,
      mockProvider: testing.mockProvider,
      openai: openaiEntry.openai,
      how,
      dir,
    };
  }
  const [core, testing, openaiEntry] = await Promise.all([
    import("../src/index.js"),
    import("../src/testing.js"),
    import("../src/openai.js"),
  ]);
  return { createGateway: core.createGateway, ConfigError: core.ConfigError, mockProvider: testing.mockProvider, openai: openaiEntry.openai, how, dir: undefined };
}

async function build(): Promise<void> {
  rmSync(BUILD_DIR, { recursive: true, force: true });
  await bundleSources(root, BUILD_DIR, { sourcemap: true });
}

/** `modelgate/server` from the bundle in `dir` (made by `loadModelgate()`), or from src/ without one. */
export async function loadServerEntry(dir: string | undefined): Promise<ServerEntry> {
  if (dir && existsSync(join(dir, "server.js"))) return (await import(pathToFileURL(join(dir, "server.js")).href)) as ServerEntry;
  return import("../src/server.js");
}
