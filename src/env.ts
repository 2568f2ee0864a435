import { type CountryCode, isSupportedCountry } from "libphonenumber-js/max";
import { z } from "zod";
import { budgetDocumentSchema } from "./domain/budgets";
import { contentPolicySchema } from "./domain/content-rules";
import { providerPriceTableSchema } from "./domain/provider-prices";
import { quietHoursPolicySchema } from "./domain/quiet-hours";
import { rateLimitPolicySchema } from "./domain/rate-limits";
import { routingPolicySchema } from "./domain/routing";
import { sendRatesSchema } from "./domain/send-rates";
import { AES_KEY_BYTES, HMAC_KEY_BYTES, parseKeyringText } from "./lib/pii";
import type { DispatchJob, DispatchQueues } from "./services/dispatch-queue";

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

/** Unset and empty are the same: `wrangler.toml` and .dev.vars cannot express "unset". */
const optionalString = z
  .string()
  .optional()
  .transform((value) => value || undefined);

const jsonDocument = optionalString.transform((text, ctx) => {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    ctx.addIssue({ code: "custom", message: "must be a JSON document" });
    return z.NEVER;
  }
});

/** A keyring secret (see src/lib/pii.ts): `id:base64key[,id:base64key…]`, current key first. */
const keyring = (bytes: { min: number; max: number }) =>
  z.string({ error: 'is required (see README "Configuration")' }).superRefine((text, ctx) => {
    try {
      parseKeyringText(text, bytes);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
    }
  });

export const envSchema = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  /** Local stack only: route the Neon driver's WebSocket through our TCP bridge. */
  NEON_WS_PROXY: optionalString,
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
  /** A non-OTP message whose send outcome is unknown waits this long for a receipt, then fails. */
  OUTCOME_UNKNOWN_DEADLINE_S: intFromString(3600),
  /**
   * Message types for which an undelivered/failed receipt triggers one re-send
   * through the next provider of the route (comma-separated; empty: never).
   */
  RESEND_ON_FAILURE_TYPES: z.string().default("otp"),
  /** This gateway's public URL, for provider callbacks (Twilio StatusCallback). */
  PUBLIC_BASE_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
  /** Seals phone numbers, bodies and payloads at rest: AES-256 keys, current first. */
  PII_ENCRYPTION_KEYS: keyring(AES_KEY_BYTES),
  /** Keys of the phone-number digests used for lookups (opt-outs, filters), current first. */
  PII_HMAC_KEYS: keyring(HMAC_KEY_BYTES),
  /** Days a message body is kept after the message's final state (inbound: after receipt). */
  BODY_RETENTION_DAYS: intFromString(30),
  /** End User Messaging opt-out list that opt-outs are pushed to (when that provider is set up). */
  AWS_SMS_OPT_OUT_LIST: z.string().default("Default"),
  /** AES-256-GCM key (32 bytes, base64) for tenants' own provider credentials. */
  ENCRYPTION_KEY: optionalString,
  /** JSON quiet-hours policy (see README "Compliance"); the shipped default otherwise. */
  QUIET_HOURS_POLICY: jsonDocument.pipe(quietHoursPolicySchema.optional()),
  /** JSON spend caps, `{"daily": "100.00", "monthly": "2000.00"}` USD (see README "Budgets"). */
  BUDGET_POLICY: jsonDocument.pipe(budgetDocumentSchema.optional()),
  /** JSON send rates in message parts per second, per sender and provider (README "Bulk"). */
  SEND_RATE_POLICY: jsonDocument.pipe(sendRatesSchema.optional()),
  /** JSON content policy over the shipped one (see README "Content rules"). */
  CONTENT_POLICY: jsonDocument.pipe(contentPolicySchema.optional()),
  /** JSON rate-limit policy over the shipped defaults (see README "Rate limits"). */
  RATE_LIMIT_POLICY: jsonDocument.pipe(rateLimitPolicySchema.optional()),
  /** Comma-separated destination countries tenants may send to (default: a conservative list). */
  ALLOWED_COUNTRIES: optionalString.transform((text) =>
    text ? text.split(",").map((c) => c.trim().toUpperCase()) : undefined,
  ),
  /** JSON routing policy (see README "Routing"); the shipped default otherwise. */
  ROUTING_POLICY: jsonDocument.pipe(routingPolicySchema.optional()),
  /** JSON override of the per-provider price table. */
  PROVIDER_PRICES: jsonDocument.pipe(providerPriceTableSchema.optional()),
  /** Comma-separated providers to switch off even though credentials are present. */
  PROVIDERS_DISABLED: optionalString,

  TWILIO_ACCOUNT_SID: optionalString,
  TWILIO_AUTH_TOKEN: optionalString,
  TWILIO_API_KEY_SID: optionalString,
  TWILIO_API_KEY_SECRET: optionalString,
  TWILIO_MESSAGING_SERVICE_SID: optionalString,
  TWILIO_BASE_URL: optionalString.pipe(z.url().optional()),

  AWS_ACCESS_KEY_ID: optionalString,
  AWS_SECRET_ACCESS_KEY: optionalString,
  AWS_SESSION_TOKEN: optionalString,
  AWS_REGION: z.string().default("us-east-1"),
  AWS_SNS_BASE_URL: optionalString.pipe(z.url().optional()),
  AWS_SNS_DEFAULT_SENDER_ID: optionalString,
  AWS_SMS_VOICE_BASE_URL: optionalString.pipe(z.url().optional()),
  AWS_SMS_CONFIGURATION_SET: optionalString,

  AFRICASTALKING_USERNAME: optionalString,
  AFRICASTALKING_API_KEY: optionalString,
  AFRICASTALKING_BASE_URL: optionalString.pipe(z.url().optional()),
  /** Comma-separated SNS topic ARNs whose messages (receipts, inbound SMS) are accepted. */
  AWS_SNS_TOPIC_ARNS: optionalString,
  /** Secret in Africa's Talking callback URLs (`?token=`): Africa's Talking signs nothing. */
  AFRICASTALKING_WEBHOOK_TOKEN: optionalString,
  /**
   * Tests and local development only: a regex for the SNS certificate host, and
   * whether http certificate URLs are allowed (the real ones are https on sns.*.amazonaws.com).
   */
  SNS_CERT_HOST_PATTERN: optionalString,
  SNS_ALLOW_HTTP_CERT_URL: optionalString,
  /** JSON map of currency → USD per unit, to convert local-currency prices (Africa's Talking). */
  FX_USD_RATES: jsonDocument.pipe(
    z.record(z.string().regex(/^[A-Z]{3}$/), z.string().regex(/^\d+(\.\d{1,6})?$/)).optional(),
  ),
  /** DNS-over-HTTPS (JSON API) resolver that vets customer webhook hosts (SSRF guard). */
  WEBHOOK_DOH_URL: optionalString.pipe(
    z.url({ protocol: /^https?$/ }).default("https://cloudflare-dns.com/dns-query"),
  ),
  /** Tests and local development ONLY, never production: `host:port` webhook targets let through unchecked. */
  WEBHOOK_ALLOWED_HOSTS: optionalString
    .transform((text) =>
      (text ?? "")
        .split(",")
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
    )
    .pipe(
      z.array(
        z.string().regex(/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+):\d{1,5}$/, "must be host:port pairs"),
      ),
    ),
});

export type Config = z.infer<typeof envSchema>;

/** What Cloudflare hands the Worker: strings for vars and secrets, and the queue bindings. */
export type Env = Record<keyof z.input<typeof envSchema>, string | undefined> & {
  DISPATCH_QUEUE?: Queue<DispatchJob>;
  PRIORITY_QUEUE?: Queue<DispatchJob>;
};

/** Both queues, or none: a deployment without Queues dispatches inline and by the scheduler. */
export function queuesOf(env: Env): DispatchQueues | null {
  return env.DISPATCH_QUEUE && env.PRIORITY_QUEUE
    ? { bulk: env.DISPATCH_QUEUE, priority: env.PRIORITY_QUEUE }
    : null;
}

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
