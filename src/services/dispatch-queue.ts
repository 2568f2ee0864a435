import { sql } from "drizzle-orm";
import type { Services } from "../context";
import type { MessageType } from "../domain/providers";
import { type Lane, laneOf } from "../domain/send-rates";
import {
  type ClaimedRow,
  claimedColumns,
  dispatchAll,
  dueMessages,
  LEASE_MS,
  noOpenAttempt,
  opened,
} from "./dispatch";

/**
 * Dispatch on Cloudflare Queues: acceptance (bulk) and the scheduler enqueue message ids; the
 * consumers (the Worker's `queue` handler) claim and send them, paced per sender and provider
 * (src/kv/send-pacing.ts). Two queues: the priority lane carries OTPs and single transactional
 * messages, so they never wait behind a bulk batch; the bulk lane the rest. A job is a chunk of
 * ids, so 10,000 recipients are 4 `sendBatch` calls. A job a queue loses is no loss: its
 * messages are due in Postgres and the scheduler enqueues them again.
 */

export interface DispatchJob {
  ids: string[];
}

export interface DispatchQueues {
  priority: Queue<DispatchJob>;
  bulk: Queue<DispatchJob>;
}

/** Ids per job; a consumer batch holds a few jobs (wrangler.toml). */
export const JOB_SIZE = 25;
/** Jobs per `sendBatch` call: the Queues limit. */
const SEND_BATCH_MAX = 100;
/** A consumer sends until then, and gives back what is left: well inside the lease. */
export const CONSUMER_BUDGET_MS = LEASE_MS - 30_000;

/**
 * How long an enqueued message is left to its queue: past it, the scheduler enqueues it
 * again (the queue lost it), long enough for a large batch to drain at its send rate.
 */
export const QUEUE_SAFETY_NET_MS = 15 * 60_000;

/** A consumer batch that failed is delivered again after this long (max_retries in wrangler.toml). */
export const QUEUE_RETRY_DELAY_S = 10;

export async function enqueue(s: Services, lane: Lane, ids: string[]): Promise<void> {
  const queue = s.queues?.[lane];
  if (!queue || ids.length === 0) return;
  const jobs: { body: DispatchJob }[] = [];
  for (let i = 0; i < ids.length; i += JOB_SIZE)
    jobs.push({ body: { ids: ids.slice(i, i + JOB_SIZE) } });
  for (let i = 0; i < jobs.length; i += SEND_BATCH_MAX) {
    s.io.queueSends++;
    await queue.sendBatch(jobs.slice(i, i + SEND_BATCH_MAX));
  }
}

/**
 * Claims the batch's messages in one statement (those still pending, or whose lease
 * expired; a message claimed elsewhere, finished or not yet due is skipped), then sends them.
 */
export async function consumeJobs(s: Services, jobs: DispatchJob[]): Promise<number> {
  const ids = [...new Set(jobs.flatMap((job) => job.ids))];
  if (ids.length === 0) return 0;
  const now = s.now();
  const result = await s.db.execute<ClaimedRow>(sql`
    update messages set dispatch_state = 'claimed',
      lease_until = ${new Date(now.getTime() + LEASE_MS)}, updated_at = ${now}
    where id = any(${sql.param(ids)}::text[])
      and (dispatch_state = 'pending' or (dispatch_state = 'claimed' and lease_until < ${now}))
      -- A job redelivered late never sends a scheduled message before its time.
      and (scheduled_for is null or scheduled_for <= ${now})
      and ${noOpenAttempt}
    returning ${claimedColumns}`);
  const claimed = await Promise.all(result.rows.map((row) => opened(s, row)));
  await dispatchAll(s, claimed, Date.now() + CONSUMER_BUDGET_MS);
  return claimed.length;
}

/**
 * Scheduler: hands due messages (scheduled ones whose time came, retries, leases of dead
 * isolates, jobs a queue lost) to the queues, in one statement that also moves their next
 * look to the safety net's horizon. Nothing without queues: the tick dispatches itself.
 */
export async function enqueueDue(s: Services, now: Date, limit: number): Promise<number> {
  if (!s.queues) return 0;
  const result = await s.db.execute<{ id: string; type: MessageType; batch_id: string | null }>(sql`
    update messages set next_attempt_at = ${new Date(now.getTime() + QUEUE_SAFETY_NET_MS)},
      updated_at = ${s.now()}
    where id in (${dueMessages(now, limit)})
    returning id, type, batch_id`);
  const byLane: Record<Lane, string[]> = { priority: [], bulk: [] };
  for (const row of result.rows) byLane[laneOf(row)].push(row.id);
  await enqueue(s, "priority", byLane.priority);
  await enqueue(s, "bulk", byLane.bulk);
  return result.rows.length;
}
