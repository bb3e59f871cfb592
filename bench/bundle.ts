/**
 * Bundles src/ the way tsup ships it (esm, node20, packages external, no keepNames), for the
 * benches that measure the code users run: bench/modelgate.ts (the working tree), bench/ab.ts
 * and bench/server-ab.ts (the working tree against a git ref).
 */
export async function bundleSources(sourceRoot: string, outdir: string, options: { sourcemap?: boolean; redis?: boolean } = {}): Promise<void> {
  // esbuild comes with tsup and tsx (dev dependencies).
  const module = await import("esbuild");
  const esbuild = (module as unknown as { default?: typeof module }).default ?? module;
  await esbuild.build({
    absWorkingDir: sourceRoot,
    // server: for child processes that serve the bundle (bench/server-child.ts), as `modelgate serve` does from dist/.
    entryPoints: {
      index: "src/index.ts",
      testing: "src/testing.ts",
      openai: "src/openai.ts",
      server: "src/server.ts",
      // Only for the benches that load the Redis entry (bench/redis-load.ts): others keep their chunks as they were.
      ...(options.redis ? { redis: "src/redis.ts" } : {}),
    },
    outdir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    sourcemap: options.sourcemap ?? false,
    logLevel: "silent",
  });
}
