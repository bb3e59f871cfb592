import { createHmac } from "node:crypto";
import type { WebhookEvent } from "../core/events.js";

export interface AlertWebhookOptions {
  url: string;
  secret: string;
  maxQueue: number;
  attempts: number;
  /** Fired for each alert dropped (queue full) or given up on. */
  onFailure(event: WebhookEvent): void;
  /** First retry delay; doubles per try (default 500 ms). */
  minDelayMs?: number;
}

interface Delivery {
  alert: WebhookEvent["alert"];
  body: string;
  attempts: number;
}

/** The header carrying `sha256=<hex HMAC-SHA256 of the raw body, keyed by the secret>`. */
export const SIGNATURE_HEADER = "x-modelgate-signature";
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * POSTs alerts one at a time from a bounded queue, off the call path: `send` only enqueues.
 * A failed POST (network error or non-2xx) is retried with exponential backoff up to
 * `attempts` tries; a full queue drops the new alert. Both count and fire `webhook`.
 */
export class AlertWebhook {
  private readonly queue: Delivery[] = [];
  private running = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly controller = new AbortController();
  delivered = 0;
  dropped = 0;
  failed = 0;

  constructor(private readonly options: AlertWebhookOptions) {}

  send(alert: WebhookEvent["alert"], payload: object): void {
    if (this.closed) return;
    if (this.queue.length >= this.options.maxQueue) {
      this.dropped++;
      this.options.onFailure({ status: "dropped", alert, attempts: 0 });
      return;
    }
    this.queue.push({ alert, body: JSON.stringify({ type: alert, time: Date.now(), ...payload }), attempts: 0 });
    if (!this.running) void this.run();
  }

  get pending(): number {
    return this.queue.length;
  }

  private async run(): Promise<void> {
    this.running = true;
    while (!this.closed && this.queue.length > 0) {
      const delivery = this.queue[0]!;
      delivery.attempts++;
      if (await this.post(delivery.body)) {
        this.queue.shift();
        this.delivered++;
        continue;
      }
      if (delivery.attempts >= this.options.attempts) {
        this.queue.shift();
        this.failed++;
        this.options.onFailure({ status: "failed", alert: delivery.alert, attempts: delivery.attempts });
        continue;
      }
      const delayMs = (this.options.minDelayMs ?? 500) * 2 ** (delivery.attempts - 1);
      await new Promise<void>((resolve) => {
        this.timer = setTimeout(resolve, delayMs);
        this.timer.unref();
      });
    }
    this.running = false;
  }

  private async post(body: string): Promise<boolean> {
    const signature = createHmac("sha256", this.options.secret).update(body).digest("hex");
    try {
      const response = await fetch(this.options.url, {
        method: "POST",
        headers: { "content-type": "application/json", [SIGNATURE_HEADER]: `sha256=${signature}` },
        body,
        signal: AbortSignal.any([this.controller.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
      });
      await response.body?.cancel();
      return response.ok;
    } catch {
      return false;
    }
  }

  /** Stops delivering; alerts still queued are dropped (counted). */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.controller.abort();
    this.dropped += this.queue.length;
    this.queue.length = 0;
  }
}
