import { Buffer } from "node:buffer";
import { sha256Base64urlOfBytes } from "./sha256.js";

/*
 * The bytes a cache key hashes, written straight into one reusable buffer: a sequence of
 * self-delimiting items (a tag byte, then for text a 4-byte length and the UTF-8 bytes), so
 * that no two different sequences of values share bytes and the sha256 over them stays
 * collision-resistant. Writing the messages' text this way skips `JSON.stringify` of the whole
 * conversation and the concatenated copies of it, which cost more than the hash itself (2 KB
 * request: stringify ~3.8 µs, sha256 ~1.8 µs).
 *
 * A string with a lone surrogate would come out of UTF-8 as U+FFFD (two strings, one byte
 * sequence): such a string goes in as its JSON text (which escapes lone surrogates) under a tag
 * of its own.
 */

/** Item tags: each value's bytes are preceded by one, so items of different kinds never meet. */
export const TAG = {
  /** Well-formed text, as UTF-8. */
  text: 1,
  /** JSON text: a value with no item form of its own, or a string with a lone surrogate. */
  json: 2,
  /** A message of role, text content and maybe a name: three items follow. */
  textMessage: 3,
  /** No value here (a text message without a name). */
  absent: 4,
} as const;

/** Past this, a request's material is not kept in the scratch buffer between calls. */
const MAX_KEPT_BYTES = 1 << 20;

const isWellFormed: (value: string) => boolean =
  typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === "function"
    ? (value) => (value as unknown as { isWellFormed(): boolean }).isWellFormed()
    : (value) => !/[\uD800-\uDFFF]/.test(value);

/** One gateway's scratch buffer for cache-key material. Not shared between gateways; not reentrant (CacheKeyMaker hands a nested call a buffer of its own). */
export class KeyMaterial {
  private bytes: Buffer = Buffer.allocUnsafeSlow(4096);
  private at = 0;

  /** Starts a new key's material. */
  begin(): this {
    this.at = 0;
    return this;
  }

  /** sha256 of what was written since `begin`, base64url. */
  digest(): string {
    return sha256Base64urlOfBytes(this.bytes.subarray(0, this.at));
  }

  /** A tag with nothing after it. */
  tag(tag: number): this {
    this.room(1);
    this.bytes[this.at++] = tag;
    return this;
  }

  /** A string: its UTF-8 bytes framed by their length (JSON text when it is not well formed). */
  text(value: string): this {
    if (!isWellFormed(value)) return this.json(JSON.stringify(value));
    return this.framed(TAG.text, value);
  }

  /** JSON text, framed under its own tag. */
  json(text: string): this {
    return this.framed(TAG.json, text);
  }

  private framed(tag: number, value: string): this {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    this.room(5 + value.length * 3);
    const bytes = this.bytes;
    const start = this.at + 5;
    const written = bytes.write(value, start, "utf8");
    bytes[this.at] = tag;
    bytes.writeUInt32LE(written, this.at + 1);
    this.at = start + written;
    return this;
  }

  private room(needed: number): void {
    if (this.at + needed <= this.bytes.length) return;
    const size = Math.max(this.bytes.length * 2, this.at + needed);
    const grown = Buffer.allocUnsafeSlow(size);
    this.bytes.copy(grown, 0, 0, this.at);
    this.bytes = grown;
  }

  /** Drops a buffer grown past what is worth keeping for the next call (one huge request). */
  release(): void {
    if (this.bytes.length > MAX_KEPT_BYTES) this.bytes = Buffer.allocUnsafeSlow(4096);
  }
}
