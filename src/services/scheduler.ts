import type { Services } from "../context";
import { claimDueMessages, dispatchClaimed, settleAbandonedAttempts } from "./dispatch";

/** Parallel dispatches per tick: below the pool size and Workers' 6 open connections. */
const CONCURRENCY = 3;

export interface TickSummary {
  abandoned: number;
  claimed: number;
}

/**
 * One Cron tick: settle attempts whose isolate died, then claim a bounded batch
 * of due messages and dispatch them. What does not fit stays due for the next
 * tick, so a tick stays within one invocation's CPU and subrequest limits.
 */
export async function runSchedulerTick(s: Services, now: Date): Promise<TickSummary> {
  const abandoned = await settleAbandonedAttempts(s, now);
  const claimed = await claimDueMessages(s, now, s.config.SCHEDULER_BATCH_SIZE);
  const queue = [...claimed];
  const worker = async () => {
    for (let message = queue.shift(); message; message = queue.shift()) {
      // One message's failure must not stop the tick; its lease lets a later tick take it.
      await dispatchClaimed(s, message).catch((error: unknown) =>
        s.log.error("dispatch failed", { message_id: message.id, error: String(error) }),
      );
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  s.log.info("scheduler tick", { abandoned, claimed: claimed.length });
  return { abandoned, claimed: claimed.length };
}
