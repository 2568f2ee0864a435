import { sql } from "drizzle-orm";
import type { Services } from "../context";
import { nextStep } from "../domain/dispatch-policy";
import { newId } from "../lib/ids";
import type { Provider, SendResult } from "../providers/types";
import { providersFor } from "./providers";
import { applyStatus } from "./status";

/**
 * A claimed message is leased to one invocation. The lease outlives the
 * provider timeout and the ~30 s a waitUntil may run, so it only expires when
 * the isolate holding it is gone.
 */
export const LEASE_MS = 120_000;

export type ClaimedMessage = {
  id: string;
  tenant_id: string;
  mode: "test" | "live";
  to_e164: string;
  country: string;
  from_sender: string | null;
  body: string;
  type: "transactional" | "promotional" | "otp";
  segments: number;
  status: string;
  attempt_count: number;
};

const claimedColumns = sql`id, tenant_id, mode, to_e164, country, from_sender, body, type, segments, status,
  attempt_count`;

/** A message is claimable only while no attempt of its is open (started, no outcome). */
const noOpenAttempt = sql`not exists (
  select 1 from message_attempts a where a.message_id = messages.id and a.outcome is null)`;

/** Claims one freshly accepted message for the dispatch that follows its response. */
export async function claimMessage(s: Services, messageId: string): Promise<ClaimedMessage | null> {
  const now = s.now();
  const result = await s.db.execute<ClaimedMessage>(sql`
    update messages set dispatch_state = 'claimed',
      lease_until = ${new Date(now.getTime() + LEASE_MS)}, updated_at = ${now}
    where id = ${messageId} and dispatch_state = 'pending' and ${noOpenAttempt}
    returning ${claimedColumns}`);
  return result.rows[0] ?? null;
}

/**
 * Claims due work in one statement that moves the state and sets the lease:
 * `skip locked` keeps overlapping ticks off each other's messages.
 */
export async function claimDueMessages(
  s: Services,
  now: Date,
  limit: number,
): Promise<ClaimedMessage[]> {
  const result = await s.db.execute<ClaimedMessage>(sql`
    update messages set dispatch_state = 'claimed',
      lease_until = ${new Date(now.getTime() + LEASE_MS)}, updated_at = ${s.now()}
    where id in (
      select id from messages
      where dispatch_state in ('pending', 'claimed') and next_attempt_at <= ${now}
        and (lease_until is null or lease_until < ${now}) and ${noOpenAttempt}
      order by next_attempt_at
      limit ${limit}
      for update skip locked)
    returning ${claimedColumns}`);
  return result.rows;
}

/**
 * Attempts whose isolate died mid-call never recorded an outcome. They may have
 * reached the provider, so they become `outcome_unknown` and their messages wait
 * for a receipt instead of being sent again.
 */
export async function settleAbandonedAttempts(s: Services, now: Date): Promise<number> {
  const result = await s.db.execute(sql`
    with abandoned as (
      update message_attempts a set outcome = 'outcome_unknown', ended_at = ${s.now()},
        error_code = 'no_outcome_recorded',
        error_message = 'The dispatching invocation ended before the provider answered'
      from messages m
      where a.message_id = m.id and a.outcome is null and m.lease_until < ${now}
      returning a.message_id
    )
    update messages set dispatch_state = 'unknown', lease_until = null, updated_at = ${s.now()}
    where id in (select message_id from abandoned) and dispatch_state = 'claimed'`);
  return result.rowCount ?? 0;
}

/** Writes the attempt row before the provider is called: the record of intent. */
export async function startAttempt(
  s: Services,
  message: ClaimedMessage,
  provider: Provider,
): Promise<string> {
  const now = s.now();
  const attemptId = newId("att", now.getTime());
  await s.db.execute(sql`
    with attempt as (
      insert into message_attempts (id, message_id, tenant_id, provider, started_at)
      values (${attemptId}, ${message.id}, ${message.tenant_id}, ${provider.name}, ${now})
    )
    update messages set attempt_count = attempt_count + 1, provider = ${provider.name},
      updated_at = ${now}
    where id = ${message.id}`);
  if (message.status === "queued") {
    await applyStatus(s, {
      messageId: message.id,
      status: "sending",
      source: "dispatch",
      provider: provider.name,
      occurredAt: now,
    });
  }
  return attemptId;
}

/** Calls the provider. A throw is turned into data: we cannot know whether it sent. */
export async function callProvider(
  provider: Provider,
  message: ClaimedMessage,
): Promise<SendResult> {
  try {
    return await provider.send({
      messageId: message.id,
      to: message.to_e164,
      country: message.country,
      sender: null,
      body: message.body,
      type: message.type,
      segments: message.segments,
    });
  } catch (error) {
    return { outcome: "outcome_unknown", errorCode: "exception", errorMessage: String(error) };
  }
}

/** Records the outcome on the attempt, then moves the message on by the dispatch policy. */
export async function recordOutcome(
  s: Services,
  message: ClaimedMessage,
  provider: Provider,
  attemptId: string,
  result: SendResult,
): Promise<void> {
  const now = s.now();
  const attemptNumber = message.attempt_count + 1;
  const accepted = result.outcome === "accepted" ? result : null;
  const failure = result.outcome === "accepted" ? null : result;
  const step = nextStep(
    result.outcome,
    failure?.errorCode,
    attemptNumber,
    s.config.DISPATCH_MAX_ATTEMPTS,
    now,
  );
  const dispatchState =
    step.kind === "retry" ? "pending" : step.kind === "await_receipt" ? "unknown" : "done";
  await s.db.execute(sql`
    with attempt as (
      update message_attempts set ended_at = ${now}, outcome = ${result.outcome},
        provider_message_id = ${accepted?.providerMessageId ?? null},
        cost_micros = ${accepted?.costMicros ?? null}, currency = ${accepted?.currency ?? null},
        error_code = ${failure?.errorCode ?? null}, error_message = ${failure?.errorMessage ?? null}
      where id = ${attemptId}
    )
    update messages set dispatch_state = ${dispatchState}, lease_until = null,
      next_attempt_at = ${step.kind === "retry" ? step.at : now},
      provider_message_id = coalesce(${accepted?.providerMessageId ?? null}, provider_message_id),
      updated_at = ${now}
    where id = ${message.id}`);
  if (step.kind === "sent" || step.kind === "failed") {
    await applyStatus(s, {
      messageId: message.id,
      status: step.kind,
      source: "dispatch",
      provider: provider.name,
      ...(step.kind === "failed" ? { reason: step.reason, errorCode: failure?.errorCode } : {}),
      occurredAt: now,
    });
  }
  s.log.info("dispatch attempt", {
    message_id: message.id,
    provider: provider.name,
    outcome: result.outcome,
    next: step.kind,
  });
}

/** The whole path for one claimed message: attempt on record, call, outcome on record. */
export async function dispatchClaimed(s: Services, message: ClaimedMessage): Promise<void> {
  const provider = providersFor(s, message.mode)[0];
  if (!provider) {
    await applyStatus(s, {
      messageId: message.id,
      status: "failed",
      source: "dispatch",
      reason: "no_provider_available",
      occurredAt: s.now(),
    });
    return;
  }
  const attemptId = await startAttempt(s, message, provider);
  const result = await callProvider(provider, message);
  await recordOutcome(s, message, provider, attemptId, result);
}

/** Dispatch right after acceptance (in waitUntil); the scheduler is the safety net. */
export async function dispatchNow(s: Services, messageId: string): Promise<void> {
  const message = await claimMessage(s, messageId);
  if (message) await dispatchClaimed(s, message);
}
