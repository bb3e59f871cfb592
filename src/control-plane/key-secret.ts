import { createHash, randomBytes } from "node:crypto";

/** Every runtime key's secret starts with this, so a leaked one is recognisable (and scannable). */
export const SECRET_PREFIX = "mg-";

/** 24 random bytes from the CSPRNG: 192 bits, 32 base64url characters after the prefix. */
export function newSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(24).toString("base64url")}`;
}

/**
 * SHA-256 of the secret, hex. A fast hash is right here: the secret is 192 random bits, so
 * guessing it from the hash is as hopeless as guessing it outright, and slow password hashes
 * (bcrypt, scrypt) exist for low-entropy human passwords. Fast also keeps `verify` O(1) and
 * cheap on every call.
 */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** What `list` may show of a secret: the prefix and 4 characters, enough to tell keys apart. */
export function secretHint(secret: string): string {
  return `${secret.slice(0, SECRET_PREFIX.length + 4)}…`;
}
