import type { Redis } from "@upstash/redis/cloudflare";
import { sql } from "drizzle-orm";
import type { Services } from "../context";
import {
  type BudgetCaps,
  budgetCaps,
  budgetDocumentSchema,
  budgetPeriods,
  crossedThresholds,
} from "../domain/budgets";
import { formatMoney } from "../domain/pricing";
import { ApiError } from "../errors";
import { luaScript } from "../kv/scripts";
import { emitEvent } from "./events";

/**
 * Daily and monthly spend caps for live messages. A message's estimated cost is reserved at
 * dispatch, atomically in Redis against both caps (so concurrent dispatches never exceed
 * them), and written to Postgres as the message's `spent_micros`; once the provider states its
 * price the reservation is settled to it, and a send no provider took is released. Postgres
 * is the truth: the scheduler lifts a Redis total that fell below it (Redis flushed, a lost
 * write). Acceptance of a live message sent now checks the caps without reserving, in the
 * policy step's pipeline, so a send that would exceed them is refused up front.
 */

const keys = (tenantId: string, at: Date) => {
  const { day, month } = budgetPeriods(at);
  return [`budget:${tenantId}:d:${day}`, `budget:${tenantId}:m:${month}`];
};

/** Totals live a little longer than their period, for the reconciliation to compare. */
const TTL_SECONDS = { day: 3 * 86_400, month: 40 * 86_400 };

/**
 * KEYS: day total, month total. ARGV: amount, day cap, month cap, mode ("check" | "reserve"
 * | "adjust"), day TTL, month TTL. Check and reserve refuse (0) when the amount would take a
 * total over its cap; adjust (a settlement or a release) always applies. Returns {ok, day
 * total, month total} after the call.
 */
const BUDGET = luaScript<[number, number, number]>(`
local amount = tonumber(ARGV[1])
local day = tonumber(redis.call("GET", KEYS[1]) or "0")
local month = tonumber(redis.call("GET", KEYS[2]) or "0")
if ARGV[4] ~= "adjust" and (day + amount > tonumber(ARGV[2]) or month + amount > tonumber(ARGV[3])) then
  return {0, day, month}
end
if ARGV[4] == "check" then return {1, day, month} end
day = redis.call("INCRBY", KEYS[1], amount)
month = redis.call("INCRBY", KEYS[2], amount)
redis.call("EXPIRE", KEYS[1], tonumber(ARGV[5]))
redis.call("EXPIRE", KEYS[2], tonumber(ARGV[6]))
return {1, day, month}`);

type Mode = "check" | "reserve" | "adjust";

function budgetCall(
  redis: Redis,
  tenantId: string,
  at: Date,
  amount: number,
  caps: BudgetCaps,
  mode: Mode,
) {
  return BUDGET.run(redis, keys(tenantId, at), [
    String(amount),
    String(caps.dailyMicros),
    String(caps.monthlyMicros),
    mode,
    String(TTL_SECONDS.day),
    String(TTL_SECONDS.month),
  ]);
}

export function capsFor(s: Services, tenantBudget: unknown): BudgetCaps {
  const tenant = budgetDocumentSchema.safeParse(tenantBudget ?? {});
  return budgetCaps(s.config.BUDGET_POLICY, tenant.success ? tenant.data : null);
}

export const budgetExceeded = (caps: BudgetCaps) =>
  new ApiError(
    "budget_exceeded",
    `This send would exceed the tenant's spend cap (${formatMoney(caps.dailyMicros)} USD a day, ` +
      `${formatMoney(caps.monthlyMicros)} USD a month)`,
  );

/** The acceptance check: issued synchronously (after `ready`) so it joins the policy pipeline. */
export async function budgetReady(): Promise<void> {
  await BUDGET.ready();
}

export function checkBudget(
  redis: Redis,
  tenantId: string,
  at: Date,
  amount: number,
  caps: BudgetCaps,
): Promise<boolean> {
  return budgetCall(redis, tenantId, at, amount, caps, "check").then(([ok]) => ok === 1);
}

/**
 * What the caps leave (micros) before either is reached: a bulk send admits its live
 * recipients in order until it is spent. Issued synchronously after `budgetReady`, like the
 * check.
 */
export function budgetHeadroom(
  redis: Redis,
  tenantId: string,
  at: Date,
  caps: BudgetCaps,
): Promise<number> {
  return budgetCall(redis, tenantId, at, 0, caps, "check").then(([, day, month]) =>
    Math.min(caps.dailyMicros - day, caps.monthlyMicros - month),
  );
}

/** At dispatch: reserves the estimate. False when a cap would be exceeded. */
export async function reserveBudget(
  s: Services,
  message: { id: string; tenant_id: string; estimated_cost_micros: number; budget: unknown },
): Promise<boolean> {
  const caps = capsFor(s, message.budget);
  const now = s.now();
  const amount = message.estimated_cost_micros;
  await BUDGET.ready();
  const [ok, day, month] = await budgetCall(
    s.redis,
    message.tenant_id,
    now,
    amount,
    caps,
    "reserve",
  );
  if (ok !== 1) {
    await thresholdEvent(s, message.tenant_id, now, "day", 100, day, caps.dailyMicros);
    return false;
  }
  await s.db.execute(sql`
    update messages set spent_micros = ${amount}, reserved_at = ${now}
    where id = ${message.id}`);
  for (const percent of crossedThresholds(day - amount, day, caps.dailyMicros)) {
    await thresholdEvent(s, message.tenant_id, now, "day", percent, day, caps.dailyMicros);
  }
  for (const percent of crossedThresholds(month - amount, month, caps.monthlyMicros)) {
    await thresholdEvent(s, message.tenant_id, now, "month", percent, month, caps.monthlyMicros);
  }
  return true;
}

/**
 * The provider's price is known (or the send is known to cost nothing: `actual` 0, which a
 * message with an accepted attempt never is): the reservation becomes it, in Postgres and in
 * the totals of the period it was made in.
 */
export async function settleBudget(s: Services, messageId: string, actual: number): Promise<void> {
  const release = actual === 0;
  const result = await s.db.execute<{
    tenant_id: string;
    reserved_at: Date | string;
    delta: number;
  }>(sql`
    with old as (
      select id, tenant_id, reserved_at, spent_micros from messages
      where id = ${messageId} and reserved_at is not null
        and not (${release} and exists (select 1 from message_attempts a
          where a.message_id = messages.id and a.outcome = 'accepted'))
      for update
    )
    update messages m set spent_micros = ${actual}
    from old where m.id = old.id and old.spent_micros <> ${actual}
    returning old.tenant_id, old.reserved_at, (${actual} - old.spent_micros)::float8 as delta`);
  const row = result.rows[0];
  if (!row) return;
  await BUDGET.ready();
  await budgetCall(
    s.redis,
    row.tenant_id,
    new Date(row.reserved_at),
    row.delta,
    { dailyMicros: 0, monthlyMicros: 0 },
    "adjust",
  );
}

async function thresholdEvent(
  s: Services,
  tenantId: string,
  at: Date,
  period: "day" | "month",
  percent: number,
  spent: number,
  cap: number,
): Promise<void> {
  const periodName = budgetPeriods(at)[period];
  // Once per period and threshold, whichever invocation gets there first.
  const first = await s.redis.set(`budget:${tenantId}:event:${periodName}:${percent}`, "1", {
    nx: true,
    ex: TTL_SECONDS.month,
  });
  if (first !== "OK") return;
  await emitEvent(s, tenantId, "budget.threshold", {
    period,
    period_start: periodName,
    percent,
    spent: formatMoney(spent),
    cap: formatMoney(cap),
    currency: "USD",
  });
}

/**
 * Postgres's spend of this UTC day and month, per tenant (all, or one): what the caps count.
 * Ranges on `reserved_at`, so the partial index serves them.
 */
export function spendTotals(now: Date, tenantId?: string) {
  const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  return sql`
    select tenant_id,
      coalesce(sum(spent_micros) filter (where reserved_at >= ${day}), 0)::float8 as day_total,
      coalesce(sum(spent_micros), 0)::float8 as month_total
    from messages
    where reserved_at >= ${month} ${tenantId === undefined ? sql`` : sql`and tenant_id = ${tenantId}`}
    group by tenant_id`;
}

/**
 * Scheduler: Postgres's totals for today and this month, per tenant with live spend, lift any
 * Redis total below them (never lower one: a reservation may be in flight between the two).
 */
export async function reconcileBudgets(s: Services, now: Date): Promise<number> {
  const result = await s.db.execute<{
    tenant_id: string;
    day_total: number;
    month_total: number;
  }>(spendTotals(now));
  if (result.rows.length === 0) return 0;
  const totalKeys = result.rows.flatMap((row) => keys(row.tenant_id, now));
  const current = await s.redis.mget<(string | null)[]>(...totalKeys);
  const pipeline = s.redis.pipeline();
  let lifted = 0;
  result.rows.forEach((row, i) => {
    const [dayKey, monthKey] = [totalKeys[2 * i] ?? "", totalKeys[2 * i + 1] ?? ""];
    if (Number(current[2 * i] ?? 0) < row.day_total) {
      pipeline.set(dayKey, row.day_total, { ex: TTL_SECONDS.day });
      lifted += 1;
    }
    if (Number(current[2 * i + 1] ?? 0) < row.month_total) {
      pipeline.set(monthKey, row.month_total, { ex: TTL_SECONDS.month });
      lifted += 1;
    }
  });
  if (lifted > 0) await pipeline.exec();
  return lifted;
}
