import { type CountryCode, isSupportedCountry } from "libphonenumber-js/max";
import { z } from "zod";

/**
 * Bindings and secrets, checked once per isolate. A bad or missing value fails
 * loudly with the variable's name instead of surfacing later as a confusing
 * driver error.
 */
const intFromString = (fallback: number) =>
  z
    .string()
    .regex(/^\d+$/, "must be a non-negative integer")
    .default(String(fallback))
    .transform(Number);

export const envSchema = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  /** Local stack only: route the Neon driver's WebSocket through our TCP bridge. */
  NEON_WS_PROXY: z
    .string()
    .optional()
    .transform((proxy) => proxy || undefined),
  UPSTASH_REDIS_REST_URL: z.url({ protocol: /^https?$/ }),
  UPSTASH_REDIS_REST_TOKEN: z.string().min(1),
  ADMIN_TOKEN: z.string().min(16, "must be at least 16 characters"),
  /** Region for numbers written without a country code. */
  DEFAULT_REGION: z
    .string()
    .default("US")
    .refine(isSupportedCountry, "must be an ISO 3166-1 alpha-2 code libphonenumber knows")
    .transform((region) => region as CountryCode),
  SANDBOX_RECEIPT_DELAY_MS: intFromString(1000),
  DISPATCH_MAX_ATTEMPTS: intFromString(5),
  SCHEDULER_BATCH_SIZE: intFromString(25),
  PROVIDER_TIMEOUT_MS: intFromString(10_000),
});

export type Config = z.infer<typeof envSchema>;

/** What Cloudflare hands the Worker: strings for vars and secrets. */
export type Env = Record<keyof z.input<typeof envSchema>, string | undefined>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

let cached: { raw: Env; config: Config } | undefined;

export function loadConfig(env: Env): Config {
  if (cached?.raw === env) return cached.config;
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`Invalid Worker configuration: ${problems.join("; ")}`);
  }
  cached = { raw: env, config: parsed.data };
  return parsed.data;
}
