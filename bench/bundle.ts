/**
 * Bundles src/ the way tsup ships it (esm, node20, packages external, no keepNames), for the
 * benches that measure the code users run: bench/modelgate.ts (the working tree), bench/ab.ts
 * and bench/server-ab.ts (the working tree against a git ref).
 */
export async function bundleSources(sourceRoot: string, outdir: string, options: { sourcemap?: boolean } = {}): Promise<void> {
  // esbuild comes with tsup and tsx (dev dependencies).
  const module = await import("esbuild");
  const esbuild = (module as unknown as { default?: typeof module }).default ?? module;
  await esbuild.build({
    absWorkingDir: sourceRoot,
    // server: for child processes that serve the bundle (bench/server-child.ts), as `modelgate serve` does from dist/;
    // cli and redis: `modelgate serve --workers N` itself with its config's redisStore (bench/cluster-config.ts),
    // and the Redis benches (bench/redis-load.ts).
    entryPoints: { index: "src/index.ts", testing: "src/testing.ts", openai: "src/openai.ts", server: "src/server.ts", redis: "src/redis.ts", cli: "src/server/cli/main.ts" },
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
