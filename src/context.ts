import type { Redis } from "@upstash/redis/cloudflare";
import { type Db, openDb } from "./db/client";
import type { Config } from "./env";
import { openRedis } from "./kv/redis";
import { type IoMeter, newIoMeter } from "./lib/io-meter";
import { createLogger, type Logger } from "./lib/log";
import { type Pii, piiFor } from "./lib/pii";
import type { DispatchQueues } from "./services/dispatch-queue";

/** Everything a service needs for one invocation (request or scheduler tick). */
export interface Services {
  config: Config;
  db: Db;
  redis: Redis;
  log: Logger;
  /** Sealing and digests of personal data (numbers, bodies) at rest. */
  pii: Pii;
  io: IoMeter;
  /** The dispatch queues, when the deployment binds them (wrangler.toml); else null. */
  queues: DispatchQueues | null;
  now(): Date;
  /** Work that continues after the response (ctx.waitUntil), tracked so the pool closes last. */
  background(task: () => Promise<unknown>): void;
}

export interface Scope {
  services: Services;
  /** Resolves once every background task has settled and connections are closed. */
  finished(): Promise<void>;
}

export function openScope(
  config: Config,
  logFields: Record<string, unknown>,
  now: () => Date = () => new Date(),
  queues: DispatchQueues | null = null,
): Scope {
  const io = newIoMeter();
  const log = createLogger(logFields);
  const handle = openDb(config.DATABASE_URL, config.NEON_WS_PROXY, io);
  const pending = new Set<Promise<unknown>>();
  const background = (task: () => Promise<unknown>) => {
    // Started on the next turn of the event loop: after the response is on its way,
    // so it never delays the response and is not counted as its I/O.
    const tracked = new Promise((resolve) => setTimeout(resolve, 0))
      .then(task)
      .catch((error: unknown) => log.error("background task failed", { error: String(error) }))
      .finally(() => pending.delete(tracked));
    pending.add(tracked);
  };
  const services: Services = {
    config,
    db: handle.db,
    redis: openRedis(config.UPSTASH_REDIS_REST_URL, config.UPSTASH_REDIS_REST_TOKEN, io),
    log,
    pii: piiFor(config.PII_ENCRYPTION_KEYS, config.PII_HMAC_KEYS),
    io,
    queues,
    now,
    background,
  };
  const finished = async () => {
    // A background task may start another (a dispatch schedules a receipt), so drain until empty.
    while (pending.size > 0) await Promise.allSettled([...pending]);
    await handle.close();
  };
  return { services, finished };
}
