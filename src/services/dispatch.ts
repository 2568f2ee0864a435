import { sql } from "drizzle-orm";
import type { Services } from "../context";
import { backoffMs, jittered, type NextStep, nextStep } from "../domain/dispatch-policy";
import { maskPhonesInText } from "../domain/phone";
import type { MessageType } from "../domain/providers";
import { checkQuietHours, effectiveQuietHours, type QuietHoursPolicy } from "../domain/quiet-hours";
import { laneOf } from "../domain/send-rates";
import { recordCall } from "../kv/circuit-breaker";
import { awaitSendSlot } from "../kv/send-pacing";
import { newId } from "../lib/ids";
import type { Provider, Sender, SendRequest, SendResult } from "../providers/types";
import { reserveBudget, settleBudget } from "./budgets";
import { recordProviderOptOut } from "./opt-outs";
import { routeStored } from "./routing";
import { sandboxProvider } from "./sandbox";
import { applyStatus } from "./status";

/**
 * A claimed message is leased to one invocation. The lease outlives the
 * provider timeout and the ~30 s a waitUntil may run, so it only expires when
 * the isolate holding it is gone.
 */
export const LEASE_MS = 120_000;
/** How long the dispatch after a response may run: waitUntil ends about 30 s after it. */
export const INLINE_BUDGET_MS = 25_000;

/** A claimed row as stored: number and body sealed (null once erased). */
export type ClaimedRow = Omit<ClaimedMessage, "to_e164" | "body"> & {
  to_sealed: string | null;
  body_sealed: string | null;
};

/** A claimed message with its number and body opened for the provider call (null: erased). */
export type ClaimedMessage = {
  id: string;
  tenant_id: string;
  mode: "test" | "live";
  /** The bulk send it belongs to: it goes in the bulk lane. */
  batch_id: string | null;
  to_e164: string | null;
  country: string;
  from_sender: string | null;
  body: string | null;
  type: MessageType;
  segments: number;
  status: string;
  attempt_count: number;
  retry_round: number;
  pinned_provider: string | null;
  deadline_at: string | null;
  recipient_time_zone: string | null;
  /** The tenant's own quiet-hours policy, read with the claim. */
  quiet_hours_policy: QuietHoursPolicy | null;
  /** Budget: the estimate to reserve, whether it is reserved, the tenant's caps document. */
  estimated_cost_micros: number;
  reserved_at: string | null;
  budget: unknown;
  dlt: { entityId: string; templateId: string } | null;
  /** Providers already tried in this round: failover never calls one twice. */
  tried: string[];
};

export const claimedColumns = sql`id, tenant_id, mode, batch_id, to_sealed, country, from_sender, body_sealed, type, segments,
  status, attempt_count, retry_round, pinned_provider, deadline_at, recipient_time_zone, dlt,
  (select t.quiet_hours_policy from tenants t where t.id = messages.tenant_id) as quiet_hours_policy,
  estimated_cost_micros::float8 as estimated_cost_micros, reserved_at,
  (select t.budget from tenants t where t.id = messages.tenant_id) as budget,
  array(select a.provider from message_attempts a
        where a.message_id = messages.id and a.started_at >= messages.round_started_at) as tried`;

export async function opened(s: Services, row: ClaimedRow): Promise<ClaimedMessage> {
  const { to_sealed, body_sealed, ...rest } = row;
  const [to, body] = await Promise.all([
    to_sealed === null ? null : s.pii.open(row.tenant_id, to_sealed),
    body_sealed === null ? null : s.pii.open(row.tenant_id, body_sealed),
  ]);
  return { ...rest, to_e164: to, body };
}

/** A message is claimable only while no attempt of its is open (started, no outcome). */
export const noOpenAttempt = sql`not exists (
  select 1 from message_attempts a where a.message_id = messages.id and a.outcome is null)`;

/** Claims one freshly accepted message for the dispatch that follows its response. */
export async function claimMessage(s: Services, messageId: string): Promise<ClaimedMessage | null> {
  const now = s.now();
  const result = await s.db.execute<ClaimedRow>(sql`
    update messages set dispatch_state = 'claimed',
      lease_until = ${new Date(now.getTime() + LEASE_MS)}, updated_at = ${now}
    where id = ${messageId} and dispatch_state = 'pending' and ${noOpenAttempt}
    returning ${claimedColumns}`);
  const row = result.rows[0];
  return row ? opened(s, row) : null;
}

/**
 * The ids of due work, oldest first: dispatch never started or its backoff elapsed, no live
 * lease, no open attempt. `skip locked` keeps overlapping ticks off each other's messages.
 */
export const dueMessages = (now: Date, limit: number) => sql`
  select id from messages
  where dispatch_state in ('pending', 'claimed') and next_attempt_at <= ${now}
    and (lease_until is null or lease_until < ${now}) and ${noOpenAttempt}
  order by next_attempt_at
  limit ${limit}
  for update skip locked`;

/**
 * Claims due work in one statement that moves the state and sets the lease:
 * `skip locked` keeps overlapping ticks off each other's messages.
 */
export async function claimDueMessages(
  s: Services,
  now: Date,
  limit: number,
): Promise<ClaimedMessage[]> {
  const result = await s.db.execute<ClaimedRow>(sql`
    update messages set dispatch_state = 'claimed',
      lease_until = ${new Date(now.getTime() + LEASE_MS)}, updated_at = ${s.now()}
    where id in (${dueMessages(now, limit)})
    returning ${claimedColumns}`);
  return Promise.all(result.rows.map((row) => opened(s, row)));
}

/** Gives a claimed message back to the scheduler (its dispatch ran out of time). */
export async function releaseMessage(s: Services, messageId: string): Promise<void> {
  await s.db.execute(sql`
    update messages set dispatch_state = 'pending', lease_until = null,
      next_attempt_at = ${s.now()}, updated_at = ${s.now()}
    where id = ${messageId} and dispatch_state = 'claimed'`);
}

/**
 * Attempts whose isolate died mid-call never recorded an outcome. They may have
 * reached the provider, so they become `outcome_unknown` and their messages wait
 * for a receipt instead of being sent again.
 */
export async function settleAbandonedAttempts(s: Services, now: Date): Promise<number> {
  const waitMs = s.config.OUTCOME_UNKNOWN_DEADLINE_S * 1000;
  const result = await s.db.execute(sql`
    with abandoned as (
      update message_attempts a set outcome = 'outcome_unknown', ended_at = ${s.now()},
        error_code = 'no_outcome_recorded',
        error_message = 'The dispatching invocation ended before the provider answered'
      from messages m
      where a.message_id = m.id and a.outcome is null and m.lease_until < ${now}
      returning a.message_id
    )
    update messages set dispatch_state = 'unknown', lease_until = null,
      outcome_deadline_at = ${new Date(now.getTime() + waitMs)}, updated_at = ${s.now()}
    where id in (select message_id from abandoned) and dispatch_state = 'claimed'`);
  return result.rowCount ?? 0;
}

/** Unknown outcomes whose receipt never came by the deadline end as failed. */
export async function expireUnknownOutcomes(
  s: Services,
  now: Date,
  limit: number,
): Promise<number> {
  const result = await s.db.execute<{ id: string }>(sql`
    select id from messages
    where dispatch_state = 'unknown' and outcome_deadline_at < ${now}
    order by outcome_deadline_at limit ${limit}`);
  for (const { id } of result.rows) {
    await applyStatus(s, {
      messageId: id,
      status: "failed",
      source: "scheduler",
      reason: "outcome_unknown",
      occurredAt: now,
    });
  }
  return result.rows.length;
}

/** Writes the attempt row before the provider is called: the record of intent. */
export async function startAttempt(
  s: Services,
  message: ClaimedMessage,
  providerName: string,
  sender: Sender | null = null,
): Promise<string> {
  const now = s.now();
  const attemptId = newId("att", now.getTime());
  await s.db.execute(sql`
    with attempt as (
      insert into message_attempts (id, message_id, tenant_id, provider, started_at, sender,
        resend_of)
      select ${attemptId}, m.id, m.tenant_id, ${providerName}, ${now}, ${sender?.value ?? null},
        -- After a failed receipt's re-send: link to the accepted attempt it replaces.
        case when m.resent then (
          select a.id from message_attempts a
          where a.message_id = m.id and a.outcome = 'accepted'
          order by a.started_at desc limit 1) end
      from messages m where m.id = ${message.id}
    )
    update messages set attempt_count = attempt_count + 1, provider = ${providerName},
      updated_at = ${now}
    where id = ${message.id}`);
  if (message.status === "queued" || message.status === "scheduled") {
    await applyStatus(s, {
      messageId: message.id,
      status: "sending",
      source: "dispatch",
      provider: providerName,
      occurredAt: now,
    });
    message.status = "sending";
  }
  return attemptId;
}

/** What the provider is asked to send; the status callback carries our id. */
export function buildSendRequest(
  s: Services,
  message: ClaimedMessage,
  provider: Provider,
  sender: Sender | null,
) {
  // dispatchClaimed fails erased messages before any provider is chosen.
  if (message.to_e164 === null || message.body === null) throw new Error("message was erased");
  const request: SendRequest = {
    messageId: message.id,
    to: message.to_e164,
    country: message.country,
    sender,
    body: message.body,
    type: message.type,
    segments: message.segments,
  };
  if (message.deadline_at) request.deadline = new Date(message.deadline_at);
  if (message.dlt) request.dlt = message.dlt;
  const base = s.config.PUBLIC_BASE_URL;
  if (base && provider.name === "twilio") {
    request.statusCallbackUrl = `${base.replace(/\/$/, "")}/webhooks/twilio/status?message_id=${message.id}`;
  }
  return request;
}

/** A claimed message whose number and body are still there (not erased). */
type Sendable = ClaimedMessage & { to_e164: string; body: string };

/** Calls the provider. A throw is turned into data: we cannot know whether it sent. */
export async function callProvider(provider: Provider, request: SendRequest): Promise<SendResult> {
  try {
    return await provider.send(request);
  } catch (error) {
    return { outcome: "outcome_unknown", errorCode: "exception", errorMessage: String(error) };
  }
}

/** Records the outcome on the attempt, then moves the message on as the policy says. */
export async function recordOutcome(
  s: Services,
  message: ClaimedMessage,
  providerName: string,
  attemptId: string,
  result: SendResult,
  step: NextStep,
): Promise<void> {
  const now = s.now();
  const accepted = result.outcome === "accepted" ? result : null;
  const failure = result.outcome === "accepted" ? null : result;
  const dispatch = {
    sent: sql`dispatch_state = 'done', lease_until = null`,
    failed: sql`dispatch_state = 'done', lease_until = null`,
    failover: sql`dispatch_state = dispatch_state`,
    retry: sql`dispatch_state = 'pending', lease_until = null,
      next_attempt_at = ${step.kind === "retry" ? step.at : now},
      round_started_at = ${step.kind === "retry" ? step.at : now},
      retry_round = retry_round + 1`,
    await_receipt: sql`dispatch_state = 'unknown', lease_until = null,
      outcome_deadline_at = ${step.kind === "await_receipt" ? step.until : now}`,
  }[step.kind];
  await s.db.execute(sql`
    with attempt as (
      update message_attempts set ended_at = ${now}, outcome = ${result.outcome},
        provider_message_id = ${accepted?.providerMessageId ?? null},
        cost_micros = ${accepted?.costMicros ?? null}, currency = ${accepted?.currency ?? null},
        error_code = ${failure?.errorCode ?? null},
        error_message = ${failure ? maskPhonesInText(failure.errorMessage) : null}
      where id = ${attemptId}
    )
    update messages set ${dispatch},
      provider_message_id = coalesce(${accepted?.providerMessageId ?? null}, provider_message_id),
      updated_at = ${now}
    where id = ${message.id}`);
  // Budget: the provider's price replaces the reservation; a send nobody took costs nothing.
  if (message.reserved_at !== null) {
    if (accepted?.costMicros !== undefined) await settleBudget(s, message.id, accepted.costMicros);
    else if (step.kind === "failed") await settleBudget(s, message.id, 0);
  }
  // The provider says the person opted out: so does the gateway from now on.
  if (message.to_e164) {
    await recordProviderOptOut(s, message.tenant_id, message.to_e164, providerName, result);
  }
  if (step.kind === "sent" || step.kind === "failed") {
    await applyStatus(s, {
      messageId: message.id,
      status: step.kind,
      source: "dispatch",
      provider: providerName,
      ...(step.kind === "failed" ? { reason: step.reason, errorCode: failure?.errorCode } : {}),
      occurredAt: now,
    });
  }
  s.log.info("dispatch attempt", {
    message_id: message.id,
    provider: providerName,
    outcome: result.outcome,
    error_code: failure?.errorCode,
    next: step.kind,
  });
}

interface ChainStep {
  provider: Provider;
  sender: Sender | null;
}

/** The providers to try, in order: the sandbox for test keys, routing's chain for live ones. */
async function chainFor(
  s: Services,
  message: Sendable,
): Promise<{ steps: ChainStep[]; whyEmpty: string }> {
  if (message.mode === "test") {
    const sandbox = sandboxProvider(s, message.tenant_id);
    return { steps: [{ provider: sandbox, sender: null }], whyEmpty: "" };
  }
  const { ctx, decision } = await routeStored(s, message);
  const steps = decision.chain.flatMap((step) => {
    const provider = ctx.providers[step.provider];
    if (!provider || message.tried.includes(step.provider)) return [];
    return [
      { provider, sender: step.sender && { kind: step.sender.kind, value: step.sender.value } },
    ];
  });
  const whyEmpty = decision.skipped.map((k) => `${k.provider}: ${k.reason}`).join("; ");
  return { steps, whyEmpty: whyEmpty || "no provider matches" };
}

/** Whether a provider's answer says the provider itself is healthy (for its circuit breaker). */
const providerHealthy = (result: SendResult) =>
  result.outcome === "accepted" || result.outcome === "rejected_permanent";

/** A message ready for its first provider call, and the providers to try in order. */
interface ReadyMessage {
  message: Sendable;
  steps: ChainStep[];
}

/**
 * Everything before the first provider call: erased data, deadline and quiet hours, the
 * route, the budget reservation. Null when the message went no further (each case recorded).
 */
async function readyToSend(s: Services, message: ClaimedMessage): Promise<ReadyMessage | null> {
  if (message.to_e164 === null || message.body === null) {
    // The person's data was erased (DELETE /v1/subjects) before it could be sent.
    await applyStatus(s, {
      messageId: message.id,
      status: "failed",
      source: "dispatch",
      reason: "erased: the recipient's personal data was deleted",
      occurredAt: s.now(),
    });
    return null;
  }
  const sendable: Sendable = { ...message, to_e164: message.to_e164, body: message.body };
  if (await notNow(s, sendable)) return null;
  const { steps, whyEmpty } = await chainFor(s, sendable);
  if (steps.length === 0 && message.tried.length > 0) {
    // Every provider of the route was tried this round (in earlier invocations).
    await startNextRound(s, message);
    return null;
  }
  if (steps.length === 0) {
    await applyStatus(s, {
      messageId: message.id,
      status: "failed",
      source: "dispatch",
      reason: `no_route: ${whyEmpty}`,
      occurredAt: s.now(),
    });
    return null;
  }
  // Live sends count against the tenant's spend caps: reserved once, before the first attempt.
  if (message.mode === "live" && message.reserved_at === null) {
    if (!(await reserveBudget(s, message))) {
      await applyStatus(s, {
        messageId: message.id,
        status: "failed",
        source: "dispatch",
        reason: "budget_exceeded",
        occurredAt: s.now(),
      });
      return null;
    }
    sendable.reserved_at = s.now().toISOString();
  }
  return { message: sendable, steps };
}

/** Books the call's slot at the send rates (src/kv/send-pacing.ts); false: out of time. */
function paced(
  s: Services,
  message: Sendable,
  step: ChainStep,
  parts: number,
  budgetEndsAt: number,
) {
  const slot = {
    provider: step.provider.name,
    sender: step.sender?.value ?? null,
    tenantId: message.tenant_id,
    parts,
    lane: laneOf(message),
  };
  return awaitSendSlot(s, slot, budgetEndsAt - s.config.PROVIDER_TIMEOUT_MS);
}

/** After a provider call: the circuit breaker's count (live sends). */
async function countCall(s: Services, message: Sendable, provider: string, result: SendResult) {
  if (message.mode !== "live") return;
  await recordCall(s.redis, provider, providerHealthy(result), s.now()).catch((error) =>
    s.log.warn("circuit breaker update failed", { error: String(error) }),
  );
}

/** The outcome on record and the message moved on, as the dispatch policy says. */
async function settleCall(
  s: Services,
  message: Sendable,
  provider: string,
  attemptId: string,
  result: SendResult,
  hasNextProvider: boolean,
): Promise<NextStep> {
  message.attempt_count += 1;
  const step = nextStep({
    outcome: result.outcome,
    errorCode: result.outcome === "accepted" ? undefined : result.errorCode,
    type: message.type,
    attemptsMade: message.attempt_count,
    maxAttempts: s.config.DISPATCH_MAX_ATTEMPTS,
    hasNextProvider,
    retryRound: message.retry_round,
    now: s.now(),
    jitter: Math.random(),
    unknownOutcomeWaitMs: s.config.OUTCOME_UNKNOWN_DEADLINE_S * 1000,
  });
  await recordOutcome(s, message, provider, attemptId, result, step);
  return step;
}

/**
 * For each provider of the chain in turn: attempt on record, call, outcome on record; fail
 * over only when the failure proves the provider did not take the message. A step that
 * cannot finish before `budgetEndsAt` is left to the scheduler.
 */
async function tryChain(
  s: Services,
  message: Sendable,
  steps: ChainStep[],
  budgetEndsAt: number,
): Promise<void> {
  for (const [index, step] of steps.entries()) {
    if (Date.now() + s.config.PROVIDER_TIMEOUT_MS > budgetEndsAt) {
      await releaseMessage(s, message.id);
      return;
    }
    if (!(await paced(s, message, step, message.segments, budgetEndsAt))) {
      await releaseMessage(s, message.id);
      return;
    }
    const { provider, sender } = step;
    const attemptId = await startAttempt(s, message, provider.name, sender);
    const result = await callProvider(provider, buildSendRequest(s, message, provider, sender));
    await countCall(s, message, provider.name, result);
    const next = await settleCall(
      s,
      message,
      provider.name,
      attemptId,
      result,
      index < steps.length - 1,
    );
    if (next.kind !== "failover") return;
  }
}

/** The whole path for one claimed message (inline after acceptance, or the scheduler's). */
export async function dispatchClaimed(
  s: Services,
  message: ClaimedMessage,
  budgetEndsAt: number,
): Promise<void> {
  const ready = await readyToSend(s, message);
  if (ready) await tryChain(s, ready.message, ready.steps, budgetEndsAt);
}

/** Most recipients in one multi-recipient call. */
const MAX_GROUP = 100;

/**
 * Messages whose first provider takes several recipients in one call (Africa's Talking)
 * and that share it, the sender and the body travel together; the others alone.
 */
function groupForSendMany(ready: ReadyMessage[]): ReadyMessage[][] {
  const groups = new Map<string, ReadyMessage[]>();
  const alone: ReadyMessage[][] = [];
  for (const item of ready) {
    const [first] = item.steps;
    const key = JSON.stringify([
      item.message.tenant_id,
      first?.provider.name,
      first?.sender?.kind ?? null,
      first?.sender?.value ?? null,
      item.message.body,
    ]);
    const group = groups.get(key) ?? [];
    // A number twice in one call cannot be told apart in the answer: the second goes alone.
    const twice = group.some((other) => other.message.to_e164 === item.message.to_e164);
    if (!first?.provider.sendMany || item.message.mode !== "live" || twice) {
      alone.push([item]);
      continue;
    }
    group.push(item);
    if (group.length === MAX_GROUP) {
      alone.push(group);
      groups.delete(key);
    } else groups.set(key, group);
  }
  return [...alone, ...groups.values()];
}

/**
 * One multi-recipient call for a group: an attempt on record for each message, one call,
 * each recipient's own outcome on record (a call without an answer leaves every one of them
 * outcome_unknown), then, for those whose failure allows it, the rest of their chain alone.
 */
async function sendGroup(s: Services, group: ReadyMessage[], budgetEndsAt: number) {
  const [lead] = group;
  const step = lead?.steps[0];
  if (!lead || !step) return;
  if (group.length === 1) return tryChain(s, lead.message, lead.steps, budgetEndsAt);
  const { provider, sender } = step;
  if (!provider.sendMany) throw new Error(`${provider.name} has no multi-recipient send`);
  const parts = group.reduce((sum, item) => sum + item.message.segments, 0);
  if (
    Date.now() + s.config.PROVIDER_TIMEOUT_MS > budgetEndsAt ||
    !(await paced(s, lead.message, step, parts, budgetEndsAt))
  ) {
    await Promise.all(group.map((item) => releaseMessage(s, item.message.id)));
    return;
  }
  const attemptIds = await Promise.all(
    group.map((item) => startAttempt(s, item.message, provider.name, sender)),
  );
  const requests = group.map((item) => buildSendRequest(s, item.message, provider, sender));
  const results = await provider.sendMany(requests).catch((error: unknown) =>
    requests.map(
      (): SendResult => ({
        outcome: "outcome_unknown",
        errorCode: "exception",
        errorMessage: String(error),
      }),
    ),
  );
  await countCall(s, lead.message, provider.name, results[0] ?? unknownResult);
  await Promise.all(
    group.map(async (item, i) => {
      const next = await settleCall(
        s,
        item.message,
        provider.name,
        attemptIds[i] as string,
        results[i] ?? unknownResult,
        item.steps.length > 1,
      );
      if (next.kind !== "failover") return;
      item.message.tried.push(provider.name);
      await tryChain(s, item.message, item.steps.slice(1), budgetEndsAt);
    }),
  );
}

const unknownResult: SendResult = {
  outcome: "outcome_unknown",
  errorCode: "no_result",
  errorMessage: "The provider call returned no result for this recipient",
};

/**
 * Checks, right before sending, what may have changed since acceptance: a
 * deadline that passed (the message expires: never sent late) and quiet hours
 * in the recipient's time zones (the message waits for its window).
 */
async function notNow(s: Services, message: Sendable): Promise<boolean> {
  const now = s.now();
  if (message.deadline_at && now >= new Date(message.deadline_at)) {
    await applyStatus(s, {
      messageId: message.id,
      status: "expired",
      source: "dispatch",
      reason: "valid_until passed before it could be sent",
      occurredAt: now,
    });
    return true;
  }
  const window = checkQuietHours({
    type: message.type,
    e164: message.to_e164,
    country: message.country,
    now,
    policy: effectiveQuietHours(s.config.QUIET_HOURS_POLICY, message.quiet_hours_policy),
    ...(message.recipient_time_zone ? { recipientTimeZone: message.recipient_time_zone } : {}),
  });
  if (window.allowed) return false;
  // Queued and scheduled are both waiting states (same rank): this is not a step back.
  await s.db.execute(sql`
    update messages set status = case when status = 'queued' then 'scheduled' else status end,
      status_reason = 'quiet hours', scheduled_for = ${window.nextAllowedAt}, next_attempt_at = ${window.nextAllowedAt},
      dispatch_state = 'pending', lease_until = null, updated_at = ${now}
    where id = ${message.id}`);
  return true;
}

async function startNextRound(s: Services, message: ClaimedMessage): Promise<void> {
  const at = new Date(
    s.now().getTime() + jittered(backoffMs(message.retry_round + 1), Math.random()),
  );
  await s.db.execute(sql`
    update messages set dispatch_state = 'pending', lease_until = null, next_attempt_at = ${at},
      round_started_at = ${at}, retry_round = retry_round + 1, updated_at = ${s.now()}
    where id = ${message.id}`);
}

/** Parallel dispatches per invocation: below Workers' 6 open connections. */
const CONCURRENCY = 3;

/**
 * Dispatches claimed messages a few at a time (a scheduler tick, a queue consumer), those
 * that can share a multi-recipient call together. One message's failure does not stop the
 * others: its lease lets a later tick take it. Out of time, the rest are given back rather
 * than left leased.
 */
export async function dispatchAll(
  s: Services,
  claimed: ClaimedMessage[],
  budgetEndsAt: number,
): Promise<void> {
  const ready: ReadyMessage[] = [];
  await inParallel(claimed, async (message) => {
    if (Date.now() >= budgetEndsAt) return releaseMessage(s, message.id);
    const item = await readyToSend(s, message);
    if (item) ready.push(item);
  });
  await inParallel(groupForSendMany(ready), async (group) => {
    if (Date.now() >= budgetEndsAt) {
      await Promise.all(group.map((item) => releaseMessage(s, item.message.id)));
      return;
    }
    await sendGroup(s, group, budgetEndsAt);
  });

  /** `CONCURRENCY` at a time; a failure is logged, not thrown. */
  async function inParallel<T>(items: T[], task: (item: T) => Promise<unknown>) {
    const queue = [...items];
    const worker = async () => {
      for (let item = queue.shift(); item; item = queue.shift()) {
        await task(item).catch((error: unknown) =>
          s.log.error("dispatch failed", { error: String(error) }),
        );
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  }
}

/** Dispatch right after acceptance (in waitUntil); the scheduler is the safety net. */
export async function dispatchNow(s: Services, messageId: string): Promise<void> {
  const message = await claimMessage(s, messageId);
  if (message) await dispatchClaimed(s, message, Date.now() + INLINE_BUDGET_MS);
}
