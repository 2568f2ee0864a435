/**
 * Delivery receipts: each provider's status vocabulary mapped to ours, one table per provider.
 * Sources: /work/shared/reference/providers.md §1.5–1.6 (Twilio), §4.6 (End User Messaging),
 * §6.2 (Africa's Talking).
 *
 * A receipt can move a message to `sent`, `delivered`, `undelivered` or `failed`. Which final
 * status a failure gets follows one rule for all providers:
 *
 * - `failed`: the message was refused, by the provider or by the network, because of what it is
 *   or who it is to or from: content, sender, an invalid or blocked destination, an opt-out.
 *   Sending it again unchanged will not help.
 * - `undelivered`: the message was taken for delivery but did not reach the handset: phone off
 *   or out of coverage, network trouble, validity expired, outcome never reported. A later
 *   attempt may succeed.
 *
 * Providers' `canceled`/`expired` verdicts have no status of their own: a canceled message maps
 * to `failed` with reason `canceled`, an expired one to `undelivered` (End User Messaging
 * TTL_EXPIRED) with its reason. Twilio's verdicts are kept as Twilio gives them: its
 * `undelivered` also covers carrier blocking and filtering (errors 30004, 30007), and the
 * error code travels as the reason.
 *
 * A table row is `null` when the report moves nothing: an intermediate state our dispatch has
 * already recorded (queued, sending) or one that is not about delivery. The caller still keeps
 * the report as an event. Unknown values also give `null`: they are treated as non-final, never
 * guessed.
 */
import { isFinal } from "./status";

/** The statuses a receipt can move a message to. */
export type ReceiptStatus = "sent" | "delivered" | "undelivered" | "failed";

export interface MappedReceipt {
  status: ReceiptStatus;
  /** The provider's most specific explanation, on `undelivered`/`failed` only. */
  reason?: string;
}

/**
 * One row of a provider table. `final` says whether the provider's report is a final verdict;
 * it always equals `isFinal(status)` (a test holds the tables to it) and is spelled out so that
 * each table reads on its own.
 */
export interface ReceiptRow {
  status: ReceiptStatus;
  final: boolean;
  /** A fixed reason, for rows that fold several provider states into one of ours. */
  reason?: string;
}

type ReceiptTable = Readonly<Record<string, ReceiptRow | null>>;

const SENT: ReceiptRow = { status: "sent", final: false };
const DELIVERED: ReceiptRow = { status: "delivered", final: true };
const UNDELIVERED: ReceiptRow = { status: "undelivered", final: true };
const FAILED: ReceiptRow = { status: "failed", final: true };

/** Twilio `MessageStatus` (§1.5). Twilio sends lower case. */
export const TWILIO_STATUSES: ReceiptTable = {
  // Before the carrier: the send response already moved the message this far.
  accepted: null,
  scheduled: null,
  queued: null,
  sending: null,
  sent: SENT,
  delivered: DELIVERED,
  // "The carrier could not deliver it": handset unavailable, carrier filtering (§1.4 30003–30008).
  undelivered: UNDELIVERED,
  // "Could not be sent" by Twilio itself: queue overflow, account suspended, media error.
  failed: FAILED,
  // A scheduled message canceled before it was sent: it will never go out.
  canceled: { status: "failed", final: true, reason: "canceled" },
  // WhatsApp/RCS only: being read implies being delivered.
  read: DELIVERED,
  // Not stated to be final in the reference: progress only, a final report may follow.
  partially_delivered: SENT,
  // Inbound messages, not receipts.
  receiving: null,
  received: null,
};

/**
 * End User Messaging `eventType` (§4.6; descriptions from the configuration-set event types
 * page). TEXT_DELIVERED and TEXT_SUCCESSFUL are used interchangeably depending on the country.
 */
export const END_USER_MESSAGING_EVENTS: ReceiptTable = {
  TEXT_QUEUED: null, // queued at AWS, not handed to the carrier yet
  TEXT_PENDING: null, // in the process of being delivered: no verdict yet
  TEXT_SENT: SENT,
  TEXT_SUCCESSFUL: DELIVERED, // accepted by the recipient's carrier
  TEXT_DELIVERED: DELIVERED,
  // Refused: retrying the same message to the same number will not help.
  TEXT_BLOCKED: FAILED, // the recipient's device or carrier blocks messages to them
  TEXT_CARRIER_BLOCKED: FAILED, // the carrier judged it malicious or abusive
  TEXT_SPAM: FAILED, // the carrier judged it unsolicited commercial content
  TEXT_PROTECT_BLOCKED: FAILED, // our own protect configuration blocked it
  TEXT_INVALID: FAILED, // the destination number is not valid
  TEXT_INVALID_MESSAGE: FAILED, // the body is invalid and cannot be delivered
  // Not reached: may succeed later.
  TEXT_UNREACHABLE: UNDELIVERED, // device off or not on the network
  TEXT_CARRIER_UNREACHABLE: UNDELIVERED, // temporary error in the carrier's network
  TEXT_TTL_EXPIRED: UNDELIVERED, // not delivered within the TTL we set
  TEXT_UNKNOWN: UNDELIVERED, // no final report (also sent after 72 h without one)
  TEXT_ALL: null, // a subscription filter, never an event
};

/** Africa's Talking delivery report `status` (§6.2). */
export const AFRICAS_TALKING_STATUSES: ReceiptTable = {
  Sent: SENT, // sent by the AT network
  Submitted: SENT, // handed to the mobile operator
  Buffered: SENT, // queued by the mobile operator
  Success: DELIVERED, // delivered to the handset
  // "Rejected by the mobile operator": refused, final.
  Rejected: FAILED,
  // "Could not be delivered to the handset": not reached, final. A failureReason naming a
  // refusal overrides this (below).
  Failed: UNDELIVERED,
};

/**
 * Africa's Talking `failureReason`s that turn a `Failed` report into a refusal (§6.2): the
 * destination or subscriber cannot take this message, so retrying will not help. Only the
 * generic `DeliveryFailure` (and no reason at all) keeps `undelivered`.
 */
export const AFRICAS_TALKING_REFUSALS: Readonly<Record<string, true>> = {
  InsufficientCredit: true, // the subscriber has no credit for premium messages
  InvalidLinkId: true,
  UserIsInactive: true,
  UserInBlackList: true, // opted out of the sender or of all promotional messages
  UserAccountSuspended: true,
  NotNetworkSubscriber: true, // number ported to another network
  NotNetworkSubcriber: true, // the help centre's spelling
  UserNotSubscribedToProduct: true,
  UserDoesNotExist: true,
};

/** Own keys only (so "constructor" is unknown, not Object's), exact first, then any case. */
function lookup<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  const trimmed = key.trim();
  if (Object.hasOwn(table, trimmed)) return table[trimmed];
  const lower = trimmed.toLowerCase();
  const match = Object.keys(table).find((k) => k.toLowerCase() === lower);
  return match === undefined ? undefined : table[match];
}

function result(row: ReceiptRow, reason: string | undefined): MappedReceipt {
  const why = row.reason ?? reason;
  return isFinal(row.status) && row.status !== "delivered" && why
    ? { status: row.status, reason: why }
    : { status: row.status };
}

/** Twilio status callback: `MessageStatus` and, on failures, `ErrorCode` (the reason). */
export function mapTwilioStatus(messageStatus: string, errorCode?: string): MappedReceipt | null {
  const row = lookup(TWILIO_STATUSES, messageStatus);
  return row ? result(row, errorCode?.trim() || undefined) : null;
}

/**
 * End User Messaging delivery event. The reason is `messageStatus` (else the event type).
 *
 * `isFinal` is used in one direction at a time:
 * - `isFinal: false` holds back a final mapping (null): AWS says a verdict is still to come.
 * - `isFinal: true` on an event whose type gives no final status: `messageStatus` decides,
 *   read as `TEXT_<messageStatus>`; after 72 h without a carrier report AWS sends
 *   `messageStatus: "UNKNOWN"` (§4.6), which makes the message `undelivered`.
 * Without `isFinal`, the table alone decides.
 */
export function mapEndUserMessagingEvent(event: {
  eventType: string;
  messageStatus?: string;
  isFinal?: boolean;
}): MappedReceipt | null {
  const messageStatus = event.messageStatus?.trim() || undefined;
  const reason = messageStatus ?? event.eventType.trim();
  let row = lookup(END_USER_MESSAGING_EVENTS, event.eventType) ?? null;
  if (event.isFinal === true && !row?.final && messageStatus) {
    const byStatus = lookup(END_USER_MESSAGING_EVENTS, `TEXT_${messageStatus}`);
    if (byStatus?.final) row = byStatus;
  }
  if (!row || (event.isFinal === false && row.final)) return null;
  return result(row, reason);
}

/** Africa's Talking delivery report: `status` and, on Rejected/Failed, `failureReason`. */
export function mapAfricasTalkingStatus(
  status: string,
  failureReason?: string,
): MappedReceipt | null {
  const row = lookup(AFRICAS_TALKING_STATUSES, status);
  if (!row) return null;
  const reason = failureReason?.trim() || undefined;
  const refused =
    row.status === "undelivered" && reason && lookup(AFRICAS_TALKING_REFUSALS, reason);
  return result(refused ? FAILED : row, reason);
}
