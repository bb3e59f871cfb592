/** A base64 `data:` URL, split: what the providers' inline image/file sources take. */
export interface Base64DataUrl {
  /** The media type as written (`image/png`); callers that check it normalise the case. */
  mediaType: string;
  /** The base64 payload, unchanged. */
  data: string;
}

/**
 * `data:<type>[;<param>=<value>]*;base64,<data>`. RFC 2397 allows parameters before `;base64`
 * (browsers and SDKs write `;name=x.png` or `;charset=...`); they are read past, not kept.
 */
const BASE64_DATA_URL = /^data:([^;,]+)((?:;[^;,]*)*?);base64,(.*)$/s;

/** The media type and payload of a base64 data URL; `undefined` for anything else (http URLs, non-base64 data URLs). */
export function parseBase64DataUrl(url: string): Base64DataUrl | undefined {
  const match = BASE64_DATA_URL.exec(url);
  if (!match) return undefined;
  return { mediaType: match[1]!, data: match[3]! };
}
