// Moved to core/ so the router can replay an accepted cascade answer too.
export { replayChunks, responseToChunks } from "../core/stream-replay.js";
