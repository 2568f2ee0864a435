import { describe, expect, it } from "vitest";
import {
  AFRICAS_TALKING_STATUSES,
  END_USER_MESSAGING_EVENTS,
  type MappedReceipt,
  mapAfricasTalkingStatus,
  mapEndUserMessagingEvent,
  mapTwilioStatus,
  type ReceiptRow,
  TWILIO_STATUSES,
} from "../../src/domain/receipts";
import { isFinal } from "../../src/domain/status";

const sent: MappedReceipt = { status: "sent" };
const delivered: MappedReceipt = { status: "delivered" };

describe("provider tables", () => {
  const rows: [string, string, ReceiptRow][] = [
    ["twilio", TWILIO_STATUSES],
    ["end user messaging", END_USER_MESSAGING_EVENTS],
    ["africa's talking", AFRICAS_TALKING_STATUSES],
  ].flatMap(([provider, table]) =>
    Object.entries(table as Record<string, ReceiptRow | null>).flatMap(([key, row]) =>
      row ? [[provider as string, key, row] as [string, string, ReceiptRow]] : [],
    ),
  );

  it.each(rows)("%s %s: `final` agrees with the status", (_provider, _key, row) => {
    expect(row.final).toBe(isFinal(row.status));
  });
});

describe("mapTwilioStatus", () => {
  it.each<[string, string | undefined, MappedReceipt | null]>([
    ["accepted", undefined, null],
    ["scheduled", undefined, null],
    ["queued", undefined, null],
    ["sending", undefined, null],
    ["sent", undefined, sent],
    ["delivered", undefined, delivered],
    ["undelivered", "30003", { status: "undelivered", reason: "30003" }],
    ["undelivered", "30007", { status: "undelivered", reason: "30007" }],
    ["undelivered", undefined, { status: "undelivered" }],
    ["undelivered", "", { status: "undelivered" }],
    ["failed", "30008", { status: "failed", reason: "30008" }],
    ["failed", "30500", { status: "failed", reason: "30500" }],
    ["failed", undefined, { status: "failed" }],
    ["canceled", undefined, { status: "failed", reason: "canceled" }],
    ["canceled", "35111", { status: "failed", reason: "canceled" }],
    ["read", undefined, delivered],
    ["partially_delivered", undefined, sent],
    ["receiving", undefined, null],
    ["received", undefined, null],
    // An error code on a success is noise, not a reason.
    ["delivered", "0", delivered],
    ["sent", "30003", sent],
    // Tolerant of case and whitespace; unknown values are never guessed.
    ["DELIVERED", undefined, delivered],
    [" delivered ", undefined, delivered],
    ["Undelivered", " 30005 ", { status: "undelivered", reason: "30005" }],
    ["expired", undefined, null],
    ["", undefined, null],
    ["constructor", undefined, null],
    ["__proto__", undefined, null],
    ["toString", undefined, null],
  ])("%j (ErrorCode %j) -> %j", (status, errorCode, expected) => {
    expect(mapTwilioStatus(status, errorCode)).toEqual(expected);
  });
});

describe("mapEndUserMessagingEvent", () => {
  it.each<[string, MappedReceipt | null]>([
    ["TEXT_QUEUED", null],
    ["TEXT_PENDING", null],
    ["TEXT_SENT", sent],
    ["TEXT_SUCCESSFUL", delivered],
    ["TEXT_DELIVERED", delivered],
    ["TEXT_BLOCKED", { status: "failed", reason: "TEXT_BLOCKED" }],
    ["TEXT_CARRIER_BLOCKED", { status: "failed", reason: "TEXT_CARRIER_BLOCKED" }],
    ["TEXT_SPAM", { status: "failed", reason: "TEXT_SPAM" }],
    ["TEXT_PROTECT_BLOCKED", { status: "failed", reason: "TEXT_PROTECT_BLOCKED" }],
    ["TEXT_INVALID", { status: "failed", reason: "TEXT_INVALID" }],
    ["TEXT_INVALID_MESSAGE", { status: "failed", reason: "TEXT_INVALID_MESSAGE" }],
    ["TEXT_UNREACHABLE", { status: "undelivered", reason: "TEXT_UNREACHABLE" }],
    ["TEXT_CARRIER_UNREACHABLE", { status: "undelivered", reason: "TEXT_CARRIER_UNREACHABLE" }],
    ["TEXT_TTL_EXPIRED", { status: "undelivered", reason: "TEXT_TTL_EXPIRED" }],
    ["TEXT_UNKNOWN", { status: "undelivered", reason: "TEXT_UNKNOWN" }],
    ["TEXT_ALL", null],
    ["text_delivered", delivered],
    ["TEXT_FAILURE", null], // legacy Pinpoint v1 name: not in the current API
    ["VOICE_COMPLETED", null],
    ["", null],
    ["constructor", null],
  ])("eventType %s -> %j", (eventType, expected) => {
    expect(mapEndUserMessagingEvent({ eventType })).toEqual(expected);
  });

  it.each<[{ eventType: string; messageStatus?: string; isFinal?: boolean }, MappedReceipt | null]>(
    [
      // The documented example.
      [{ eventType: "TEXT_SUCCESSFUL", messageStatus: "SUCCESSFUL", isFinal: true }, delivered],
      // messageStatus is the reason when present.
      [
        {
          eventType: "TEXT_CARRIER_UNREACHABLE",
          messageStatus: "CARRIER_UNREACHABLE",
          isFinal: true,
        },
        { status: "undelivered", reason: "CARRIER_UNREACHABLE" },
      ],
      [
        { eventType: "TEXT_SPAM", messageStatus: "SPAM" },
        { status: "failed", reason: "SPAM" },
      ],
      // isFinal: false holds back a final verdict; AWS says one is still to come.
      [{ eventType: "TEXT_CARRIER_UNREACHABLE", isFinal: false }, null],
      [{ eventType: "TEXT_DELIVERED", isFinal: false }, null],
      [{ eventType: "TEXT_SENT", messageStatus: "SENT", isFinal: false }, sent],
      [{ eventType: "TEXT_PENDING", isFinal: false }, null],
      // isFinal: true on a non-final type: messageStatus decides (72 h timeout: UNKNOWN).
      [
        { eventType: "TEXT_PENDING", messageStatus: "UNKNOWN", isFinal: true },
        { status: "undelivered", reason: "UNKNOWN" },
      ],
      [{ eventType: "TEXT_SENT", messageStatus: "SUCCESSFUL", isFinal: true }, delivered],
      [
        { eventType: "TEXT_SOMETHING_NEW", messageStatus: "UNKNOWN", isFinal: true },
        { status: "undelivered", reason: "UNKNOWN" },
      ],
      // … but a final event with nothing we understand is not guessed.
      [{ eventType: "TEXT_SENT", isFinal: true }, sent],
      [{ eventType: "TEXT_SENT", messageStatus: "SENT", isFinal: true }, sent],
      [{ eventType: "TEXT_SOMETHING_NEW", messageStatus: "SOMETHING_NEW", isFinal: true }, null],
      // messageStatus never overrides a final event type.
      [
        { eventType: "TEXT_BLOCKED", messageStatus: "SUCCESSFUL", isFinal: true },
        {
          status: "failed",
          reason: "SUCCESSFUL",
        },
      ],
      [{ eventType: "TEXT_DELIVERED", messageStatus: "", isFinal: true }, delivered],
    ],
  )("%j -> %j", (event, expected) => {
    expect(mapEndUserMessagingEvent(event)).toEqual(expected);
  });
});

describe("mapAfricasTalkingStatus", () => {
  it.each<[string, string | undefined, MappedReceipt | null]>([
    ["Sent", undefined, sent],
    ["Submitted", undefined, sent],
    ["Buffered", undefined, sent],
    ["Success", undefined, delivered],
    ["Rejected", undefined, { status: "failed" }],
    ["Rejected", "UserInBlackList", { status: "failed", reason: "UserInBlackList" }],
    ["Rejected", "DeliveryFailure", { status: "failed", reason: "DeliveryFailure" }],
    // Failed: not reached the handset, unless the reason names a refusal.
    ["Failed", undefined, { status: "undelivered" }],
    ["Failed", "", { status: "undelivered" }],
    ["Failed", "DeliveryFailure", { status: "undelivered", reason: "DeliveryFailure" }],
    ["Failed", "SomethingNew", { status: "undelivered", reason: "SomethingNew" }],
    ["Failed", "UserInBlackList", { status: "failed", reason: "UserInBlackList" }],
    ["Failed", "UserDoesNotExist", { status: "failed", reason: "UserDoesNotExist" }],
    ["Failed", "NotNetworkSubscriber", { status: "failed", reason: "NotNetworkSubscriber" }],
    ["Failed", "NotNetworkSubcriber", { status: "failed", reason: "NotNetworkSubcriber" }],
    ["Failed", "InsufficientCredit", { status: "failed", reason: "InsufficientCredit" }],
    ["Failed", "UserIsInactive", { status: "failed", reason: "UserIsInactive" }],
    ["Failed", "UserAccountSuspended", { status: "failed", reason: "UserAccountSuspended" }],
    ["Failed", "InvalidLinkId", { status: "failed", reason: "InvalidLinkId" }],
    [
      "Failed",
      "UserNotSubscribedToProduct",
      {
        status: "failed",
        reason: "UserNotSubscribedToProduct",
      },
    ],
    ["Failed", "userinblacklist", { status: "failed", reason: "userinblacklist" }],
    // A failureReason on a success is ignored.
    ["Success", "DeliveryFailure", delivered],
    ["Sent", "UserInBlackList", sent],
    // Case and whitespace tolerant; unknown values are non-final and never guessed.
    ["success", undefined, delivered],
    ["SUCCESS", undefined, delivered],
    [" Buffered ", undefined, sent],
    ["AbsentSubscriber", undefined, null],
    ["Expired", undefined, null],
    ["Queued", undefined, null],
    ["", undefined, null],
    ["hasOwnProperty", undefined, null],
  ])("%j (failureReason %j) -> %j", (status, failureReason, expected) => {
    expect(mapAfricasTalkingStatus(status, failureReason)).toEqual(expected);
  });
});
