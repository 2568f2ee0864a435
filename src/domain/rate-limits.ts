import { z } from "zod";
import { DEFAULT_PUMPING_POLICY, type PumpingPolicy } from "./destination-policy";
import type { MessageType } from "./providers";

/**
 * Which rate limits a send is subject to, as data: per API key by tier, per destination
 * number (stricter for OTP), per tenant and destination country, per message type, per end
 * user (the caller's own user, by IP and by id). The service (src/services/rate-limits.ts)
 * checks them all in one Upstash round trip.
 */

export const TIERS = ["free", "pro", "enterprise"] as const;
export type Tier = (typeof TIERS)[number];

/** Requests allowed per sliding window; an absent window has no limit. */
export interface Quota {
  perMinute?: number | undefined;
  perHour?: number | undefined;
  perDay?: number | undefined;
}

export interface RateLimitPolicy {
  tiers: Record<Tier, Quota>;
  /** The tier of a tenant that has none set. */
  defaultTier: Tier;
  perDestination: Quota;
  /** OTP sends to one number: stricter than other types (a pumped OTP costs real money). */
  otpPerDestination: Quota;
  perCountry: Quota;
  perType: Partial<Record<MessageType, Quota>>;
  perEndUser: Quota;
  /** The SMS-pumping defence's thresholds (src/services/send-policy.ts). */
  pumping: PumpingPolicy;
}

export const DEFAULT_RATE_LIMITS: RateLimitPolicy = {
  tiers: {
    free: { perMinute: 5, perHour: 50, perDay: 200 },
    pro: { perMinute: 20, perHour: 500, perDay: 5_000 },
    enterprise: { perMinute: 100, perHour: 10_000, perDay: 100_000 },
  },
  defaultTier: "free",
  perDestination: { perHour: 5 },
  otpPerDestination: { perHour: 5, perDay: 10 },
  perCountry: { perHour: 1_000 },
  perType: { promotional: { perHour: 1_000 } },
  perEndUser: { perHour: 10, perDay: 50 },
  pumping: DEFAULT_PUMPING_POLICY,
};

const count = z.number().int().min(1).max(100_000_000);
const quotaSchema = z.strictObject({
  perMinute: count.optional(),
  perHour: count.optional(),
  perDay: count.optional(),
});
const typeQuotas = z.strictObject({
  transactional: quotaSchema.optional(),
  promotional: quotaSchema.optional(),
  otp: quotaSchema.optional(),
});

const pumpingSchema = z.strictObject({
  maxPerBucket: count.optional(),
  windowSeconds: z.number().int().min(10).max(86_400).optional(),
  blockSeconds: z
    .number()
    .int()
    .min(10)
    .max(7 * 86_400)
    .optional(),
});

/** The quotas both the deployment's document and a tenant's may set. */
const perLimitOverrides = {
  perDestination: quotaSchema.optional(),
  otpPerDestination: quotaSchema.optional(),
  perCountry: quotaSchema.optional(),
  perType: typeQuotas.optional(),
  perEndUser: quotaSchema.optional(),
  pumping: pumpingSchema.optional(),
};

/** A policy document over the shipped one (QUIET_HOURS_POLICY's pattern): fields it has win. */
export const rateLimitPolicySchema = z.strictObject({
  tiers: z
    .strictObject({
      free: quotaSchema.optional(),
      pro: quotaSchema.optional(),
      enterprise: quotaSchema.optional(),
    })
    .optional(),
  defaultTier: z.enum(TIERS).optional(),
  ...perLimitOverrides,
});
export type RateLimitPolicyDocument = z.infer<typeof rateLimitPolicySchema>;

/** A tenant's tier and overrides (admin API): `key` replaces its tier's quota. */
export const tenantRateLimitsSchema = z.strictObject({
  tier: z.enum(TIERS).optional(),
  key: quotaSchema.optional(),
  ...perLimitOverrides,
});
export type TenantRateLimits = z.infer<typeof tenantRateLimitsSchema>;

/** The deployment's document over the shipped defaults. */
export function deploymentRateLimits(doc: RateLimitPolicyDocument | undefined): RateLimitPolicy {
  if (!doc) return DEFAULT_RATE_LIMITS;
  const d = DEFAULT_RATE_LIMITS;
  return {
    tiers: {
      free: doc.tiers?.free ?? d.tiers.free,
      pro: doc.tiers?.pro ?? d.tiers.pro,
      enterprise: doc.tiers?.enterprise ?? d.tiers.enterprise,
    },
    defaultTier: doc.defaultTier ?? d.defaultTier,
    perDestination: doc.perDestination ?? d.perDestination,
    otpPerDestination: doc.otpPerDestination ?? d.otpPerDestination,
    perCountry: doc.perCountry ?? d.perCountry,
    perType: { ...d.perType, ...doc.perType },
    perEndUser: doc.perEndUser ?? d.perEndUser,
    pumping: { ...d.pumping, ...stripUndefined(doc.pumping) },
  };
}

/** The pumping thresholds for a tenant: its overrides over the deployment's. */
export function pumpingPolicyFor(
  policy: RateLimitPolicy,
  tenant: TenantRateLimits | null | undefined,
): PumpingPolicy {
  return { ...policy.pumping, ...stripUndefined(tenant?.pumping) };
}

function stripUndefined<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(
    Object.entries(value ?? {}).filter(([, v]) => v !== undefined),
  ) as Partial<T>;
}

export interface SendIdentity {
  keyId: string;
  tenantId: string;
  /** The destination's digest (never the number: Redis keys hold no personal data). */
  destination: string;
  country: string;
  type: MessageType;
  endUserIp?: string | undefined;
  endUserId?: string | undefined;
}

/** One limit to check: a name for the 429, the counter's identity, and its window. */
export interface LimitCheck {
  name: string;
  identifier: string;
  tokens: number;
  window: "1 m" | "1 h" | "1 d";
}

const WINDOWS = [
  ["perMinute", "1 m", "per minute"],
  ["perHour", "1 h", "per hour"],
  ["perDay", "1 d", "per day"],
] as const;

function checks(what: string, identifier: string, quota: Quota | undefined): LimitCheck[] {
  if (!quota) return [];
  return WINDOWS.flatMap(([field, window, label]) => {
    const tokens = quota[field];
    return tokens === undefined
      ? []
      : [{ name: `${what} ${label}`, identifier: `${identifier}:${window}`, tokens, window }];
  });
}

/** Every limit one send is subject to, with the tenant's tier and overrides applied. */
export function limitsFor(
  policy: RateLimitPolicy,
  tenant: TenantRateLimits | null | undefined,
  send: SendIdentity,
): LimitCheck[] {
  const tier = tenant?.tier ?? policy.defaultTier;
  const t = send.tenantId;
  const destination =
    send.type === "otp"
      ? (tenant?.otpPerDestination ?? policy.otpPerDestination)
      : (tenant?.perDestination ?? policy.perDestination);
  const endUser = tenant?.perEndUser ?? policy.perEndUser;
  return [
    ...checks("API key", `key:${send.keyId}`, tenant?.key ?? policy.tiers[tier]),
    ...checks(
      send.type === "otp" ? "OTPs to one number" : "messages to one number",
      `dest:${t}:${send.type === "otp" ? "otp:" : ""}${send.destination}`,
      destination,
    ),
    ...checks(
      `messages to ${send.country}`,
      `country:${t}:${send.country}`,
      tenant?.perCountry ?? policy.perCountry,
    ),
    ...checks(
      `${send.type} messages`,
      `type:${t}:${send.type}`,
      tenant?.perType?.[send.type] ?? policy.perType[send.type],
    ),
    ...(send.endUserIp ? checks("end user IP", `ip:${t}:${send.endUserIp}`, endUser) : []),
    ...(send.endUserId ? checks("end user", `user:${t}:${send.endUserId}`, endUser) : []),
  ];
}
