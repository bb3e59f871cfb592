/**
 * The child side of the bench's process protocol (bench/children.ts is the parent side): a
 * `cpu` line on stdin answers `CPU_US <user+system µs so far>` (what the child takes of the
 * cores); the child quits when stdin closes (the bench ended, however it ended) or on SIGTERM.
 * `onLine` receives every stdin chunk for a child's own commands.
 */
export function obeyParent(quit: () => void, onLine?: (text: string) => void): void {
  process.stdin.on("data", (data: Buffer) => {
    const text = data.toString("utf8");
    if (text.includes("cpu")) {
      const usage = process.cpuUsage();
      process.stdout.write(`CPU_US ${usage.user + usage.system}\n`);
    }
    onLine?.(text);
  });
  process.stdin.on("end", quit);
  process.stdin.on("close", quit);
  process.stdin.resume();
  process.once("SIGTERM", quit);
}
