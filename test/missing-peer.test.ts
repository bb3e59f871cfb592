/**
 * A provider SDK is an optional peer: without it, building its adapter is a ConfigError that
 * says what to install, never a raw ERR_MODULE_NOT_FOUND. Each case runs in a child process
 * where the SDK cannot be resolved (by `require` or `import`), as on a machine without it.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../src/index.js";
import { loadPeer } from "../src/providers/shared/load-peer.js";

const HIDE = fileURLToPath(new URL("./fakes/hide-package/hide.cjs", import.meta.url));
const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Runs `script` (ESM, through tsx) with `packages` unresolvable; resolves with its stdout. */
function runWithout(packages: string[], script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--require", HIDE, "--import", "tsx", "--input-type=module", "-e", script],
      { cwd: ROOT, env: { ...process.env, HIDE_PACKAGES: packages.join(",") }, timeout: 60_000 },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout.trim())),
    );
  });
}

/** Builds the adapter from `entry` and prints what was thrown as JSON. */
const attempt = (entry: string, factory: string): string => `
  const { ${factory} } = await import("./src/${entry}.ts");
  try { ${factory}({ apiKey: "k" }); console.log(JSON.stringify({ ok: true })); }
  catch (error) { console.log(JSON.stringify({ name: error.name, code: error.code, message: error.message })); }`;

describe("a missing provider SDK", () => {
  it.each([
    ["openai", "openai", "openai"],
    ["anthropic", "anthropic", "@anthropic-ai/sdk"],
    ["google", "google", "@google/genai", ["@google/genai", "@google/generative-ai"]],
  ])("modelgate/%s without its SDK (%s(), %s): a ConfigError naming the package", async (entry, factory, sdk, hidden = [sdk]) => {
    const thrown = JSON.parse(await runWithout(hidden, attempt(entry, factory)));
    expect(thrown).toMatchObject({ name: "ConfigError", code: "config_invalid" });
    expect(thrown.message).toContain(`npm install ${sdk}`);
    expect(thrown.message).toContain(`modelgate/${entry}`);
    expect(thrown.message).not.toContain("ERR_MODULE_NOT_FOUND");
  }, 60_000);

  it.each([["@google/genai"], ["@google/generative-ai"]])("google() runs on the other Google SDK when %s is missing", async (missing) => {
    const script = `
      const { google } = await import("./src/google.ts");
      try { google({ apiKey: "k" }); console.log(JSON.stringify({ ok: true })); }
      catch (error) { console.log(JSON.stringify({ name: error.name, message: error.message })); }`;
    expect(JSON.parse(await runWithout([missing], script))).toEqual({ ok: true });
  }, 60_000);

  it("Vertex AI without @google/genai: a ConfigError naming it, even with @google/generative-ai installed", async () => {
    const script = `
      const { google } = await import("./src/google.ts");
      try { google({ vertexai: true, project: "p" }); console.log(JSON.stringify({ ok: true })); }
      catch (error) { console.log(JSON.stringify({ name: error.name, message: error.message })); }`;
    const thrown = JSON.parse(await runWithout(["@google/genai"], script));
    expect(thrown.name).toBe("ConfigError");
    expect(thrown.message).toContain("npm install @google/genai");
  }, 60_000);

  it("the same entry works once the SDK resolves (the hook hides only what it is told to)", async () => {
    expect(JSON.parse(await runWithout(["some-other-package"], attempt("openai", "openai")))).toEqual({ ok: true });
  }, 60_000);

  it("loadPeer: ConfigError for a missing package, the module itself otherwise", () => {
    expect(() => loadPeer("modelgate-no-such-sdk", "modelgate/example")).toThrow(ConfigError);
    expect(() => loadPeer("modelgate-no-such-sdk", "modelgate/example")).toThrow("npm install modelgate-no-such-sdk");
    expect(loadPeer<{ OpenAI: unknown }>("openai", "modelgate/openai").OpenAI).toBeTypeOf("function");
  });
});
