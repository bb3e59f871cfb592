import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { CooldownShare, CooldownSharing, SharedCooldown } from "../cooldown-sharing.js";
import type { RedisLink } from "./redis-link.js";

/** Messages larger than this are not ours: ignored unparsed. */
const MAX_MESSAGE_BYTES = 1_024;
/** A received cooldown is capped, so a bad message cannot take a deployment out for long. */
const MAX_SHARED_COOLDOWN_MS = 3_600_000;

interface CooldownMessage {
  origin: string;
  deployment: string;
  durationMs: number;
}

/**
 * Cooldowns relayed by Redis pub/sub. Publishing is one PUBLISH per ejection (rare) on the
 * store's connection; receiving needs a connection of its own in subscriber mode, opened on the
 * first `shareCooldowns` and closed with the last `leave`. That connection queues its SUBSCRIBE
 * until connected and re-subscribes after every reconnect (ioredis `autoResubscribe`), so
 * sharing resumes by itself after an outage. Cooldowns published while Redis was down are not
 * replayed: they were applied where they happened, and they are short.
 */
export class RedisCooldowns implements CooldownSharing {
  private readonly members = new Map<string, (cooldown: SharedCooldown) => void>();
  private subscriber: Redis | undefined;

  constructor(
    private readonly link: RedisLink,
    private readonly channel: string,
  ) {}

  shareCooldowns(apply: (cooldown: SharedCooldown) => void): CooldownShare {
    const origin = randomUUID();
    this.members.set(origin, apply);
    this.subscribe();
    return {
      publish: (cooldown) => this.publish(origin, cooldown),
      leave: async () => {
        this.members.delete(origin);
        if (this.members.size === 0) this.unsubscribe();
      },
    };
  }

  close(): void {
    this.members.clear();
    this.unsubscribe();
  }

  private subscribe(): void {
    if (this.subscriber) return;
    // Unlike commands on the call path, the subscription may wait for a connection.
    const subscriber = this.link.client.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, lazyConnect: false });
    subscriber.on("error", () => {
      // Connection trouble is reported by the store's own link; this one just reconnects.
    });
    subscriber.on("message", (channel: string, message: string) => {
      if (channel === this.channel) this.receive(message);
    });
    subscriber.subscribe(this.channel).catch(() => undefined);
    this.subscriber = subscriber;
  }

  private unsubscribe(): void {
    this.subscriber?.disconnect();
    this.subscriber = undefined;
  }

  private publish(origin: string, cooldown: SharedCooldown): void {
    const message: CooldownMessage = { origin, deployment: cooldown.deployment, durationMs: cooldown.durationMs };
    const send = async (): Promise<void> => {
      if (!(await this.link.usable())) return;
      await this.link.run(() => this.link.client.publish(this.channel, JSON.stringify(message)));
    };
    send().catch(() => {
      // Lost: the cooldown still holds in this process.
    });
  }

  private receive(text: string): void {
    if (text.length > MAX_MESSAGE_BYTES) return;
    const message = parseMessage(text);
    if (!message) return;
    const cooldown = { deployment: message.deployment, durationMs: Math.min(MAX_SHARED_COOLDOWN_MS, message.durationMs) };
    for (const [origin, apply] of this.members) {
      if (origin === message.origin) continue;
      try {
        apply(cooldown);
      } catch {
        // One member's failure must not keep the others from the news.
      }
    }
  }
}

function parseMessage(text: string): CooldownMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { origin, deployment, durationMs } = value as Record<string, unknown>;
  if (typeof origin !== "string" || typeof deployment !== "string" || typeof durationMs !== "number") return undefined;
  if (!Number.isFinite(durationMs) || durationMs <= 0) return undefined;
  return { origin, deployment, durationMs };
}
