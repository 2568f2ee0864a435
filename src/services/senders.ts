import { eq, sql } from "drizzle-orm";
import type { Services } from "../context";
import { senders } from "../db/schema";
import type { ProviderName, SenderKind } from "../domain/providers";
import { validateSenderValue } from "../domain/senders";
import { ApiError } from "../errors";
import { newId } from "../lib/ids";

export interface SenderInput {
  provider: ProviderName;
  kind: SenderKind;
  value: string;
  countries: string[];
  providerAnswersKeywords?: boolean | undefined;
}

/**
 * Twilio (Advanced Opt-Out) and End User Messaging answer STOP/HELP themselves
 * by default; Africa's Talking and SNS leave it to us.
 */
const PROVIDERS_ANSWERING_KEYWORDS = new Set<ProviderName>(["twilio", "aws-sms-voice"]);

const view = (row: typeof senders.$inferSelect) => ({
  id: row.id,
  provider: row.provider as ProviderName,
  kind: row.kind,
  value: row.value,
  countries: row.countries,
  provider_answers_keywords: row.providerAnswersKeywords,
  created_at: row.createdAt.toISOString(),
});

/** Registers a sender. A number or short code can belong to one tenant only (inbound routing). */
export async function registerSender(s: Services, tenantId: string, input: SenderInput) {
  const check = validateSenderValue(input.kind, input.value, input.provider);
  if (!check.ok) {
    throw new ApiError("validation_failed", check.reason, [
      { path: "value", message: check.reason },
    ]);
  }
  const now = s.now();
  const inserted = await s.db
    .insert(senders)
    .values({
      id: newId("snd", now.getTime()),
      tenantId,
      provider: input.provider,
      kind: input.kind,
      value: check.value,
      countries: input.countries,
      providerAnswersKeywords:
        input.providerAnswersKeywords ?? PROVIDERS_ANSWERING_KEYWORDS.has(input.provider),
      createdAt: now,
    })
    .onConflictDoNothing()
    .returning();
  const row = inserted[0];
  if (!row) {
    throw new ApiError("sender_conflict", `${input.kind} ${check.value} is already registered`);
  }
  return view(row);
}

export async function listSenders(s: Services, tenantId: string) {
  const rows = await s.db
    .select()
    .from(senders)
    .where(eq(senders.tenantId, tenantId))
    .orderBy(senders.id);
  return rows.map(view);
}

export async function removeSender(s: Services, tenantId: string, id: string): Promise<void> {
  const result = await s.db.execute(
    sql`delete from senders where id = ${id} and tenant_id = ${tenantId}`,
  );
  if (result.rowCount === 0) throw new ApiError("not_found", `No sender ${id}`);
}
