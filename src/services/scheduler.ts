import type { Services } from "../context";
import { syncBlocklistCache } from "./blocklist";
import { reconcileBudgets } from "./budgets";
import {
  claimDueMessages,
  dispatchClaimed,
  expireUnknownOutcomes,
  releaseMessage,
  settleAbandonedAttempts,
} from "./dispatch";
import { pushDue } from "./provider-list-sync";
import { type PurgeSummary, purgeExpiredPersonalData } from "./retention";
import { deliverDueWebhooks } from "./webhook-delivery";

/** Parallel dispatches per tick: below the pool size and Workers' 6 open connections. */
const CONCURRENCY = 3;
/** A tick finishes its dispatches well before the next tick a minute later. */
const TICK_BUDGET_MS = 45_000;

export interface TickSummary {
  abandoned: number;
  expired: number;
  claimed: number;
  webhooks: number;
  optOutListsPushed: number;
  purged: PurgeSummary;
}

/**
 * One Cron tick: settle attempts whose isolate died, fail unknown outcomes past
 * their deadline, then claim a bounded batch of due messages and dispatch them,
 * then deliver due customer webhooks (retries and dead letters), push opt-outs to the
 * providers' lists, and purge personal data past its retention.
 * What does not fit stays due for the next tick, so a tick stays within one
 * invocation's CPU and subrequest limits.
 */
export async function runSchedulerTick(s: Services, now: Date): Promise<TickSummary> {
  const budgetEndsAt = Date.now() + TICK_BUDGET_MS;
  const abandoned = await settleAbandonedAttempts(s, now);
  const expired = await expireUnknownOutcomes(s, now, s.config.SCHEDULER_BATCH_SIZE);
  const claimed = await claimDueMessages(s, now, s.config.SCHEDULER_BATCH_SIZE);
  const queue = [...claimed];
  const worker = async () => {
    for (let message = queue.shift(); message; message = queue.shift()) {
      // Out of time: give the rest back now rather than leave them leased.
      if (Date.now() >= budgetEndsAt) {
        await releaseMessage(s, message.id);
        continue;
      }
      // One message's failure must not stop the tick; its lease lets a later tick take it.
      await dispatchClaimed(s, message, budgetEndsAt).catch((error: unknown) =>
        s.log.error("dispatch failed", { message_id: message.id, error: String(error) }),
      );
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const webhooks = await deliverDueWebhooks(s, now, budgetEndsAt);
  const optOutListsPushed = await pushDue(s, now);
  const purged = await purgeExpiredPersonalData(s, now);
  await syncBlocklistCache(s);
  await reconcileBudgets(s, now);
  const summary = { abandoned, expired, claimed: claimed.length, webhooks, optOutListsPushed };
  s.log.info("scheduler tick", { ...summary, purged });
  return { ...summary, purged };
}
