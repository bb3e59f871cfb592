import * as crypto from "node:crypto";

/**
 * sha256 of a string, base64url. Node's one-shot `crypto.hash` (20.12 and later) skips the Hash
 * object `createHash` builds; older Node 20 releases lack it, and a named import of it would
 * fail to load there at all (the package supports Node >= 20), hence the namespace import.
 */
export const sha256Base64url: (material: string) => string =
  typeof crypto.hash === "function"
    ? (material) => crypto.hash("sha256", material, "base64url")
    : (material) => crypto.createHash("sha256").update(material).digest("base64url");

/** sha256 of bytes, base64url (as `sha256Base64url`, for material already in a buffer). */
export const sha256Base64urlOfBytes: (material: Uint8Array) => string =
  typeof crypto.hash === "function"
    ? (material) => crypto.hash("sha256", material, "base64url")
    : (material) => crypto.createHash("sha256").update(material).digest("base64url");
