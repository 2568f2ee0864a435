import { Redis } from "@upstash/redis/cloudflare";
import type { IoMeter } from "../lib/io-meter";

/**
 * Upstash over REST: one HTTP request per command or pipeline. No client-side
 * retries: a retried write (a counter, a rate limit) could count twice, and a
 * caller that wants to retry knows better when it is safe.
 */
export function openRedis(url: string, token: string, meter: IoMeter): Redis {
  const redis = new Redis({ url, token, retry: false, enableTelemetry: false });
  redis.use((request, next) => {
    meter.kvRequests++;
    return next(request);
  });
  return redis;
}
