import { z } from "zod";
import { parseMoney } from "./pricing";

/**
 * Spend caps per tenant, per UTC day and month, in integer micro-units of USD (providers that
 * bill in another currency are converted where their price is read). Redis holds the running
 * totals that reservations check atomically; Postgres holds the truth (messages.spent_micros).
 */

export interface BudgetCaps {
  dailyMicros: number;
  monthlyMicros: number;
}

export const DEFAULT_BUDGET: BudgetCaps = {
  dailyMicros: 100 * 1_000_000,
  monthlyMicros: 2_000 * 1_000_000,
};

const money = z
  .string()
  .regex(/^\d{1,9}(\.\d{1,6})?$/, 'an amount in USD, e.g. "100.00"')
  .transform(parseMoney);

/** `{"daily": "100.00", "monthly": "2000.00"}`: either may be left out (the default holds). */
export const budgetDocumentSchema = z.strictObject({
  daily: money.optional(),
  monthly: money.optional(),
});
export type BudgetDocument = z.infer<typeof budgetDocumentSchema>;

export function budgetCaps(
  deployment: BudgetDocument | undefined,
  tenant: BudgetDocument | null | undefined,
): BudgetCaps {
  return {
    dailyMicros: tenant?.daily ?? deployment?.daily ?? DEFAULT_BUDGET.dailyMicros,
    monthlyMicros: tenant?.monthly ?? deployment?.monthly ?? DEFAULT_BUDGET.monthlyMicros,
  };
}

/** The periods an instant counts in: its UTC day and month. */
export function budgetPeriods(at: Date): { day: string; month: string } {
  const iso = at.toISOString();
  return { day: iso.slice(0, 10), month: iso.slice(0, 7) };
}

/** Thresholds that emit `budget.threshold`, in percent of a cap. */
export const BUDGET_THRESHOLDS = [80, 100] as const;

/** The thresholds a total crossed when it went from `before` to `after` (inclusive). */
export function crossedThresholds(before: number, after: number, cap: number): number[] {
  return BUDGET_THRESHOLDS.filter(
    (percent) => before * 100 < cap * percent && after * 100 >= cap * percent,
  );
}
