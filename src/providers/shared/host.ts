/**
 * The host name of a base URL, for the `server.address` span attribute: never the user info
 * or path a URL may carry. `undefined` when the URL cannot be parsed or names no host.
 */
export function hostOf(baseURL: string): string | undefined {
  try {
    return new URL(baseURL).hostname || undefined;
  } catch {
    return undefined;
  }
}
