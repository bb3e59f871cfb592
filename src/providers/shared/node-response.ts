import type { SocketBody } from "./socket-body.js";

const UNUSABLE = "Body is unusable: Body has already been read";
const EMPTY = Buffer.alloc(0);

/**
 * `Response` as a base class whose body members may be overridden: Node's types declare
 * `body`, `json` and the rest as properties, which TypeScript will not let a subclass
 * redefine as accessors and methods (at run time they are accessors and methods).
 */
const ResponseBase: new (body: null, init: ResponseInit) => Pick<Response, "status" | "statusText" | "ok" | "type" | "redirected"> = Response;

/**
 * The `Response` `createNodeFetch` resolves with: a real `Response` (so `instanceof`, status,
 * `ok` and inspection behave), whose body stays on the socket until it is read. `json()`,
 * `text()` and the other readers take the bytes straight from the socket into one buffer;
 * `body` makes a web stream only when something asks for it (the SDKs do for SSE).
 *
 * Why: undici's `Response` always wraps its body in a `ReadableStream` and reads it back
 * through a reader for `json()`. On Node 20 that stream costs ~17 µs to build
 * (`makeTransferable`) and the read a chain of promises per chunk; measured with the openai
 * SDK against a local server, the stream-backed `Response` was about half of this
 * transport's CPU per JSON call.
 *
 * `headers` is the instance given (not a copy), `url` the request's URL, as `fetch` sets
 * them. `clone()` tees the body as `fetch` does; the clone is a plain `Response`.
 */
export class NodeResponse extends ResponseBase implements Response {
  readonly #headers: Headers;
  readonly #url: string;
  readonly #source: SocketBody | undefined;
  /** The web stream handed out as `body`, made on first access (`null` for a bodiless status). */
  #stream: ReadableStream<Uint8Array> | null | undefined;
  /** Set by our readers and by `clone()` (after which the body is a tee branch, not the socket). */
  #used = false;
  #teed = false;

  constructor(status: number, statusText: string, headers: Headers, url: string, source: SocketBody | undefined) {
    super(null, { status, statusText });
    this.#headers = headers;
    this.#url = url;
    this.#source = source;
  }

  get headers(): Headers {
    return this.#headers;
  }

  get url(): string {
    return this.#url;
  }

  get body(): ReadableStream<Uint8Array> | null {
    if (this.#stream === undefined) this.#stream = this.#source ? this.#source.stream() : null;
    return this.#stream;
  }

  get bodyUsed(): boolean {
    if (this.#used) return true;
    if (this.#teed) return this.#stream?.locked ?? false;
    return this.#source !== undefined && !this.#source.unread;
  }

  async json(): Promise<unknown> {
    return JSON.parse(utf8(await this.#bytes()));
  }

  async text(): Promise<string> {
    return utf8(await this.#bytes());
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    return ownArrayBuffer(await this.#bytes());
  }

  async bytes(): Promise<Uint8Array> {
    return new Uint8Array(ownArrayBuffer(await this.#bytes()));
  }

  async blob(): Promise<Blob> {
    const type = this.#headers.get("content-type") ?? "";
    return new Blob([await this.#bytes()], { type });
  }

  async formData(): Promise<FormData> {
    return new Response(await this.#bytes(), { headers: this.#headers }).formData();
  }

  clone(): Response {
    if (this.bodyUsed || this.#stream?.locked) throw new TypeError("Response.clone: Body has already been consumed.");
    const init = { status: this.status, statusText: this.statusText, headers: new Headers(this.#headers) };
    const body = this.body;
    let copy: Response;
    if (body === null) {
      copy = new Response(null, init);
    } else {
      const [mine, theirs] = body.tee();
      this.#stream = mine;
      this.#teed = true;
      copy = new Response(theirs, init);
    }
    // `fetch` responses carry their URL; some SDK logging reads it.
    Object.defineProperty(copy, "url", { value: this.#url });
    return copy;
  }

  /** The whole body once: from the socket while nobody has touched it, else through the web stream. */
  #bytes(): Promise<Buffer> {
    if (this.bodyUsed || this.#stream?.locked) return Promise.reject(new TypeError(UNUSABLE));
    this.#used = true;
    if (!this.#source) return Promise.resolve(EMPTY);
    if (!this.#teed && this.#source.unread) return this.#source.readAll();
    return new Response(this.body).arrayBuffer().then((bytes) => Buffer.from(bytes));
  }
}

/** UTF-8 without a leading BOM, as `fetch`'s `text()` and `json()` decode. */
function utf8(bytes: Buffer): string {
  const start = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  return bytes.toString("utf8", start);
}

/** An `ArrayBuffer` of exactly these bytes (a small `Buffer` is a view into a shared pool). */
function ownArrayBuffer(bytes: Buffer): ArrayBuffer {
  const copy = new ArrayBuffer(bytes.length);
  new Uint8Array(copy).set(bytes);
  return copy;
}
