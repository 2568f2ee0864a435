/**
 * Which providers a message goes to, in which order. The policy is data (a validated document)
 * and `route` is a pure function of it and of everything else it needs: prices, credentials,
 * circuit breakers and the tenant's senders. Every provider ends up either in the chain or in
 * `skipped`, each with a sentence saying why, so a decision explains itself.
 */
import type { CountryCode } from "libphonenumber-js/max";
import { z } from "zod";
import { formatMoney } from "./pricing";
import {
  countryCodeSchema,
  MESSAGE_TYPES,
  type ProviderPriceTable,
  priceFor,
} from "./provider-prices";
import { type MessageType, PROVIDER_NAMES, type ProviderName } from "./providers";
import { isSender, pickSender, type RegisteredSender, senderUnfitReason } from "./senders";

// Names route() itself reports in `RouteDecision.rule`; a rule may not take them.
const RESERVED_RULE_NAMES = ["fallback", "pin"];

const distinct = (values: readonly unknown[]) => new Set(values).size === values.length;

const matchSchema = z
  .strictObject({
    type: z.array(z.enum(MESSAGE_TYPES)).min(1).optional(),
    country: z.array(countryCodeSchema).min(1).optional(),
    prefix: z
      .array(z.string().regex(/^\+[1-9]\d{0,14}$/, "a prefix is + followed by up to 15 digits"))
      .min(1)
      .optional(),
  })
  .refine(
    (match) =>
      match.type !== undefined || match.country !== undefined || match.prefix !== undefined,
    "a match needs at least one of type, country, prefix (no rule matches everything: that is the fallback)",
  );

const ruleSchema = z
  .strictObject({
    name: z
      .string()
      .min(1)
      .refine((name) => !RESERVED_RULE_NAMES.includes(name), `"fallback" and "pin" are reserved`),
    match: matchSchema,
    providers: z
      .array(z.enum(PROVIDER_NAMES))
      .min(1)
      .refine(distinct, "lists a provider twice")
      .optional(),
    strategy: z.enum(["ordered", "cheapest"]),
    /** What follows the rule's providers: the others by price (the default), or nothing. */
    // biome-ignore lint/suspicious/noThenProperty: the documented field name; a string, never awaited
    then: z.enum(["cheapest", "none"]).optional(),
  })
  .refine((rule) => rule.strategy !== "ordered" || rule.providers !== undefined, {
    message: "an ordered rule needs its providers",
    path: ["providers"],
  });

export const routingPolicySchema = z.strictObject({
  /** Tried in order; the first that matches decides. */
  rules: z
    .array(ruleSchema)
    .refine((rules) => distinct(rules.map((rule) => rule.name)), "rule names must be unique"),
  /** When no rule matches: every provider, cheapest first. */
  fallback: z.literal("cheapest"),
});

export type RoutingPolicy = z.output<typeof routingPolicySchema>;
export type RoutingRule = RoutingPolicy["rules"][number];

/**
 * Codes are the one message type where a late or lost message is a failed login, so OTP goes
 * to Twilio then End User Messaging, the providers we trust most for it, before cost counts.
 * Where Africa's Talking runs its own service (the countries it has prices for), its local
 * routes are far cheaper and usually deliver better than international ones. Anything else:
 * cheapest first. Both rules fail over to the remaining providers by price.
 */
export const DEFAULT_ROUTING_POLICY: RoutingPolicy = {
  rules: [
    {
      name: "otp-reliable",
      match: { type: ["otp"] },
      providers: ["twilio", "aws-sms-voice"],
      strategy: "ordered",
    },
    {
      name: "africastalking-local",
      match: { country: ["KE", "UG", "TZ", "NG", "RW", "MW", "ZM"] },
      providers: ["africastalking"],
      strategy: "ordered",
    },
  ],
  fallback: "cheapest",
};

export type CircuitState = "closed" | "open" | "half_open";

export interface RouteInput {
  /** E.164. */
  to: string;
  country: CountryCode;
  type: MessageType;
  segments: number;
  policy: RoutingPolicy;
  prices: ProviderPriceTable;
  /** Providers with usable credentials. */
  available: ProviderName[];
  /** Circuit breakers; a provider missing here is closed. */
  health: Partial<Record<ProviderName, CircuitState>>;
  senders: RegisteredSender[];
  /** The request's `from`, already checked to be one of the tenant's senders. */
  from?: string;
  /** Providers that can send without a registered sender (a configured account default). */
  defaultSenderProviders?: ProviderName[];
  pin?: ProviderName;
}

export interface RouteStep {
  provider: ProviderName;
  /** Null: the provider's account-level default sender. */
  sender: RegisteredSender | null;
  /** Price per segment × segments. */
  estimatedCostMicros: number;
  /** Why this provider, at this position. */
  reason: string;
}

export interface RouteDecision {
  /** Providers to try in order; empty when none can take the message. */
  chain: RouteStep[];
  skipped: { provider: ProviderName; reason: string }[];
  /** The rule that decided the order, or "fallback" or "pin". */
  rule: string;
}

/** A provider in preference order, with why it is there; not yet checked for usability. */
interface Candidate {
  provider: ProviderName;
  why: string;
}

interface Plan {
  rule: string;
  candidates: Candidate[];
  /** Providers the policy leaves out altogether. */
  excluded: { provider: ProviderName; reason: string }[];
}

// Ties by price go to the fixed order of PROVIDER_NAMES, so a decision never depends on the
// order providers happen to be listed in.
function byPrice(providers: readonly ProviderName[], input: RouteInput): ProviderName[] {
  const price = (provider: ProviderName) =>
    priceFor(input.prices, provider, input.country, input.type) ?? Number.POSITIVE_INFINITY;
  return [...providers].sort(
    (a, b) => price(a) - price(b) || PROVIDER_NAMES.indexOf(a) - PROVIDER_NAMES.indexOf(b),
  );
}

function matches(rule: RoutingRule, input: RouteInput): boolean {
  const { type, country, prefix } = rule.match;
  return (
    (type === undefined || type.includes(input.type)) &&
    (country === undefined || country.includes(input.country)) &&
    (prefix === undefined || prefix.some((start) => input.to.startsWith(start)))
  );
}

function planRule(rule: RoutingRule, input: RouteInput): Plan {
  const listed = rule.providers ?? PROVIDER_NAMES;
  const head =
    rule.strategy === "ordered"
      ? listed.map((provider, index) => ({
          provider,
          why: `rule "${rule.name}" lists it ${index + 1} of ${listed.length}`,
        }))
      : byPrice(listed, input).map((provider) => ({
          provider,
          why: `rule "${rule.name}" takes the cheapest of ${rule.providers ? "its providers" : "all providers"} first`,
        }));
  const rest = PROVIDER_NAMES.filter((provider) => !listed.includes(provider));
  if (rule.then === "none") {
    const reason = `rule "${rule.name}" allows only its own providers (then: none)`;
    return {
      rule: rule.name,
      candidates: head,
      excluded: rest.map((provider) => ({ provider, reason })),
    };
  }
  const tail = byPrice(rest, input).map((provider) => ({
    provider,
    why: `failover after rule "${rule.name}"'s providers, cheapest first`,
  }));
  return { rule: rule.name, candidates: [...head, ...tail], excluded: [] };
}

function plan(input: RouteInput): Plan {
  const { pin } = input;
  if (pin !== undefined) {
    return {
      rule: "pin",
      candidates: [{ provider: pin, why: "the request pins it" }],
      excluded: PROVIDER_NAMES.filter((provider) => provider !== pin).map((provider) => ({
        provider,
        reason: `the request pins ${pin}`,
      })),
    };
  }
  const rule = input.policy.rules.find((candidate) => matches(candidate, input));
  if (rule) return planRule(rule, input);
  return {
    rule: "fallback",
    candidates: byPrice(PROVIDER_NAMES, input).map((provider) => ({
      provider,
      why: "no rule matched: cheapest first",
    })),
    excluded: [],
  };
}

type SenderChoice = { ok: true; sender: RegisteredSender | null } | { ok: false; reason: string };

function chooseSender(provider: ProviderName, input: RouteInput): SenderChoice {
  const { from, country } = input;
  const own = input.senders.filter((sender) => sender.provider === provider);
  // An explicit `from` is honoured or the provider is passed over: falling back to another
  // sender, the account default included, would send from someone the request did not ask for.
  const eligible = from === undefined ? own : own.filter((sender) => isSender(sender, from));
  const sender = pickSender(eligible, provider, country);
  if (sender) return { ok: true, sender };
  if (from === undefined && input.defaultSenderProviders?.includes(provider)) {
    return { ok: true, sender: null };
  }
  if (eligible.length === 0) {
    return {
      ok: false,
      reason:
        from === undefined
          ? "no sender registered and no account default sender"
          : `requested sender ${from} is not registered with ${provider}`,
    };
  }
  const unfit = eligible.map((candidate) => senderUnfitReason(candidate, country)).join("; ");
  return { ok: false, reason: `no registered sender fits ${country}: ${unfit}` };
}

type Evaluation = { ok: true; step: RouteStep; halfOpen: boolean } | { ok: false; reason: string };

// Checks run from the most lasting cause to the most passing one, so the reason given is the
// one to fix first.
function evaluate({ provider, why }: Candidate, input: RouteInput): Evaluation {
  if (!input.available.includes(provider)) {
    return { ok: false, reason: "no usable credentials" };
  }
  const price = priceFor(input.prices, provider, input.country, input.type);
  if (price === undefined) {
    return { ok: false, reason: `no price for ${input.country}: it does not deliver there` };
  }
  const choice = chooseSender(provider, input);
  if (!choice.ok) return choice;
  const circuit = input.health[provider] ?? "closed";
  if (circuit === "open") {
    return { ok: false, reason: "circuit open after recent failures" };
  }
  const { sender } = choice;
  const parts = [
    why,
    `${formatMoney(price)} USD per segment`,
    sender ? `sender ${sender.kind} ${sender.value}` : "account default sender",
  ];
  if (circuit === "half_open") {
    parts.push("circuit half-open: placed after the healthy providers, as a probe");
  }
  return {
    ok: true,
    halfOpen: circuit === "half_open",
    step: {
      provider,
      sender,
      estimatedCostMicros: price * input.segments,
      reason: parts.join("; "),
    },
  };
}

/**
 * The providers to try for one message, in order. An empty chain is a valid answer (nothing
 * can take the message); the caller decides how to report it.
 */
export function route(input: RouteInput): RouteDecision {
  const { rule, candidates, excluded } = plan(input);
  const healthy: RouteStep[] = [];
  const probes: RouteStep[] = [];
  const skipped: RouteDecision["skipped"] = [];
  for (const candidate of candidates) {
    const evaluation = evaluate(candidate, input);
    if (!evaluation.ok) skipped.push({ provider: candidate.provider, reason: evaluation.reason });
    else (evaluation.halfOpen ? probes : healthy).push(evaluation.step);
  }
  return { chain: [...healthy, ...probes], skipped: [...skipped, ...excluded], rule };
}
