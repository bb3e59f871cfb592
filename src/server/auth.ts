import * as crypto from "node:crypto";
import type { AuthOptions, VerifyToken } from "./options.js";

/** The caller a request was authenticated as. `key` is undefined when no auth is configured. */
export type Authenticated = { ok: true; key: string | undefined } | { ok: false; reason: string };

export type Authenticate = (authorization: string | undefined) => Promise<Authenticated>;

/** Longest bearer token read; longer ones are refused without hashing megabytes. */
const MAX_TOKEN_CHARS = 512;

/**
 * SHA-256 of a token. `crypto.hash` (Node 20.12+) is one native call; a `createHash` object
 * per request cost measurably more on the server's hot path. Older Node 20 falls back.
 */
const digest: (token: string) => Buffer =
  typeof crypto.hash === "function"
    ? (token) => crypto.hash("sha256", token, "buffer")
    : (token) => crypto.createHash("sha256").update(token).digest();

/**
 * Builds the token check. Static tokens are compared as SHA-256 digests with `timingSafeEqual`
 * against every configured token (equal lengths, no early exit), so response time says
 * nothing about how much of a token was right. Tokens are never logged or echoed. With
 * `runtimeKeys` (a gateway with a control plane) auth is on even without `auth`: a token that
 * matched nothing else is looked up among the runtime keys (only SHA-256 digests are stored).
 */
export function createAuthenticate(auth: AuthOptions | VerifyToken | undefined, runtimeKeys?: VerifyToken): Authenticate | undefined {
  if (auth === undefined && runtimeKeys === undefined) return undefined;
  const options: AuthOptions = typeof auth === "function" ? { verify: auth } : (auth ?? {});
  const table = Object.entries(options.tokens ?? {}).map(([token, key]) => ({ digest: digest(token), key }));
  const verify = options.verify;
  return async (authorization) => {
    const token = bearerToken(authorization);
    if (token === undefined) return { ok: false, reason: "Missing bearer token: send 'Authorization: Bearer <token>'" };
    if (token.length > MAX_TOKEN_CHARS) return { ok: false, reason: "Invalid bearer token" };
    const presented = digest(token);
    let matched: string | undefined;
    for (const entry of table) {
      if (crypto.timingSafeEqual(entry.digest, presented) && matched === undefined) matched = entry.key;
    }
    if (matched === undefined && verify) matched = await verify(token);
    // Last, the gateway's runtime keys (a control plane): a hash lookup in its local cache.
    if (matched === undefined && runtimeKeys) matched = await runtimeKeys(token);
    return matched === undefined ? { ok: false, reason: "Invalid bearer token" } : { ok: true, key: matched };
  };
}

function bearerToken(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return match?.[1];
}
