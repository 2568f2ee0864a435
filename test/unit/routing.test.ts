import { describe, expect, it } from "vitest";
import { z } from "zod";
import { DEFAULT_PROVIDER_PRICES, type ProviderPriceTable } from "../../src/domain/provider-prices";
import { PROVIDER_NAMES, type ProviderName } from "../../src/domain/providers";
import {
  DEFAULT_ROUTING_POLICY,
  type RouteInput,
  type RoutingPolicy,
  route,
  routingPolicySchema,
} from "../../src/domain/routing";
import type { RegisteredSender } from "../../src/domain/senders";

const PRICES: ProviderPriceTable = {
  twilio: {
    US: { default: 8_000, promotional: 5_000 },
    GB: { default: 50_000 },
    DE: { default: 90_000 },
    KE: { default: 100_000 },
    NG: { default: 150_000 },
  },
  "aws-sns": {
    US: { default: 6_000 },
    GB: { default: 40_000 },
    DE: { default: 90_000 },
    KE: { default: 90_000 },
    NG: { default: 200_000 },
  },
  "aws-sms-voice": {
    US: { default: 6_000 },
    GB: { default: 45_000 },
    DE: { default: 90_000 },
    KE: { default: 90_000 },
  },
  africastalking: { KE: { default: 6_000 }, NG: { default: 5_000 } },
};

// Written as the JSON document an operator would configure, then validated.
const POLICY: RoutingPolicy = routingPolicySchema.parse(
  JSON.parse(`{
    "rules": [
      { "name": "otp-reliable", "match": { "type": ["otp"] },
        "providers": ["twilio", "aws-sms-voice"], "strategy": "ordered" },
      { "name": "kenya-local", "match": { "prefix": ["+254"] },
        "providers": ["africastalking"], "strategy": "ordered" },
      { "name": "gb-aws-twilio-only", "match": { "country": ["GB"] },
        "providers": ["twilio", "aws-sns"], "strategy": "cheapest", "then": "none" },
      { "name": "africa-cheapest", "match": { "country": ["NG", "UG", "TZ"] }, "strategy": "cheapest" }
    ],
    "fallback": "cheapest"
  }`),
);

const SENDERS = {
  twilioPhone: {
    id: "s-twilio-phone",
    provider: "twilio",
    kind: "phone",
    value: "+14155550100",
    countries: [],
  },
  twilioAlpha: {
    id: "s-twilio-alpha",
    provider: "twilio",
    kind: "alphanumeric",
    value: "ACME",
    countries: [],
  },
  snsAlpha: {
    id: "s-sns-alpha",
    provider: "aws-sns",
    kind: "alphanumeric",
    value: "ACME",
    countries: [],
  },
  eumPhoneUs: {
    id: "s-eum-phone",
    provider: "aws-sms-voice",
    kind: "phone",
    value: "+14155550111",
    countries: ["US"],
  },
  atAlpha: {
    id: "s-at-alpha",
    provider: "africastalking",
    kind: "alphanumeric",
    value: "ACME",
    countries: [],
  },
} satisfies Record<string, RegisteredSender>;

const US = { to: "+14155552671", country: "US" } as const;
const KE = { to: "+254712345678", country: "KE" } as const;
const NG = { to: "+2348031234567", country: "NG" } as const;
const GB = { to: "+447700900123", country: "GB" } as const;
const DE = { to: "+4915123456789", country: "DE" } as const;

const base: RouteInput = {
  ...US,
  type: "transactional",
  segments: 1,
  policy: POLICY,
  prices: PRICES,
  available: [...PROVIDER_NAMES],
  health: {},
  senders: Object.values(SENDERS),
};

interface Case {
  input: Partial<RouteInput>;
  rule: string;
  chain: ProviderName[];
  /** Sender id per chain step; null = account default. */
  senders?: (string | null)[];
  /** A fragment of the reason each listed provider was skipped with. */
  skipped?: Partial<Record<ProviderName, string>>;
  /** A fragment of the reason of each listed chain step. */
  reasons?: Partial<Record<ProviderName, string>>;
}

const cases: Record<string, Case> = {
  "no rule matches: cheapest first, ties by the fixed provider order": {
    input: { ...DE, defaultSenderProviders: ["aws-sms-voice"] },
    rule: "fallback",
    chain: ["twilio", "aws-sns", "aws-sms-voice"],
    senders: ["s-twilio-alpha", "s-sns-alpha", null],
    reasons: { twilio: "no rule matched: cheapest first" },
  },
  "otp rule: its providers in order, the rest by price after": {
    input: { ...KE, type: "otp" },
    rule: "otp-reliable",
    chain: ["twilio", "africastalking", "aws-sns"],
    skipped: { "aws-sms-voice": "registered for US only" },
    reasons: { twilio: 'rule "otp-reliable" lists it 1 of 2', africastalking: "failover" },
  },
  "otp rule in the US: type matched before price": {
    input: { type: "otp" },
    rule: "otp-reliable",
    chain: ["twilio", "aws-sms-voice"],
    senders: ["s-twilio-phone", "s-eum-phone"],
  },
  "prefix rule: local provider first, then failover by price": {
    input: KE,
    rule: "kenya-local",
    chain: ["africastalking", "aws-sns", "twilio"],
    senders: ["s-at-alpha", "s-sns-alpha", "s-twilio-alpha"],
  },
  "country rule, cheapest over all providers": {
    input: { ...NG, type: "promotional" },
    rule: "africa-cheapest",
    chain: ["africastalking", "twilio", "aws-sns"],
    skipped: { "aws-sms-voice": "no price for NG" },
    reasons: { africastalking: "0.0050 USD per segment" },
  },
  "then none: the chain ends with the rule's providers": {
    input: GB,
    rule: "gb-aws-twilio-only",
    chain: ["aws-sns", "twilio"],
    skipped: { "aws-sms-voice": "then: none", africastalking: "then: none" },
  },
  "a type price overrides the default in the ordering": {
    input: { type: "promotional", senders: [], defaultSenderProviders: [...PROVIDER_NAMES] },
    rule: "fallback",
    chain: ["twilio", "aws-sns", "aws-sms-voice"],
  },
  "alphanumeric sender in the US: skipped": {
    input: {},
    rule: "fallback",
    chain: ["aws-sms-voice", "twilio"],
    senders: ["s-eum-phone", "s-twilio-phone"],
    skipped: { "aws-sns": "cannot be used in US", africastalking: "no price for US" },
  },
  "alphanumeric sender in Kenya: used": {
    input: { ...KE, pin: "aws-sns" },
    rule: "pin",
    chain: ["aws-sns"],
    senders: ["s-sns-alpha"],
  },
  "open circuit: skipped": {
    input: { health: { "aws-sms-voice": "open" } },
    rule: "fallback",
    chain: ["twilio"],
    skipped: { "aws-sms-voice": "circuit open" },
  },
  "half-open circuit: after the closed ones, as a probe": {
    input: { health: { "aws-sms-voice": "half_open", twilio: "closed" } },
    rule: "fallback",
    chain: ["twilio", "aws-sms-voice"],
    reasons: { "aws-sms-voice": "half-open", twilio: "no rule matched" },
  },
  "pin, usable: only that provider": {
    input: { ...KE, pin: "twilio" },
    rule: "pin",
    chain: ["twilio"],
    skipped: { africastalking: "the request pins twilio" },
    reasons: { twilio: "the request pins it" },
  },
  "pin, no price for the country: empty chain": {
    input: { pin: "africastalking" },
    rule: "pin",
    chain: [],
    skipped: { africastalking: "no price for US" },
  },
  "pin, circuit open: empty chain": {
    input: { pin: "twilio", health: { twilio: "open" } },
    rule: "pin",
    chain: [],
    skipped: { twilio: "circuit open" },
  },
  "no credentials: skipped": {
    input: { available: ["twilio", "aws-sns"] },
    rule: "fallback",
    chain: ["twilio"],
    skipped: { "aws-sms-voice": "no usable credentials" },
  },
  "credentials missing is reported before the missing price": {
    input: { available: [] },
    rule: "fallback",
    chain: [],
    skipped: { africastalking: "no usable credentials" },
  },
  "no senders at all: everything skipped": {
    input: { senders: [] },
    rule: "fallback",
    chain: [],
    skipped: { twilio: "no sender registered and no account default sender" },
  },
  "account default sender where nothing is registered": {
    input: { senders: [], defaultSenderProviders: ["twilio"] },
    rule: "fallback",
    chain: ["twilio"],
    senders: [null],
    reasons: { twilio: "account default sender" },
  },
  "a registered sender wins over the account default": {
    input: { defaultSenderProviders: ["twilio"] },
    rule: "fallback",
    chain: ["aws-sms-voice", "twilio"],
    senders: ["s-eum-phone", "s-twilio-phone"],
  },
  "from: only the provider it is registered with, formatting ignored": {
    input: { from: "+1 (415) 555-0100" },
    rule: "fallback",
    chain: ["twilio"],
    senders: ["s-twilio-phone"],
    skipped: { "aws-sms-voice": "requested sender +1 (415) 555-0100 is not registered" },
  },
  "from: every provider it is registered with": {
    input: { ...KE, from: "ACME" },
    rule: "kenya-local",
    chain: ["africastalking", "aws-sns", "twilio"],
    senders: ["s-at-alpha", "s-sns-alpha", "s-twilio-alpha"],
    skipped: { "aws-sms-voice": "not registered with aws-sms-voice" },
  },
  "from: an alphanumeric sender cannot reach the US, and no default stands in": {
    input: { from: "ACME", defaultSenderProviders: [...PROVIDER_NAMES] },
    rule: "fallback",
    chain: [],
    skipped: { twilio: "cannot be used in US", "aws-sns": "cannot be used in US" },
  },
  "no provider can deliver to the country: empty chain": {
    input: { to: "+81312345678", country: "JP", defaultSenderProviders: [...PROVIDER_NAMES] },
    rule: "fallback",
    chain: [],
    skipped: { twilio: "no price for JP", africastalking: "no price for JP" },
  },
};

describe("route", () => {
  it.each(Object.entries(cases))("%s", (_name, expected) => {
    const decision = route({ ...base, ...expected.input });
    expect(decision.rule).toBe(expected.rule);
    expect(decision.chain.map((step) => step.provider)).toEqual(expected.chain);
    if (expected.senders) {
      expect(decision.chain.map((step) => step.sender?.id ?? null)).toEqual(expected.senders);
    }
    const skipped = Object.fromEntries(decision.skipped.map((s) => [s.provider, s.reason]));
    for (const [provider, fragment] of Object.entries(expected.skipped ?? {})) {
      expect(skipped[provider], provider).toContain(fragment);
    }
    const reasons = Object.fromEntries(decision.chain.map((step) => [step.provider, step.reason]));
    for (const [provider, fragment] of Object.entries(expected.reasons ?? {})) {
      expect(reasons[provider], provider).toContain(fragment);
    }
    // Every provider is accounted for exactly once: in the chain or skipped, with a reason.
    const seen = [...decision.chain, ...decision.skipped].map((entry) => entry.provider);
    expect([...seen].sort()).toEqual([...PROVIDER_NAMES].sort());
  });

  it("estimates the cost as price × segments", () => {
    const decision = route({ ...base, ...NG, segments: 3 });
    expect(decision.chain.map((step) => step.estimatedCostMicros)).toEqual([
      15_000, 450_000, 600_000,
    ]);
  });

  it("does not depend on the order of its lists", () => {
    const forward = route({ ...base, ...KE });
    const reversed = route({
      ...base,
      ...KE,
      available: [...PROVIDER_NAMES].reverse(),
      senders: Object.values(SENDERS).reverse(),
    });
    expect(reversed).toEqual(forward);
  });

  it("routes with the shipped policy and prices", () => {
    const shipped = {
      ...base,
      policy: DEFAULT_ROUTING_POLICY,
      prices: DEFAULT_PROVIDER_PRICES,
      senders: [],
      defaultSenderProviders: [...PROVIDER_NAMES],
    };
    const order = (input: Partial<RouteInput>) =>
      route({ ...shipped, ...input }).chain.map((step) => step.provider);
    expect(order({ type: "otp" })).toEqual(["twilio", "aws-sms-voice", "aws-sns"]);
    expect(order(KE)).toEqual(["africastalking", "aws-sns", "aws-sms-voice", "twilio"]);
    expect(order(DE)).toEqual(["aws-sns", "aws-sms-voice", "twilio"]);
  });
});

describe("routingPolicySchema", () => {
  it("accepts the shipped policy", () => {
    expect(routingPolicySchema.parse(DEFAULT_ROUTING_POLICY)).toEqual(DEFAULT_ROUTING_POLICY);
  });

  it("sends Africa's Talking first exactly where it has shipped prices", () => {
    const local = DEFAULT_ROUTING_POLICY.rules.find(
      (rule) => rule.providers?.[0] === "africastalking",
    );
    expect([...(local?.match.country ?? [])].sort()).toEqual(
      Object.keys(DEFAULT_PROVIDER_PRICES.africastalking ?? {}).sort(),
    );
  });

  const rule = { name: "r", match: { type: ["otp"] }, providers: ["twilio"], strategy: "ordered" };
  const withRule = (changes: Record<string, unknown>) => ({
    rules: [{ ...rule, ...changes }],
    fallback: "cheapest",
  });

  it.each([
    ["unknown provider", withRule({ providers: ["twillio"] }), 'expected one of "twilio"'],
    ["unknown strategy", withRule({ strategy: "random" }), 'expected one of "ordered"|"cheapest"'],
    ["empty match", withRule({ match: {} }), "a match needs at least one of type, country, prefix"],
    ["empty list in a match", withRule({ match: { country: [] } }), "rules[0].match.country"],
    ["unknown country", withRule({ match: { country: ["XX"] } }), '"XX" is not an ISO 3166-1'],
    ["prefix without +", withRule({ match: { prefix: ["254"] } }), "a prefix is + followed by"],
    [
      "unknown message type",
      withRule({ match: { type: ["marketing"] } }),
      "rules[0].match.type[0]",
    ],
    ["misspelt field", withRule({ stratgy: "ordered" }), 'Unrecognized key: "stratgy"'],
    ["ordered without providers", withRule({ providers: undefined }), "an ordered rule needs"],
    ["provider listed twice", withRule({ providers: ["twilio", "twilio"] }), "twice"],
    // biome-ignore lint/suspicious/noThenProperty: the policy document's field name
    ["unknown then", withRule({ then: "random" }), 'expected one of "cheapest"|"none"'],
    ["reserved rule name", withRule({ name: "pin" }), "rules[0].name"],
    ["duplicate rule names", { rules: [rule, rule], fallback: "cheapest" }, "unique"],
    ["unknown fallback", { rules: [], fallback: "ordered" }, "fallback"],
  ])("refuses %s", (_case, document, message) => {
    const result = routingPolicySchema.safeParse(document);
    expect(result.success).toBe(false);
    expect(z.prettifyError(result.error ?? new z.ZodError([]))).toContain(message);
  });

  it("accepts a cheapest rule without providers and a then: none tail", () => {
    // biome-ignore lint/suspicious/noThenProperty: the policy document's field name
    const document = withRule({ providers: undefined, strategy: "cheapest", then: "none" });
    expect(routingPolicySchema.safeParse(document).success).toBe(true);
  });
});
