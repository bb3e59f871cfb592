// Child for node-fetch.test.ts: one keep-alive call, then nothing. The idle socket stays
// pooled for a minute, so the process exits early only if the pool does not hold it open.
import { createNodeFetch } from "../../src/providers/shared/node-fetch.js";

const nodeFetch = createNodeFetch({ idleSocketTimeoutMs: 60_000 });
const response = await nodeFetch(process.argv[2]!, { method: "POST", body: "{}" });
await response.text();
console.log(`status ${response.status} sockets ${nodeFetch.stats.socketsOpened}`);
