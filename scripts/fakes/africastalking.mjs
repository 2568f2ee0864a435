import { randomBytes } from "node:crypto";
import { formCallback } from "./callbacks.mjs";
import { behaviourFor, startFakeServer, transportFailure } from "./common.mjs";

/*
 * A fake Africa's Talking bulk SMS API (reference: providers.md §6.1). It checks the `apiKey`
 * header and the `username` field, and answers HTTP 201 with one result per recipient: that is
 * where Africa's Talking reports most failures, while bad credentials, throttling and missing
 * fields are plain-text HTTP errors. With a `deliveryReportUrl` (the DLR URL set in the
 * dashboard), every recipient it took gets a delivery report (§6.2) in the outbox: `Success`,
 * or `Failed` with `DeliveryFailure` for the `undelivered` magic number. Africa's Talking signs
 * nothing: the URL's own secret (a token) is the only authentication.
 */

const MESSAGING_PATH = "/version1/messaging";
const E164 = /^\+[1-9]\d{1,14}$/;
const COST_PER_MESSAGE = "KES 0.8000";

const text = (status, body) => ({ status, headers: { "content-type": "text/plain" }, body });

// Africa's Talking's actual wording for a bad key or username.
const unauthorized = () => text(401, "The supplied authentication is invalid");

/** A failed recipient: no charge and no message id, as Africa's Talking reports them. */
const failedRecipient = (number, statusCode, status) => ({
  statusCode,
  number,
  status,
  cost: "0",
  messageId: "None",
});

function recipientFor(number) {
  if (!E164.test(number)) return failedRecipient(number, 403, "InvalidPhoneNumber");
  switch (behaviourFor(number)) {
    case "invalid_number":
      return failedRecipient(number, 403, "InvalidPhoneNumber");
    case "opted_out":
      return failedRecipient(number, 406, "UserInBlacklist");
    // An outage as a per-recipient 500 InternalServerError: that shape is documented (§6.1)
    // and says the message was not sent; the body of an HTTP-level 5xx is not.
    case "outage":
      return failedRecipient(number, 500, "InternalServerError");
    default:
      return {
        statusCode: 101,
        number,
        status: "Success",
        cost: COST_PER_MESSAGE,
        messageId: `ATXid_${randomBytes(16).toString("hex")}`,
      };
  }
}

/** MCC+MNC of the main network per country code, for the reports' `networkCode`. */
const NETWORK_CODES = [
  ["+254", "63902"], // Safaricom, Kenya
  ["+255", "64002"], // Tigo, Tanzania
  ["+256", "64101"], // Airtel, Uganda
  ["+250", "63510"], // MTN, Rwanda
  ["+234", "62120"], // Airtel, Nigeria
  ["+233", "62001"], // MTN, Ghana
  ["+27", "65510"], // Vodacom, South Africa
];
const networkCode = (number) =>
  NETWORK_CODES.find(([prefix]) => number.startsWith(prefix))?.[1] ?? "63902";

/** The delivery report (§6.2) for one recipient Africa's Talking took. */
function deliveryReport(url, recipient) {
  const undelivered = behaviourFor(recipient.number) === "undelivered";
  return {
    ...formCallback(url, {
      id: recipient.messageId,
      status: undelivered ? "Failed" : "Success",
      phoneNumber: recipient.number,
      networkCode: networkCode(recipient.number),
      failureReason: undelivered ? "DeliveryFailure" : undefined,
      retryCount: 0,
    }),
    providerMessageId: recipient.messageId,
  };
}

/** The 201 SMSMessageData answer; `accepted` only when every recipient was. */
function sent(numbers, deliveryReportUrl) {
  const recipients = numbers.map(recipientFor);
  const ok = recipients.filter((recipient) => recipient.statusCode === 101);
  const total = ok.length === 0 ? "0" : `KES ${(0.8 * ok.length).toFixed(4)}`;
  return {
    status: 201,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      SMSMessageData: {
        Message: `Sent to ${ok.length}/${recipients.length} Total Cost: ${total}`,
        Recipients: recipients,
      },
    }),
    accepted: ok.length === recipients.length,
    callbacks: deliveryReportUrl
      ? ok.map((recipient) => deliveryReport(deliveryReportUrl, recipient))
      : [],
  };
}

/** Behaviours that decide the whole request rather than one recipient's result. */
function requestLevelAnswer(behaviour, success) {
  switch (behaviour) {
    case "config_error":
      return unauthorized();
    case "throttled":
      return text(429, "Too Many Requests");
    default:
      return transportFailure(behaviour, success);
  }
}

/**
 * Starts the fake for one account: `username` and its `apiKey`. `deliveryReportUrl`: where the
 * delivery reports go (none without it); `deliverCallbacks`: see startFakeServer.
 */
export async function startFakeAfricasTalking({
  username,
  apiKey,
  deliveryReportUrl,
  port = 0,
  ...callbackOptions
}) {
  const handle = ({ method, path, headers, body }) => {
    if (method !== "POST" || path !== MESSAGING_PATH) return text(404, "Not Found");
    // Form fields only: any other body leaves every field, username included, missing.
    const isForm = (headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded");
    const form = new URLSearchParams(isForm ? body : "");
    if (headers.apikey !== apiKey || form.get("username") !== username) return unauthorized();
    for (const field of ["to", "message"]) {
      if (!form.get(field)) return text(400, `Request is missing required form field '${field}'`);
    }
    // `to` is a comma-separated list; the first number with a request-wide behaviour decides.
    const numbers = (form.get("to") ?? "").split(",").map((number) => number.trim());
    const success = () => sent(numbers, deliveryReportUrl);
    for (const number of numbers) {
      const answer = requestLevelAnswer(behaviourFor(number), success);
      if (answer) return answer;
    }
    return success();
  };

  return startFakeServer({ name: "africastalking", handle, port, ...callbackOptions });
}
