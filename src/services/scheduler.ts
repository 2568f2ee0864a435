import type { Services } from "../context";
import { syncBlocklistCache } from "./blocklist";
import { reconcileBudgets } from "./budgets";
import {
  claimDueMessages,
  dispatchAll,
  expireUnknownOutcomes,
  settleAbandonedAttempts,
} from "./dispatch";
import { enqueueDue } from "./dispatch-queue";
import { pushDue } from "./provider-list-sync";
import { type PurgeSummary, purgeExpiredPersonalData } from "./retention";
import { deliverDueWebhooks } from "./webhook-delivery";

/** Due messages one tick hands to the queues beyond those it sends itself: 2 `sendBatch` calls. */
const ENQUEUE_PER_TICK = 10_000;
/** A tick finishes its dispatches well before the next tick a minute later. */
const TICK_BUDGET_MS = 45_000;

export interface TickSummary {
  abandoned: number;
  expired: number;
  claimed: number;
  enqueued: number;
  webhooks: number;
  optOutListsPushed: number;
  purged: PurgeSummary;
}

/**
 * One Cron tick: settle attempts whose isolate died, fail unknown outcomes past
 * their deadline, then claim a bounded batch of due messages and dispatch them,
 * and hand the due messages beyond that batch to the dispatch queues (when bound),
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
  // The queues send by the clock: what is due now, whatever time the tick is judged at (a
  // late tick, or a test's tick set ahead, sends its own batch above).
  const enqueued = await enqueueDue(s, new Date(), ENQUEUE_PER_TICK);
  await dispatchAll(s, claimed, budgetEndsAt);
  const webhooks = await deliverDueWebhooks(s, now, budgetEndsAt);
  const optOutListsPushed = await pushDue(s, now);
  const purged = await purgeExpiredPersonalData(s, now);
  await syncBlocklistCache(s);
  await reconcileBudgets(s, now);
  const summary = {
    abandoned,
    expired,
    claimed: claimed.length,
    enqueued,
    webhooks,
    optOutListsPushed,
  };
  s.log.info("scheduler tick", { ...summary, purged });
  return { ...summary, purged };
}
