import { and, eq, sql } from "drizzle-orm";
import type { Services } from "../context";
import { messages } from "../db/schema";
import { analyzeBody } from "../domain/encoding";
import { formatMoney } from "../domain/pricing";
import type { MessageType, ProviderName } from "../domain/providers";
import { effectiveQuietHours } from "../domain/quiet-hours";
import { planSend, type SendPlan } from "../domain/send-plan";
import { ApiError } from "../errors";
import { newId } from "../lib/ids";
import type { Principal } from "./api-keys";
import { recordBlockedSend } from "./audit";
import { promotionalFooter } from "./consents";
import { contentPolicyFor, type PreparedBody, prepareBody } from "./content";
import { destinationOrThrow } from "./phone";
import { deploymentProviderNames } from "./provider-registry";
import type { RateLimitState } from "./rate-limits";
import { estimateMessageCost } from "./routing";
import { admitSend } from "./send-policy";
import { applyStatus } from "./status";

export interface SendInput {
  to: string;
  body: string;
  type: MessageType;
  from?: string | undefined;
  metadata?: Record<string, string> | undefined;
  /** Pin one provider (live keys; test keys always use the sandbox). */
  provider?: ProviderName | undefined;
  /** After this many seconds the message is worthless; providers drop it (validity / TTL). */
  validitySeconds?: number | undefined;
  /** Do not send before this (up to 35 days ahead). */
  sendAt?: Date | undefined;
  /** Never send after this: a message that cannot go out before it ends `expired`. */
  validUntil?: Date | undefined;
  /** The recipient's IANA time zone, instead of the zones of their number (quiet hours). */
  recipientTimeZone?: string | undefined;
  /** The caller's end user (IP, id): rate limits and pumping detection apply per end user. */
  endUserIp?: string | undefined;
  endUserId?: string | undefined;
  /** Content options: a lower segment limit, cutting instead of refusing, look-alike replacement. */
  maxSegments?: number | undefined;
  truncate?: boolean | undefined;
  smartEncoding?: boolean | undefined;
  /** India DLT registration, passed to the providers that take it. */
  dlt?: { entityId: string; templateId: string } | undefined;
  /** The number's digests (`Pii.digests`), when the caller has them already (OTP). */
  recipientDigests?: string[] | undefined;
}

export interface Idempotency {
  key: string;
  /** Hash of the request body: the same key with another body is a client bug. */
  requestHash: string;
}

export interface AcceptedMessage {
  id: string;
  status: SendPlan["status"];
  /** When a scheduled message may go out (quiet hours, `send_at`). */
  scheduled_for: string | null;
  to: string;
  type: MessageType;
  segments: number;
  encoding: "GSM-7" | "UCS-2";
  estimated_cost: string;
  currency: string;
  /** Whether the body was cut to fit (`truncate: true`). */
  truncated: boolean;
  /** What `smart_encoding: true` replaced, and the segments it saved; null when not asked. */
  smart_encoding: PreparedBody["smartEncoding"];
  created_at: string;
}

export type AcceptResult =
  | { kind: "accepted"; response: AcceptedMessage; rateLimit: RateLimitState | null }
  | { kind: "replayed"; status: number; body: unknown };

/**
 * How long after acceptance the scheduler leaves a message to the dispatch that
 * follows the response (waitUntil); past it, the scheduler takes over.
 */
export const INLINE_DISPATCH_GRACE_MS = 60_000;
/** How far ahead `send_at` may be (providers' own scheduling stops at 35 days too). */
const MAX_SCHEDULE_AHEAD_MS = 35 * 86_400_000;
/** An idempotent request still without a response after this long died in flight. */
const IN_FLIGHT_TIMEOUT_MS = 60_000;

/**
 * Accepts a message: normalize, price, persist. The row is in Postgres before
 * any provider can be called; dispatch happens afterwards (see dispatch.ts).
 * With an idempotency key, one INSERT … ON CONFLICT decides first-or-replay.
 *
 * `respondLater`: the caller will store the response itself (Prefer: wait),
 * so until then a concurrent duplicate sees the request as in flight.
 */
export async function acceptMessage(
  s: Services,
  principal: Principal,
  input: SendInput,
  idempotency: Idempotency | null,
  respondLater: boolean,
): Promise<AcceptResult> {
  const phone = destinationOrThrow(s, input.to);
  const digests = input.recipientDigests ?? (await s.pii.digests(phone.e164));
  // Content rules; then compliance: promotional messages need marketing consent and end with
  // the opt-out footer, counted in the segments and the price (one query, promotional only).
  const prepared = await prepareBody(
    contentPolicyFor(s, principal.contentPolicy),
    input,
    input.type === "promotional"
      ? () => promotionalFooter(s, principal.tenantId, phone.e164, digests)
      : null,
  );
  const body = prepared.body;
  if (input.from) await requireOwnSender(s, principal.tenantId, input.from);
  if (principal.mode === "live") await requireSomeProvider(s, principal.tenantId);
  const now = s.now();
  requireSendAtInReach(input.sendAt, now);
  const analysis = analyzeBody(body);
  const cost = estimateMessageCost(s, phone.country, input.type, analysis.segments);
  const plan = planSend({
    type: input.type,
    e164: phone.e164,
    country: phone.country,
    now,
    policy: effectiveQuietHours(s.config.QUIET_HOURS_POLICY, principal.quietHours),
    sendAt: input.sendAt,
    validUntil: input.validUntil,
    validitySeconds: input.validitySeconds,
    recipientTimeZone: input.recipientTimeZone,
  });
  const response: AcceptedMessage = {
    id: newId("msg", now.getTime()),
    status: plan.status,
    scheduled_for: plan.scheduledFor?.toISOString() ?? null,
    to: phone.e164,
    type: input.type,
    segments: analysis.segments,
    encoding: analysis.encoding,
    estimated_cost: formatMoney(cost.micros),
    currency: cost.currency,
    truncated: prepared.truncated,
    smart_encoding: prepared.smartEncoding,
    created_at: now.toISOString(),
  };
  const storeResponse = idempotency !== null && !respondLater;
  const [toSealed, bodySealed, responseSealed] = await Promise.all([
    s.pii.seal(principal.tenantId, phone.e164),
    s.pii.seal(principal.tenantId, body),
    storeResponse ? s.pii.sealJson(principal.tenantId, response) : null,
  ]);
  const row = {
    id: response.id,
    tenantId: principal.tenantId,
    apiKeyId: principal.keyId,
    mode: principal.mode,
    toSealed,
    recipientDigests: digests,
    country: phone.country,
    from: input.from ?? null,
    bodySealed,
    type: input.type,
    encoding: analysis.encoding,
    segments: analysis.segments,
    estimatedCostMicros: cost.micros,
    currency: cost.currency,
    metadata: input.metadata ?? null,
    status: plan.status,
    statusReason: plan.status === "queued" ? null : plan.reason,
    // An expired message is final at once: it never reaches a provider.
    dispatchState: plan.status === "expired" ? ("done" as const) : ("pending" as const),
    completedAt: plan.status === "expired" ? now : null,
    scheduledFor: plan.scheduledFor,
    recipientTimeZone: input.recipientTimeZone ?? null,
    nextAttemptAt: plan.scheduledFor ?? new Date(now.getTime() + INLINE_DISPATCH_GRACE_MS),
    roundStartedAt: now,
    pinnedProvider: principal.mode === "live" ? (input.provider ?? null) : null,
    dlt: input.dlt ?? null,
    deadlineAt: plan.deadline,
    idempotencyKey: idempotency?.key ?? null,
    requestHash: idempotency?.requestHash ?? null,
    responseStatus: storeResponse ? 202 : null,
    responseSealed,
    createdAt: now,
    updatedAt: now,
  };
  // The policy step last (geo, blocklists, pumping, rate limits): every cheaper refusal comes
  // first, and takes no rate-limit token.
  const [endUserIp, endUserId] = await Promise.all([
    input.endUserIp ? s.pii.digest(input.endUserIp) : undefined,
    input.endUserId ? s.pii.digest(input.endUserId) : undefined,
  ]);
  const admission = await admitSend(s, principal, {
    e164: phone.e164,
    digests,
    country: phone.country,
    type: input.type,
    endUserIp,
    endUserId,
    // Budgets count live messages; a deferred one meets them at dispatch.
    budgetMicros: principal.mode === "live" && plan.status === "queued" ? cost.micros : undefined,
  });
  const inserted = await s.db
    .insert(messages)
    .values(row)
    .onConflictDoNothing({ target: [messages.tenantId, messages.idempotencyKey] })
    .returning({ id: messages.id })
    .catch(async (error: unknown) => {
      await admission.release();
      if (refusedAsOptedOut(error)) return null;
      throw error;
    });
  if (inserted === null) {
    await recordBlockedSend(s, principal.tenantId, digests[0], input.type, "recipient_opted_out");
    throw new ApiError("recipient_opted_out", `${phone.e164} opted out of this sender's messages`);
  }
  if (inserted.length > 0 || !idempotency) {
    return { kind: "accepted", response, rateLimit: admission.state };
  }
  // A replay sends nothing new: it takes no token.
  s.background(() => admission.release());
  return replay(s, principal.tenantId, idempotency);
}

/** `send_at` at most 35 days ahead (providers' own scheduling stops there too). */
export function requireSendAtInReach(sendAt: Date | undefined, now: Date): void {
  if (sendAt && sendAt.getTime() - now.getTime() > MAX_SCHEDULE_AHEAD_MS) {
    throw new ApiError("validation_failed", "send_at may be at most 35 days ahead", [
      { path: "send_at", message: "more than 35 days ahead" },
    ]);
  }
}

/** The database's opt-out guard (a trigger) refused the row: see drizzle/0005. */
export function refusedAsOptedOut(error: unknown): boolean {
  const cause = error instanceof Error && error.cause ? error.cause : error;
  return (cause as { hint?: string } | null)?.hint === "recipient_opted_out";
}

/** `from` must be one of the tenant's registered senders (one query, only when given). */
export async function requireOwnSender(s: Services, tenantId: string, from: string): Promise<void> {
  const result = await s.db.execute(
    sql`select 1 from senders where tenant_id = ${tenantId} and value = ${from} limit 1`,
  );
  if (result.rows.length === 0) {
    throw new ApiError("sender_not_allowed", `"${from}" is not one of this tenant's senders`, [
      { path: "from", message: "not a registered sender (see POST /v1/senders)" },
    ]);
  }
}

/**
 * A live send needs a provider with credentials: the deployment's (no I/O), or
 * else the tenant's own (one query, only when the deployment has none).
 */
export async function requireSomeProvider(s: Services, tenantId: string): Promise<void> {
  if (deploymentProviderNames(s.config).length > 0) return;
  const result = await s.db.execute(
    sql`select 1 from provider_credentials where tenant_id = ${tenantId} limit 1`,
  );
  if (result.rows.length === 0) {
    throw new ApiError("no_provider_available", "No provider has credentials for live sends");
  }
}

async function replay(
  s: Services,
  tenantId: string,
  idempotency: Idempotency,
): Promise<AcceptResult> {
  const [original] = await s.db
    .select()
    .from(messages)
    .where(and(eq(messages.tenantId, tenantId), eq(messages.idempotencyKey, idempotency.key)));
  if (!original) throw new Error("idempotency conflict without a row");
  if (original.requestHash !== idempotency.requestHash) {
    throw new ApiError(
      "idempotency_key_reused",
      "This Idempotency-Key was used with a different request body",
    );
  }
  if (original.responseStatus !== null && original.responseSealed !== null) {
    const body = await s.pii.openJson(tenantId, original.responseSealed);
    return { kind: "replayed", status: original.responseStatus, body };
  }
  if (s.now().getTime() - original.createdAt.getTime() < IN_FLIGHT_TIMEOUT_MS) {
    throw new ApiError(
      "idempotency_request_in_progress",
      "A request with this Idempotency-Key is still in progress; retry later",
    );
  }
  // The first request died before answering; the message itself is safe in the database.
  return { kind: "replayed", status: 202, body: { id: original.id, status: original.status } };
}

/** Stores the response of a `respondLater` request so replays return it. */
export async function storeResponse(
  s: Services,
  tenantId: string,
  messageId: string,
  status: number,
  body: unknown,
): Promise<void> {
  await s.db
    .update(messages)
    .set({ responseStatus: status, responseSealed: await s.pii.sealJson(tenantId, body) })
    .where(and(eq(messages.id, messageId), eq(messages.tenantId, tenantId)));
}

/**
 * Cancels a message that has not been handed to a provider: queued or
 * scheduled, and not claimed by a dispatch at this moment.
 */
export async function cancelMessage(s: Services, tenantId: string, id: string): Promise<void> {
  const result = await s.db.execute<{ id: string; cancelable: boolean }>(sql`
    with cancel as (
      update messages set dispatch_state = 'done', lease_until = null, updated_at = ${s.now()}
      where id = ${id} and tenant_id = ${tenantId} and status in ('queued', 'scheduled')
        and dispatch_state = 'pending'
      returning id
    )
    select m.id, exists (select 1 from cancel) as cancelable
    from messages m where m.id = ${id} and m.tenant_id = ${tenantId}`);
  const row = result.rows[0];
  if (!row) throw new ApiError("not_found", `No message ${id}`);
  if (!row.cancelable) {
    throw new ApiError(
      "message_not_cancelable",
      "Only queued or scheduled messages can be canceled",
    );
  }
  await applyStatus(s, {
    messageId: id,
    status: "canceled",
    source: "api",
    reason: "canceled by the API",
    occurredAt: s.now(),
  });
}
