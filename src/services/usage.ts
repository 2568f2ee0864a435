import { sql } from "drizzle-orm";
import type { Services } from "../context";
import { budgetPeriods } from "../domain/budgets";
import { formatMoney } from "../domain/pricing";
import { capsFor, spendTotals } from "./budgets";

/**
 * GET /v1/usage: a tenant's messages and spend over a range of UTC days, by day, country,
 * provider, type and status, with the delivery rate (delivered among final outcomes), where
 * the spend caps stand, and the pumping blocks. ONE statement.
 */

interface Group {
  key: string | null;
  messages: number;
  spend: number;
  delivered: number;
  final: number;
}

const FINAL = sql`('delivered', 'undelivered', 'failed', 'expired')`;

const grouped = (column: ReturnType<typeof sql>) => sql`
  (select coalesce(json_agg(g order by g.key nulls last), '[]'::json) from (
    select ${column} as key, count(*)::int as messages, coalesce(sum(spent), 0)::float8 as spend,
      (count(*) filter (where status = 'delivered'))::int as delivered,
      (count(*) filter (where status in ${FINAL}))::int as final
    from m group by 1) g)`;

const view = (g: Group) => ({
  key: g.key,
  messages: g.messages,
  spend: formatMoney(g.spend),
  delivered: g.delivered,
  delivery_rate: g.final === 0 ? null : Math.round((g.delivered / g.final) * 10_000) / 10_000,
});

export async function usage(s: Services, tenantId: string, from: Date, to: Date, budget: unknown) {
  const now = s.now();
  const { day, month } = budgetPeriods(now);
  const result = await s.db.execute<{
    totals: Group;
    by_day: Group[];
    by_country: Group[];
    by_provider: Group[];
    by_type: Group[];
    by_status: Group[];
    spent_today: number;
    spent_month: number;
    pumping_blocks: number;
  }>(sql`
    with spend as (${spendTotals(now, tenantId)}), m as (
      select created_at, country, provider, type, status, coalesce(spent_micros, 0) as spent
      from messages where tenant_id = ${tenantId} and created_at >= ${from} and created_at < ${to}
    )
    select
      (select json_build_object('key', null, 'messages', count(*)::int,
        'spend', coalesce(sum(spent), 0)::float8,
        'delivered', (count(*) filter (where status = 'delivered'))::int,
        'final', (count(*) filter (where status in ${FINAL}))::int) from m) as totals,
      ${grouped(sql`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD')`)} as by_day,
      ${grouped(sql`country`)} as by_country,
      ${grouped(sql`provider`)} as by_provider,
      ${grouped(sql`type`)} as by_type,
      ${grouped(sql`status`)} as by_status,
      (select coalesce(sum(day_total), 0) from spend) as spent_today,
      (select coalesce(sum(month_total), 0) from spend) as spent_month,
      (select count(*)::int from compliance_audit where tenant_id = ${tenantId}
        and kind = 'pumping.detected' and occurred_at >= ${from} and occurred_at < ${to})
        as pumping_blocks`);
  const row = result.rows[0];
  if (!row) throw new Error("usage returned no row");
  const caps = capsFor(s, budget);
  const { key: _total, ...totals } = view(row.totals);
  return {
    from: from.toISOString().slice(0, 10),
    to: new Date(to.getTime() - 1).toISOString().slice(0, 10),
    currency: "USD" as const,
    totals,
    by_day: row.by_day.map(view),
    by_country: row.by_country.map(view),
    by_provider: row.by_provider.map(view),
    by_type: row.by_type.map(view),
    by_status: row.by_status.map(view),
    budget: {
      daily: {
        period: day,
        spent: formatMoney(row.spent_today),
        cap: formatMoney(caps.dailyMicros),
      },
      monthly: {
        period: month,
        spent: formatMoney(row.spent_month),
        cap: formatMoney(caps.monthlyMicros),
      },
    },
    pumping: { ranges_blocked: row.pumping_blocks },
  };
}
