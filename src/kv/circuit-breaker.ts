import type { Redis } from "@upstash/redis/cloudflare";
import type { CircuitState } from "../domain/routing";

/**
 * Per-provider circuit breakers whose state lives in Redis, so every isolate
 * sees the same health. Outcomes are counted in 10-second buckets; over the
 * last minute, at least MIN_SAMPLES calls with a failure rate of FAILURE_RATE or
 * more open the circuit for COOLDOWN_S. After the cooldown it is half-open:
 * routing still uses it, last, as a probe; the probe's success closes it, its
 * failure opens it again.
 */

const BUCKET_S = 10;
const WINDOW_BUCKETS = 6;
const MIN_SAMPLES = 5;
const FAILURE_RATE = 0.5;
const COOLDOWN_S = 30;

const openKey = (provider: string) => `cb:${provider}:open`;
const halfOpenKey = (provider: string) => `cb:${provider}:half-open`;
const bucketKey = (provider: string, kind: "ok" | "fail", bucket: number) =>
  `cb:${provider}:${kind}:${bucket}`;

type BreakerRedis = Pick<Redis, "mget" | "pipeline" | "del">;

/** One round trip for every provider's state. */
export async function readHealth<P extends string>(
  redis: BreakerRedis,
  providers: readonly P[],
): Promise<Partial<Record<P, CircuitState>>> {
  if (providers.length === 0) return {};
  const keys = providers.flatMap((p) => [openKey(p), halfOpenKey(p)]);
  const values = await redis.mget<(string | null)[]>(...keys);
  const health: Partial<Record<P, CircuitState>> = {};
  providers.forEach((provider, i) => {
    if (values[2 * i] !== null) health[provider] = "open";
    else if (values[2 * i + 1] !== null) health[provider] = "half_open";
  });
  return health;
}

/**
 * Records one call's result. `healthy` is whether the provider itself worked
 * (an accepted or a permanently refused message both count as healthy).
 */
export async function recordCall(
  redis: BreakerRedis,
  provider: string,
  healthy: boolean,
  now: Date,
): Promise<CircuitState> {
  const bucket = Math.floor(now.getTime() / 1000 / BUCKET_S);
  const kind = healthy ? "ok" : "fail";
  const buckets = Array.from({ length: WINDOW_BUCKETS }, (_, i) => bucket - i);
  const pipeline = redis.pipeline();
  pipeline.incr(bucketKey(provider, kind, bucket));
  pipeline.expire(bucketKey(provider, kind, bucket), BUCKET_S * (WINDOW_BUCKETS + 1));
  pipeline.get(halfOpenKey(provider));
  pipeline.mget(
    ...buckets.map((b) => bucketKey(provider, "ok", b)),
    ...buckets.map((b) => bucketKey(provider, "fail", b)),
  );
  const [, , halfOpen, counts] = (await pipeline.exec()) as [
    number,
    number,
    string | null,
    (number | null)[],
  ];
  if (healthy) {
    if (halfOpen !== null) await redis.del(halfOpenKey(provider));
    return "closed";
  }
  const ok = counts.slice(0, WINDOW_BUCKETS).reduce<number>((sum, n) => sum + Number(n ?? 0), 0);
  const failed = counts.slice(WINDOW_BUCKETS).reduce<number>((sum, n) => sum + Number(n ?? 0), 0);
  const trips =
    halfOpen !== null || (ok + failed >= MIN_SAMPLES && failed / (ok + failed) >= FAILURE_RATE);
  if (!trips) return "closed";
  const open = redis.pipeline();
  open.set(openKey(provider), "1", { ex: COOLDOWN_S });
  open.set(halfOpenKey(provider), "1", { ex: 24 * 3600 });
  // A fresh window after the cooldown: old failures must not re-open it at once.
  open.del(...buckets.map((b) => bucketKey(provider, "fail", b)));
  await open.exec();
  return "open";
}
