import { sql } from "drizzle-orm";
import type { Services } from "../context";
import { messages } from "../db/schema";
import { analyzeBody } from "../domain/encoding";
import { detectKeyword, type Keyword } from "../domain/keywords";
import { normalizePhone } from "../domain/phone";
import { newId } from "../lib/ids";
import { dispatchNow } from "./dispatch";
import { emitEvent } from "./events";
import { recordOptIn, recordOptOut } from "./opt-outs";
import { estimateMessageCost } from "./routing";

export interface InboundSms {
  provider: string;
  providerMessageId: string;
  /** The person who wrote (as the provider reports it). */
  from: string;
  /** Our number, short code or sender that received it. */
  to: string;
  body: string;
  /** End User Messaging names the outbound message this replies to. */
  previousProviderMessageId?: string;
  receivedAt: Date;
}

export type InboundOutcome = "stored" | "duplicate" | "unknown_recipient";

/** The STOP confirmation is the one message an opted-out person gets: within 5 minutes only. */
const STOP_CONFIRMATION_WINDOW_MS = 5 * 60_000;

export const DEFAULT_HELP_TEXT =
  "Reply STOP to unsubscribe, START to resubscribe. Msg&data rates may apply.";
export const DEFAULT_STOP_CONFIRMATION =
  "You have been unsubscribed and will receive no further messages. Reply START to resubscribe.";

interface Recipient extends Record<string, unknown> {
  tenant_id: string;
  provider: string;
  value: string;
  provider_answers_keywords: boolean;
  help_text: string | null;
  stop_confirmation_text: string | null;
}

/**
 * An SMS a person sent to one of a tenant's senders: found through the sender
 * register, stored once (a redelivered webhook is a duplicate), linked to the
 * latest outbound message it answers, and read for keywords: STOP opts the
 * person out of the tenant's messages, START opts back in, HELP gets the
 * tenant's help text. When the provider does not answer keywords itself, the
 * gateway sends the one STOP confirmation (and HELP answers) on its own.
 */
export async function receiveInbound(s: Services, sms: InboundSms): Promise<InboundOutcome> {
  const recipient = await findRecipient(s, sms);
  if (!recipient) {
    s.log.warn("inbound SMS to an unregistered sender", { provider: sms.provider, to: sms.to });
    return "unknown_recipient";
  }
  const from = normalizePhone(sms.from, s.config.DEFAULT_REGION);
  const person = from.ok ? from.e164 : sms.from;
  const keyword = detectKeyword(sms.body);
  const id = newId("inb", sms.receivedAt.getTime());
  const tenantId = recipient.tenant_id;
  const [digests, fromSealed, bodySealed] = await Promise.all([
    s.pii.digests(person),
    s.pii.seal(tenantId, person),
    s.pii.seal(tenantId, sms.body),
  ]);
  const stored = await s.db.execute<{ id: string; in_reply_to: string | null }>(sql`
    insert into inbound_messages (id, tenant_id, provider, provider_message_id, from_digest,
      from_sealed, to_sender, body_sealed, keyword, in_reply_to, received_at)
    values (${id}, ${tenantId}, ${sms.provider}, ${sms.providerMessageId}, ${digests[0]},
      ${fromSealed}, ${recipient.value}, ${bodySealed}, ${keyword}, (
        select m.id from messages m
        where m.tenant_id = ${tenantId}
          and m.recipient_digests && ${sql.param(digests)}::text[]
          and (m.provider_message_id = ${sms.previousProviderMessageId ?? null}
               or m.from_sender = ${recipient.value}
               or exists (select 1 from message_attempts a
                          where a.message_id = m.id and a.sender = ${recipient.value}))
        order by (m.provider_message_id = ${sms.previousProviderMessageId ?? null}) desc nulls last,
          m.id desc
        limit 1),
      ${sms.receivedAt})
    on conflict (provider, provider_message_id) do nothing
    returning id, in_reply_to`);
  const row = stored.rows[0];
  if (!row) return "duplicate";

  const event = {
    inbound_id: row.id,
    from: person,
    to: recipient.value,
    body: sms.body,
    keyword,
    in_reply_to: row.in_reply_to,
    received_at: sms.receivedAt.toISOString(),
  };
  await emitEvent(s, tenantId, "message.received", event, digests[0]);
  if (keyword) await applyKeyword(s, recipient, person, keyword);
  return "stored";
}

async function findRecipient(s: Services, sms: InboundSms): Promise<Recipient | undefined> {
  const result = await s.db.execute<Recipient>(sql`
    select sd.tenant_id, sd.provider, sd.value, sd.provider_answers_keywords,
      t.help_text, t.stop_confirmation_text
    from senders sd join tenants t on t.id = sd.tenant_id
    where sd.value = ${sms.to} and sd.provider = ${sms.provider}
    order by sd.id limit 1`);
  return result.rows[0];
}

async function applyKeyword(
  s: Services,
  recipient: Recipient,
  person: string,
  keyword: Keyword,
): Promise<void> {
  const reply = (body: string, optOutExempt: boolean) =>
    recipient.provider_answers_keywords
      ? Promise.resolve()
      : sendReply(s, recipient, person, body, optOutExempt);
  switch (keyword) {
    case "stop": {
      const created = await recordOptOut(s, recipient.tenant_id, person, "sms");
      // Once: a second STOP finds the opt-out already there and stays silent.
      if (created) {
        await reply(recipient.stop_confirmation_text ?? DEFAULT_STOP_CONFIRMATION, true);
      }
      return;
    }
    case "start":
      await recordOptIn(s, recipient.tenant_id, person);
      return;
    case "help":
      await reply(recipient.help_text ?? DEFAULT_HELP_TEXT, false).catch((error: unknown) =>
        // An opted-out person asking for HELP gets nothing: the database refuses it.
        s.log.warn("help reply not sent", { error: String(error) }),
      );
      return;
  }
}

/** A message the gateway itself sends back from the sender that was written to. */
async function sendReply(
  s: Services,
  recipient: Recipient,
  to: string,
  body: string,
  optOutExempt: boolean,
): Promise<void> {
  const phone = normalizePhone(to, s.config.DEFAULT_REGION);
  if (!phone.ok) return;
  const now = s.now();
  const analysis = analyzeBody(body);
  const cost = estimateMessageCost(s, phone.country, "transactional", analysis.segments);
  const id = newId("msg", now.getTime());
  const tenantId = recipient.tenant_id;
  const [toSealed, recipientDigests, bodySealed] = await Promise.all([
    s.pii.seal(tenantId, phone.e164),
    s.pii.digests(phone.e164),
    s.pii.seal(tenantId, body),
  ]);
  await s.db.insert(messages).values({
    id,
    tenantId,
    apiKeyId: null,
    mode: "live",
    toSealed,
    recipientDigests,
    country: phone.country,
    from: recipient.value,
    bodySealed,
    type: "transactional",
    encoding: analysis.encoding,
    segments: analysis.segments,
    estimatedCostMicros: cost.micros,
    currency: cost.currency,
    status: "queued",
    dispatchState: "pending",
    nextAttemptAt: now,
    roundStartedAt: now,
    pinnedProvider: recipient.provider,
    optOutExempt,
    // The STOP confirmation may go out only shortly after the STOP: past that it expires.
    deadlineAt: optOutExempt ? new Date(now.getTime() + STOP_CONFIRMATION_WINDOW_MS) : null,
    createdAt: now,
    updatedAt: now,
  });
  s.background(() => dispatchNow(s, id));
}
