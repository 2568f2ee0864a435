import { Redis } from "@upstash/redis/cloudflare";
import type { IoMeter } from "../lib/io-meter";

/**
 * Upstash over REST: one HTTP request per command or pipeline. No client-side
 * retries: a retried write (a counter, a rate limit) could count twice, and a
 * caller that wants to retry knows better when it is safe.
 */
export function openRedis(
  url: string,
  token: string,
  meter: IoMeter,
  options: { autoPipeline?: boolean } = {},
): Redis {
  // Auto-pipelining sends the commands issued in one tick as one request (rate limits).
  const redis = new Redis({
    url,
    token,
    retry: false,
    enableTelemetry: false,
    enableAutoPipelining: options.autoPipeline ?? false,
  });
  redis.use((request, next) => {
    meter.kvRequests++;
    return next(request);
  });
  return redis;
}
