// One-off catalog edit, kept so the change can be reviewed and rerun: every Anthropic price (and
// its long-context tier) gains `cacheWrite1h` = 2x input, Anthropic's 1-hour cache-write rate
// (5-minute writes, `cacheWrite`, are 1.25x). Edits the text in place so each row stays on one line.
import { readFileSync, writeFileSync } from "node:fs";

const path = new URL("../src/core/catalog.json", import.meta.url);
const text = readFileSync(path, "utf8");
const twice = (input) => Math.round(Number(input) * 2 * 1e6) / 1e6;
const edited = text
  .split("\n")
  .map((line) => {
    if (!line.includes('"provider": "anthropic"') || line.includes('"cacheWrite1h"')) return line;
    return line.replace(/"input": ([0-9.]+)((?:, "[A-Za-z]+": [0-9.]+)*?, "cacheWrite": [0-9.]+)/g, (_match, input, rest) => `"input": ${input}${rest}, "cacheWrite1h": ${twice(input)}`);
  })
  .join("\n");
JSON.parse(edited);
writeFileSync(path, edited);
