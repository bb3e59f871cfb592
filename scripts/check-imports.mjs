#!/usr/bin/env node
// Checks the import graph of src/: no cycles, and every import follows the layer rule below.
// Run: npm run check:imports (or node scripts/check-imports.mjs <dir> for another tree, as
// the test does). Type-only imports count too, so the rule holds for readers, not
// just at runtime. No dependencies: the graph is read with a regex over relative specifiers.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = process.argv[2] ? resolve(process.argv[2]) : resolve(dirname(new URL(import.meta.url).pathname), "..", "src");
/** Feature folders: each may import core/, the store interfaces, and itself; never another feature. */
const FEATURES = ["routing", "cache", "limits", "spend", "telemetry", "providers", "stores", "testing", "checks", "alerts"];
/** The store interfaces any feature may name (what a store must implement for it). */
const STORE_INTERFACES = ["stores/store.ts", "stores/cache-store.ts", "stores/cooldown-sharing.ts"];

/** The layer a file lives in, lowest first: core < feature < config, control-plane < gateway < entry. */
function layerOf(file) {
  const top = file.includes("/") ? file.slice(0, file.indexOf("/")) : "";
  if (top === "core") return { rank: 0, name: "core" };
  if (FEATURES.includes(top)) return { rank: 1, name: top };
  if (top === "config") return { rank: 2, name: "config" };
  // The control plane is a durable store over several features (spend records, budget periods, key config).
  if (top === "control-plane") return { rank: 2, name: "control-plane" };
  if (top === "gateway") return { rank: 3, name: "gateway" };
  if (top === "") return { rank: 4, name: "entry" };
  // The HTTP server is built on the public surface (index.ts and the adapter entries), like a user's code.
  if (top === "server") return { rank: 4, name: "server" };
  return { rank: -1, name: top };
}

function allowed(from, to) {
  const a = layerOf(from);
  const b = layerOf(to);
  if (a.rank === -1) return `${a.name}/ is not a known layer (add it to scripts/check-imports.mjs)`;
  if (b.rank === 0) return undefined;
  if (a.rank === 0) return "core/ imports nothing above it";
  if (a.rank === 1) {
    if (STORE_INTERFACES.includes(to)) return undefined;
    if (a.name !== b.name) return `feature ${a.name}/ may import only core/, the store interfaces and itself`;
    // Provider adapters share providers/shared/ only, never each other.
    const [, pa] = from.split("/");
    const [, pb] = to.split("/");
    if (a.name === "providers" && pa !== pb && pb !== "shared") return "a provider may import only providers/shared/";
    return undefined;
  }
  if (b.rank > a.rank) return `${a.name}/ may not import from ${b.name}/ (a higher layer)`;
  return undefined;
}

const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (path.endsWith(".ts")) files.push(relative(root, path));
  }
})(root);

const specifier = /(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;
const graph = new Map();
for (const file of files) {
  const source = readFileSync(join(root, file), "utf8");
  const targets = new Set();
  for (const match of source.matchAll(specifier)) {
    const spec = match[1] ?? match[2];
    if (!spec.startsWith(".")) continue;
    targets.add(relative(root, resolve(root, dirname(file), spec.replace(/\.js$/, ".ts"))));
  }
  graph.set(file, [...targets]);
}

const problems = [];
for (const [from, targets] of graph) {
  for (const to of targets) {
    const why = allowed(from, to);
    if (why) problems.push(`layer: ${from} -> ${to}: ${why}`);
  }
}

// Cycles: depth-first search, reporting each back edge's loop once.
const state = new Map(); // file -> "open" | "done"
const stack = [];
function visit(file) {
  state.set(file, "open");
  stack.push(file);
  for (const next of graph.get(file) ?? []) {
    if (!graph.has(next)) continue;
    if (state.get(next) === "open") problems.push(`cycle: ${[...stack.slice(stack.indexOf(next)), next].join(" -> ")}`);
    else if (!state.has(next)) visit(next);
  }
  stack.pop();
  state.set(file, "done");
}
for (const file of graph.keys()) if (!state.has(file)) visit(file);

if (problems.length > 0) {
  console.error(problems.join("\n"));
  console.error(`\n${problems.length} import problem(s) in src/`);
  process.exit(1);
}
console.log(`imports ok: ${files.length} files, no cycles, layers core < features < config < gateway < entry`);
