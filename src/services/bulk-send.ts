import { and, eq, sql } from "drizzle-orm";
import type { Services } from "../context";
import { batches } from "../db/schema";
import { analyzeBody } from "../domain/encoding";
import { formatMoney } from "../domain/pricing";
import { effectiveQuietHours } from "../domain/quiet-hours";
import { planSend, type SendPlan } from "../domain/send-plan";
import type { renderTemplate } from "../domain/templates";
import { ApiError, type ErrorCode } from "../errors";
import { newId } from "../lib/ids";
import type { Principal } from "./api-keys";
import { admitBulk, type BulkSubject } from "./bulk-policy";
import { setTenantCompliance } from "./consents";
import { contentPolicyFor, type PreparedBody, prepareBody } from "./content";
import { QUEUE_SAFETY_NET_MS } from "./dispatch-queue";
import { destinationOrThrow } from "./phone";
import { estimateMessageCost } from "./routing";
import {
  type Idempotency,
  refusedAsOptedOut,
  requireOwnSender,
  requireSendAtInReach,
  requireSomeProvider,
} from "./send";
import { dltFor, segmentLimit, templateForSend } from "./templates";

/**
 * A bulk send (POST /v1/messages/bulk): up to 10,000 recipients in one request, accepted
 * set-based so one Worker invocation carries it: every recipient is normalized and rendered
 * in the Worker; opt-outs and consent are one SQL statement over all of them (unnest); the
 * blocklists, range blocks, rate limits and budget are the Upstash requests of
 * src/services/bulk-policy.ts; then the batch and all its accepted messages are inserted in
 * one transaction of two statements (the messages as column arrays), before anything is
 * dispatched. The caller
 * enqueues the ids (src/services/dispatch-queue.ts).
 */

export const MAX_BULK_RECIPIENTS = 10_000;

export interface BulkRecipient {
  to: string;
  variables?: Record<string, string> | undefined;
  metadata?: Record<string, string> | undefined;
}

export interface BulkInput {
  recipients: BulkRecipient[];
  body?: string | undefined;
  template?: string | undefined;
  locale?: string | undefined;
  type?: "transactional" | "promotional" | undefined;
  from?: string | undefined;
  metadata?: Record<string, string> | undefined;
  sendAt?: Date | undefined;
  validUntil?: Date | undefined;
  validitySeconds?: number | undefined;
  maxSegments?: number | undefined;
  truncate?: boolean | undefined;
  smartEncoding?: boolean | undefined;
  dlt?: { entityId: string; templateId?: string | undefined } | undefined;
}

export type RecipientResult =
  | {
      index: number;
      to: string;
      result: "accepted";
      id: string;
      status: SendPlan["status"];
      segments: number;
    }
  | { index: number; to: string; result: "refused"; code: ErrorCode; detail: string };

export interface BatchResponse {
  id: string;
  type: "transactional" | "promotional";
  recipients: number;
  accepted: number;
  refused: number;
  estimated_cost: string;
  currency: string;
  created_at: string;
  results: RecipientResult[];
}

export type BulkResult =
  | { kind: "accepted"; response: BatchResponse; queuedIds: string[] }
  | { kind: "replayed"; body: BatchResponse };

/** A recipient that passed the checks made in the Worker. */
interface Candidate {
  index: number;
  e164: string;
  country: string;
  body: string;
  segments: number;
  encoding: "GSM-7" | "UCS-2";
  costMicros: number;
  currency: string;
  plan: SendPlan;
  metadata: Record<string, string> | undefined;
  digests: string[];
}

export async function acceptBulk(
  s: Services,
  principal: Principal,
  input: BulkInput,
  idempotency: Idempotency | null,
): Promise<BulkResult> {
  const tenantId = principal.tenantId;
  if (idempotency) {
    const replayed = await replay(s, tenantId, idempotency);
    if (replayed) return { kind: "replayed", body: replayed };
  }
  const now = s.now();
  requireSendAtInReach(input.sendAt, now);
  if (input.from) await requireOwnSender(s, tenantId, input.from);
  if (principal.mode === "live") await requireSomeProvider(s, tenantId);
  const template = input.template
    ? await templateForSend(s, tenantId, input.template, input.locale)
    : null;
  const type = input.type ?? template?.type ?? "transactional";
  if (type === "otp") {
    throw new ApiError("validation_failed", "One-time codes are sent with POST /v1/otp", [
      { path: "type", message: "otp is not a bulk type" },
    ]);
  }
  const dlt = dltFor(input.dlt, template?.dltTemplateId) ?? null;
  // Promotional batches: the tenant's consent requirement and opt-out footer (one query).
  const compliance = type === "promotional" ? await setTenantCompliance(s, tenantId, {}) : null;

  const results = new Map<number, RecipientResult>();
  const refuse = (index: number, to: string, code: ErrorCode, detail: string) =>
    results.set(index, { index, to, result: "refused", code, detail });
  const prepared = await prepareRecipients(s, principal, input, {
    type,
    now,
    render: template?.render ?? null,
    maxSegments: template?.maxSegments,
    footer: compliance?.opt_out_footer ?? null,
    refuse,
  });
  await Promise.all(
    prepared.map(async (c) => {
      c.digests = await s.pii.digests(c.e164);
    }),
  );

  const standing = await withoutOptedOut(
    s,
    tenantId,
    prepared,
    compliance?.require_marketing_consent ?? false,
  );
  for (const { candidate, code, detail } of standing.refused) {
    refuse(candidate.index, candidate.e164, code, detail);
  }
  let accepted = standing.kept;
  const subjects: BulkSubject[] = accepted.map((c) => ({
    e164: c.e164,
    digests: c.digests,
    country: c.country,
  }));
  const costs = accepted.map((c) =>
    principal.mode === "live" && c.plan.status === "queued" ? c.costMicros : 0,
  );
  const admission = await admitBulk(s, principal, type, subjects, costs);
  for (const [position, refusal] of admission.refusals) {
    const c = accepted[position] as Candidate;
    refuse(c.index, c.e164, refusal.code, refusal.detail);
  }
  const admittedPositions = accepted.flatMap((_, p) => (admission.refusals.has(p) ? [] : [p]));
  accepted = admittedPositions.map((p) => accepted[p] as Candidate);

  const batchId = newId("bat", now.getTime());
  const ids = accepted.map(() => newId("msg", now.getTime()));
  accepted.forEach((c, n) => {
    results.set(c.index, {
      index: c.index,
      to: c.e164,
      result: "accepted",
      id: ids[n] as string,
      status: c.plan.status,
      segments: c.segments,
    });
  });
  const response: BatchResponse = {
    id: batchId,
    type,
    recipients: input.recipients.length,
    accepted: accepted.length,
    refused: input.recipients.length - accepted.length,
    estimated_cost: formatMoney(accepted.reduce((sum, c) => sum + c.costMicros, 0)),
    currency: accepted[0]?.currency ?? "USD",
    created_at: now.toISOString(),
    results: [...results.values()].sort((a, b) => a.index - b.index),
  };
  const columns = await messageColumns(s, tenantId, accepted, ids, now);
  const inserted = await insertBatch(s, principal, {
    batchId,
    type,
    from: input.from ?? null,
    dlt,
    response,
    columns,
    idempotency,
    now,
  }).catch(async (error: unknown) => {
    await admission.release(admittedPositions);
    if (refusedAsOptedOut(error)) {
      // Someone opted out between the check and the insert: nothing was accepted.
      throw new ApiError(
        "recipient_opted_out",
        "A recipient opted out while this batch was being accepted; nothing was accepted: retry",
      );
    }
    throw error;
  });
  if (!inserted && idempotency) {
    // A concurrent request with the same key won the insert: its answer is this one's.
    s.background(() => admission.release(admittedPositions));
    const replayed = await replay(s, tenantId, idempotency);
    if (!replayed) throw new Error("idempotency conflict without a batch");
    return { kind: "replayed", body: replayed };
  }
  const queuedIds = accepted.flatMap((c, n) =>
    c.plan.status === "queued" ? [ids[n] as string] : [],
  );
  return { kind: "accepted", response, queuedIds };
}

interface PrepareOptions {
  type: "transactional" | "promotional";
  now: Date;
  render: ((variables: Record<string, string>) => Rendered) | null;
  maxSegments: number | undefined;
  footer: string | null;
  refuse(index: number, to: string, code: ErrorCode, detail: string): void;
}

type Rendered = ReturnType<typeof renderTemplate>;

/**
 * Everything decided without I/O, per recipient: the number (once per batch), the body
 * (template and variables), the content rules (once per distinct body), segments, price and
 * when it may go out.
 */
async function prepareRecipients(
  s: Services,
  principal: Principal,
  input: BulkInput,
  o: PrepareOptions,
): Promise<Candidate[]> {
  const seen = new Set<string>();
  const contentPolicy = contentPolicyFor(s, principal.contentPolicy);
  const quietHours = effectiveQuietHours(s.config.QUIET_HOURS_POLICY, principal.quietHours);
  const maxSegments = segmentLimit(input.maxSegments, o.maxSegments);
  const bodies = new Map<string, Promise<PreparedBody | ApiError>>();
  const candidates: Candidate[] = [];
  for (const [index, recipient] of input.recipients.entries()) {
    const phone = (() => {
      try {
        return destinationOrThrow(s, recipient.to);
      } catch (error) {
        if (error instanceof ApiError) o.refuse(index, recipient.to, error.code, error.detail);
        return null;
      }
    })();
    if (!phone) continue;
    if (seen.has(phone.e164)) {
      o.refuse(index, phone.e164, "duplicate_recipient", "This number is already in the batch");
      continue;
    }
    seen.add(phone.e164);
    if (!o.render && recipient.variables) {
      o.refuse(index, phone.e164, "validation_failed", "variables need a template");
      continue;
    }
    const rendered = o.render
      ? o.render(recipient.variables ?? {})
      : ({ ok: true, body: input.body ?? "" } as const);
    if (!rendered.ok) {
      const problems = rendered.problems.map((p) => `${p.path}: ${p.message}`).join("; ");
      o.refuse(index, phone.e164, "validation_failed", `The variables do not match: ${problems}`);
      continue;
    }
    let content = bodies.get(rendered.body);
    if (!content) {
      content = prepareBody(
        contentPolicy,
        {
          body: rendered.body,
          maxSegments,
          truncate: input.truncate,
          smartEncoding: input.smartEncoding,
        },
        o.footer === null ? null : async () => o.footer as string,
      ).catch((error: unknown) => {
        if (error instanceof ApiError) return error;
        throw error;
      });
      bodies.set(rendered.body, content);
    }
    const body = await content;
    if (body instanceof ApiError) {
      o.refuse(index, phone.e164, body.code, body.detail);
      continue;
    }
    const analysis = analyzeBody(body.body);
    const cost = estimateMessageCost(s, phone.country, o.type, analysis.segments);
    candidates.push({
      index,
      e164: phone.e164,
      country: phone.country,
      body: body.body,
      segments: analysis.segments,
      encoding: analysis.encoding,
      costMicros: cost.micros,
      currency: cost.currency,
      plan: planSend({
        type: o.type,
        e164: phone.e164,
        country: phone.country,
        now: o.now,
        policy: quietHours,
        sendAt: input.sendAt,
        validUntil: input.validUntil,
        validitySeconds: input.validitySeconds,
      }),
      metadata:
        input.metadata || recipient.metadata
          ? { ...input.metadata, ...recipient.metadata }
          : undefined,
      digests: [],
    });
  }
  return candidates;
}

/**
 * Opt-outs (and, for promotional batches that need it, marketing consent) of every candidate
 * in ONE statement: the digests travel as two arrays (position, digest), so the statement has
 * four parameters whatever the batch's size.
 */
async function withoutOptedOut(
  s: Services,
  tenantId: string,
  candidates: Candidate[],
  requireConsent: boolean,
) {
  const positions: number[] = [];
  const digests: string[] = [];
  candidates.forEach((c, p) => {
    for (const digest of c.digests) {
      positions.push(p);
      digests.push(digest);
    }
  });
  const result = await s.db.execute<{ p: number; opted_out: boolean; consented: boolean | null }>(
    sql`
    with r(p, digest) as (
      select * from unnest(${sql.param(positions)}::int[], ${sql.param(digests)}::text[])
    ), opted as (
      select distinct r.p from r join opt_outs o
        on o.tenant_id = ${tenantId} and o.phone_digest = r.digest and 'sms' = any(o.channels)
    ), consent as (
      select distinct on (r.p) r.p, not c.withdrawn as consented from r join consents c
        on c.tenant_id = ${tenantId} and c.phone_digest = r.digest and c.purpose = 'marketing'
      where ${requireConsent}
      order by r.p, c.given_at desc, c.id desc
    )
    select p, true as opted_out, null::boolean as consented from opted
    union all
    select p, false, consented from consent`,
  );
  const optedOut = new Set<number>();
  const consented = new Set<number>();
  for (const row of result.rows) {
    if (row.opted_out) optedOut.add(row.p);
    else if (row.consented) consented.add(row.p);
  }
  const refused: { candidate: Candidate; code: ErrorCode; detail: string }[] = [];
  const kept: Candidate[] = [];
  candidates.forEach((c, p) => {
    if (optedOut.has(p)) {
      refused.push({ candidate: c, code: "recipient_opted_out", detail: "Opted out" });
    } else if (requireConsent && !consented.has(p)) {
      refused.push({
        candidate: c,
        code: "consent_required",
        detail: "No marketing consent on record (POST /v1/consents)",
      });
    } else kept.push(c);
  });
  return { kept, refused };
}

/**
 * The accepted recipients as columns (one array per column): numbers sealed one by one, each
 * distinct body sealed once and referred to by its index. Arrays, not rows of parameters:
 * building a 1,000-row multi-VALUES statement costs hundreds of ms of CPU in the ORM, and
 * Postgres allows 65,535 parameters; an `unnest` insert has a fixed few whatever the size.
 */
async function messageColumns(
  s: Services,
  tenantId: string,
  accepted: Candidate[],
  ids: string[],
  now: Date,
) {
  const bodies: string[] = [];
  const bodyIndex = new Map<string, number>();
  for (const c of accepted) {
    if (!bodyIndex.has(c.body)) bodyIndex.set(c.body, bodyIndex.size + 1);
  }
  const [sealedTo, sealedBodies] = await Promise.all([
    Promise.all(accepted.map((c) => s.pii.seal(tenantId, c.e164))),
    Promise.all([...bodyIndex.keys()].map((body) => s.pii.seal(tenantId, body))),
  ]);
  bodies.push(...sealedBodies);
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  // Without queues, the scheduler sends a queued message from its next tick.
  const safetyNet = new Date(now.getTime() + (s.queues ? QUEUE_SAFETY_NET_MS : 0));
  return {
    bodies,
    id: ids,
    toSealed: sealedTo,
    digests: accepted.map((c) => c.digests.join(" ")),
    country: accepted.map((c) => c.country),
    body: accepted.map((c) => bodyIndex.get(c.body) as number),
    encoding: accepted.map((c) => c.encoding),
    segments: accepted.map((c) => c.segments),
    cost: accepted.map((c) => c.costMicros),
    currency: accepted.map((c) => c.currency),
    metadata: accepted.map((c) => (c.metadata ? JSON.stringify(c.metadata) : null)),
    status: accepted.map((c) => c.plan.status),
    reason: accepted.map((c) => (c.plan.status === "queued" ? null : c.plan.reason)),
    // An expired message is final at once: it never reaches a provider.
    dispatchState: accepted.map((c) => (c.plan.status === "expired" ? "done" : "pending")),
    completedAt: accepted.map((c) => (c.plan.status === "expired" ? iso(now) : null)),
    scheduledFor: accepted.map((c) => iso(c.plan.scheduledFor)),
    nextAttemptAt: accepted.map((c) => iso(c.plan.scheduledFor ?? safetyNet)),
    deadlineAt: accepted.map((c) => iso(c.plan.deadline)),
  };
}

type Columns = Awaited<ReturnType<typeof messageColumns>>;

/** The batch and its messages, all or nothing. False: the idempotency key was taken. */
async function insertBatch(
  s: Services,
  principal: Principal,
  b: {
    batchId: string;
    type: "transactional" | "promotional";
    from: string | null;
    dlt: { entityId: string; templateId: string } | null;
    response: BatchResponse;
    columns: Columns;
    idempotency: Idempotency | null;
    now: Date;
  },
): Promise<boolean> {
  const responseSealed = await s.pii.sealJson(principal.tenantId, b.response);
  const c = b.columns;
  const arr = (values: unknown[], type: string) => sql`${sql.param(values)}::${sql.raw(type)}[]`;
  return s.db.transaction(async (tx) => {
    const created = await tx
      .insert(batches)
      .values({
        id: b.batchId,
        tenantId: principal.tenantId,
        apiKeyId: principal.keyId,
        mode: principal.mode,
        type: b.type,
        recipients: b.response.recipients,
        accepted: b.response.accepted,
        idempotencyKey: b.idempotency?.key ?? null,
        requestHash: b.idempotency?.requestHash ?? null,
        responseSealed,
        createdAt: b.now,
      })
      .onConflictDoNothing({ target: [batches.tenantId, batches.idempotencyKey] })
      .returning({ id: batches.id });
    if (created.length === 0) return false;
    if (c.id.length === 0) return true;
    await tx.execute(sql`
      insert into messages (id, tenant_id, api_key_id, mode, to_sealed, recipient_digests,
        country, from_sender, body_sealed, type, encoding, segments, estimated_cost_micros,
        currency, metadata, status, status_reason, dispatch_state, completed_at, scheduled_for,
        next_attempt_at, round_started_at, dlt, deadline_at, batch_id, created_at, updated_at)
      select r.id, ${principal.tenantId}, ${principal.keyId}, ${principal.mode}, r.to_sealed,
        string_to_array(r.digests, ' '), r.country, ${b.from},
        (${arr(c.bodies, "text")})[r.body], ${b.type}, r.encoding, r.segments, r.cost,
        r.currency, r.metadata::jsonb, r.status, r.status_reason, r.dispatch_state,
        r.completed_at, r.scheduled_for, r.next_attempt_at, ${b.now},
        ${b.dlt ? JSON.stringify(b.dlt) : null}::jsonb, r.deadline_at, ${b.batchId},
        ${b.now}, ${b.now}
      from unnest(${arr(c.id, "text")}, ${arr(c.toSealed, "text")}, ${arr(c.digests, "text")},
        ${arr(c.country, "text")}, ${arr(c.body, "int")}, ${arr(c.encoding, "text")},
        ${arr(c.segments, "int")}, ${arr(c.cost, "bigint")}, ${arr(c.currency, "text")},
        ${arr(c.metadata, "text")}, ${arr(c.status, "text")}, ${arr(c.reason, "text")},
        ${arr(c.dispatchState, "text")}, ${arr(c.completedAt, "timestamptz")},
        ${arr(c.scheduledFor, "timestamptz")}, ${arr(c.nextAttemptAt, "timestamptz")},
        ${arr(c.deadlineAt, "timestamptz")})
        as r(id, to_sealed, digests, country, body, encoding, segments, cost, currency,
          metadata, status, status_reason, dispatch_state, completed_at, scheduled_for,
          next_attempt_at, deadline_at)`);
    return true;
  });
}

/** The first response for this key, or null when the key is new. */
async function replay(
  s: Services,
  tenantId: string,
  idempotency: Idempotency,
): Promise<BatchResponse | null> {
  const [original] = await s.db
    .select({ requestHash: batches.requestHash, responseSealed: batches.responseSealed })
    .from(batches)
    .where(and(eq(batches.tenantId, tenantId), eq(batches.idempotencyKey, idempotency.key)));
  if (!original) return null;
  if (original.requestHash !== idempotency.requestHash) {
    throw new ApiError(
      "idempotency_key_reused",
      "This Idempotency-Key was used with a different request body",
    );
  }
  if (original.responseSealed === null) {
    throw new ApiError(
      "idempotency_key_reused",
      "This Idempotency-Key's batch is past its retention; use a new key",
    );
  }
  return s.pii.openJson<BatchResponse>(tenantId, original.responseSealed);
}
