import { describe, expect, it } from "vitest";
import {
  DEFAULT_RATE_LIMITS,
  deploymentRateLimits,
  limitsFor,
  rateLimitPolicySchema,
  type SendIdentity,
} from "../../src/domain/rate-limits";

const send: SendIdentity = {
  keyId: "key_1",
  tenantId: "ten_1",
  destination: "h1:abc",
  country: "US",
  type: "transactional",
};

const summary = (checks: ReturnType<typeof limitsFor>) =>
  checks.map((c) => [c.name, c.tokens, c.window]);

describe("the limits of a send", () => {
  it("ships the documented defaults", () => {
    expect(DEFAULT_RATE_LIMITS.tiers).toEqual({
      free: { perMinute: 5, perHour: 50, perDay: 200 },
      pro: { perMinute: 20, perHour: 500, perDay: 5_000 },
      enterprise: { perMinute: 100, perHour: 10_000, perDay: 100_000 },
    });
    expect(DEFAULT_RATE_LIMITS.perDestination).toEqual({ perHour: 5 });
    expect(DEFAULT_RATE_LIMITS.otpPerDestination).toEqual({ perHour: 5, perDay: 10 });
  });

  it("a free tenant's transactional send: key by tier, number, country", () => {
    expect(summary(limitsFor(DEFAULT_RATE_LIMITS, null, send))).toEqual([
      ["API key per minute", 5, "1 m"],
      ["API key per hour", 50, "1 h"],
      ["API key per day", 200, "1 d"],
      ["messages to one number per hour", 5, "1 h"],
      ["messages to US per hour", 1_000, "1 h"],
    ]);
  });

  it("OTPs, promotional messages and end users get their own counters", () => {
    const otp = limitsFor(DEFAULT_RATE_LIMITS, { tier: "pro" }, { ...send, type: "otp" });
    expect(summary(otp).slice(3, 5)).toEqual([
      ["OTPs to one number per hour", 5, "1 h"],
      ["OTPs to one number per day", 10, "1 d"],
    ]);
    expect(otp[3]?.identifier).toBe("dest:ten_1:otp:h1:abc:1 h");
    const promo = limitsFor(DEFAULT_RATE_LIMITS, null, {
      ...send,
      type: "promotional",
      endUserIp: "h1:ip",
      endUserId: "h1:user",
    });
    expect(summary(promo).slice(5)).toEqual([
      ["promotional messages per hour", 1_000, "1 h"],
      ["end user IP per hour", 10, "1 h"],
      ["end user IP per day", 50, "1 d"],
      ["end user per hour", 10, "1 h"],
      ["end user per day", 50, "1 d"],
    ]);
  });

  it("a tenant's overrides replace the deployment's quota for that limit", () => {
    const checks = limitsFor(
      DEFAULT_RATE_LIMITS,
      { key: { perMinute: 1 }, perDestination: { perDay: 3 } },
      send,
    );
    expect(summary(checks)).toEqual([
      ["API key per minute", 1, "1 m"],
      ["messages to one number per day", 3, "1 d"],
      ["messages to US per hour", 1_000, "1 h"],
    ]);
  });

  it("a deployment document overrides the shipped defaults field by field", () => {
    const doc = rateLimitPolicySchema.parse({
      defaultTier: "pro",
      perType: { otp: { perHour: 3 } },
    });
    const policy = deploymentRateLimits(doc);
    expect(policy.defaultTier).toBe("pro");
    expect(policy.perType).toEqual({ promotional: { perHour: 1_000 }, otp: { perHour: 3 } });
    expect(policy.perDestination).toEqual(DEFAULT_RATE_LIMITS.perDestination);
    expect(() => rateLimitPolicySchema.parse({ perDestination: { perHour: 0 } })).toThrow();
  });
});
