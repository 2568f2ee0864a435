import { sql } from "drizzle-orm";
import type { CountryCode } from "libphonenumber-js/max";
import type { Services } from "../context";
import { analyzeBody } from "../domain/encoding";
import { estimateCost, formatMoney, type Money } from "../domain/pricing";
import {
  DEFAULT_PROVIDER_PRICES,
  mergePriceTables,
  type ProviderPriceTable,
  priceFor,
} from "../domain/provider-prices";
import { type MessageType, PROVIDER_NAMES, type ProviderName } from "../domain/providers";
import {
  DEFAULT_ROUTING_POLICY,
  type RouteDecision,
  type RoutingPolicy,
  route,
  routingPolicySchema,
} from "../domain/routing";
import type { RegisteredSender } from "../domain/senders";
import { ApiError } from "../errors";
import { readHealth } from "../kv/circuit-breaker";
import { destinationOrThrow } from "./phone";
import { type AvailableProviders, availableProviders } from "./provider-registry";

/** Everything routing needs about a tenant, loaded with one query and one Redis call. */
export interface RoutingContext extends AvailableProviders {
  senders: RegisteredSender[];
  policy: RoutingPolicy;
  health: Awaited<ReturnType<typeof readHealth<ProviderName>>>;
}

interface TenantRoutingRow extends Record<string, unknown> {
  routing_policy: unknown;
  senders: RegisteredSender[] | null;
  credentials: { provider: string; ciphertext: string }[] | null;
}

export async function loadRoutingContext(s: Services, tenantId: string): Promise<RoutingContext> {
  const result = await s.db.execute<TenantRoutingRow>(sql`
    select t.routing_policy,
      (select json_agg(json_build_object('id', id, 'provider', provider, 'kind', kind,
        'value', value, 'countries', countries) order by id)
       from senders where tenant_id = t.id) as senders,
      (select json_agg(json_build_object('provider', provider, 'ciphertext', ciphertext))
       from provider_credentials where tenant_id = t.id) as credentials
    from tenants t where t.id = ${tenantId}`);
  const row = result.rows[0];
  const available = await availableProviders(s, tenantId, row?.credentials ?? []);
  const names = Object.keys(available.providers) as ProviderName[];
  const health = await readHealth(s.redis, names);
  const tenantPolicy = routingPolicySchema.safeParse(row?.routing_policy);
  return {
    ...available,
    senders: row?.senders ?? [],
    policy: tenantPolicy.success ? tenantPolicy.data : deploymentPolicy(s),
    health,
  };
}

const deploymentPolicy = (s: Services): RoutingPolicy =>
  s.config.ROUTING_POLICY ?? DEFAULT_ROUTING_POLICY;

/** The shipped price table with the deployment's override, merged once per configuration. */
const pricesByConfig = new WeakMap<object, ProviderPriceTable>();
function priceTable(s: Services): ProviderPriceTable {
  let table = pricesByConfig.get(s.config);
  if (!table) {
    table = mergePriceTables(DEFAULT_PROVIDER_PRICES, s.config.PROVIDER_PRICES ?? {});
    pricesByConfig.set(s.config, table);
  }
  return table;
}

/**
 * The estimate given when a message is accepted, before routing runs: the
 * cheapest provider price for the country and type (the generic per-country
 * table where no provider lists one). The attempt records what was charged.
 */
export function estimateMessageCost(
  s: Services,
  country: CountryCode,
  type: MessageType,
  segments: number,
): Money {
  const table = priceTable(s);
  const prices = PROVIDER_NAMES.map((p) => priceFor(table, p, country, type)).filter(
    (price): price is number => price !== undefined,
  );
  if (prices.length === 0) return estimateCost(country, segments);
  return { micros: Math.min(...prices) * segments, currency: "USD" };
}

export interface RoutableMessage {
  to: string;
  country: string;
  type: MessageType;
  segments: number;
  from?: string | null;
  pin?: string | null;
}

export function routeMessage(
  s: Services,
  ctx: RoutingContext,
  message: RoutableMessage,
): RouteDecision {
  return route({
    to: message.to,
    country: message.country as CountryCode,
    type: message.type,
    segments: message.segments,
    policy: ctx.policy,
    prices: priceTable(s),
    available: Object.keys(ctx.providers) as ProviderName[],
    defaultSenderProviders: ctx.defaultSenderProviders,
    health: ctx.health,
    senders: ctx.senders,
    ...(message.from ? { from: message.from } : {}),
    ...(message.pin ? { pin: message.pin as ProviderName } : {}),
  });
}

export interface PreviewInput {
  to: string;
  type: MessageType;
  body?: string | undefined;
  from?: string | undefined;
  provider?: ProviderName | undefined;
}

/** A stored message's columns that routing reads. */
export interface StoredRoutable {
  tenant_id: string;
  to_e164: string;
  country: string;
  type: MessageType;
  segments: number;
  from_sender: string | null;
  pinned_provider: string | null;
}

/**
 * A dispatch of many messages (a queue batch, a tick) loads each tenant's context once per
 * few seconds, not once per message: senders, credentials and circuit health move slowly.
 */
const CONTEXT_REUSE_MS = 5_000;
const contexts = new WeakMap<Services, Map<string, { at: number; ctx: Promise<RoutingContext> }>>();

function routingContextFor(s: Services, tenantId: string): Promise<RoutingContext> {
  let byTenant = contexts.get(s);
  if (!byTenant) {
    byTenant = new Map();
    contexts.set(s, byTenant);
  }
  const cached = byTenant.get(tenantId);
  if (cached && Date.now() - cached.at < CONTEXT_REUSE_MS) return cached.ctx;
  const ctx = loadRoutingContext(s, tenantId);
  byTenant.set(tenantId, { at: Date.now(), ctx });
  ctx.catch(() => byTenant.delete(tenantId));
  return ctx;
}

/** Routes a message already in the database, with its tenant's context loaded. */
export async function routeStored(s: Services, m: StoredRoutable) {
  const ctx = await routingContextFor(s, m.tenant_id);
  const decision = routeMessage(s, ctx, {
    to: m.to_e164,
    country: m.country,
    type: m.type,
    segments: m.segments,
    from: m.from_sender,
    pin: m.pinned_provider,
  });
  return { ctx, decision };
}

/** The chain a live message would get now, with each step's reason and estimated cost. */
export async function previewRoute(s: Services, tenantId: string, input: PreviewInput) {
  const phone = destinationOrThrow(s, input.to);
  const segments = input.body ? analyzeBody(input.body).segments : 1;
  const ctx = await loadRoutingContext(s, tenantId);
  const decision = routeMessage(s, ctx, {
    to: phone.e164,
    country: phone.country,
    type: input.type,
    segments,
    from: input.from ?? null,
    pin: input.provider ?? null,
  });
  return {
    to: phone.e164,
    country: phone.country,
    type: input.type,
    segments,
    rule: decision.rule,
    chain: decision.chain.map((step) => ({
      provider: step.provider,
      sender: step.sender && { kind: step.sender.kind, value: step.sender.value },
      estimated_cost: formatMoney(step.estimatedCostMicros),
      health: ctx.health[step.provider] ?? "closed",
      reason: step.reason,
    })),
    skipped: decision.skipped,
  };
}

/** Sets (or, with null, clears) a tenant's own routing policy. */
export async function setTenantRoutingPolicy(
  s: Services,
  tenantId: string,
  policy: RoutingPolicy | null,
): Promise<void> {
  const result = await s.db.execute(
    sql`update tenants set routing_policy = ${policy === null ? null : JSON.stringify(policy)}::jsonb
        where id = ${tenantId}`,
  );
  if (result.rowCount === 0) throw new ApiError("not_found", `No tenant ${tenantId}`);
}
