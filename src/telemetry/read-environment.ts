/** An environment variable, or undefined where there is no `process` (edge runtimes, browsers). */
export function readEnvironment(name: string): string | undefined {
  return typeof process === "undefined" ? undefined : process.env[name];
}
