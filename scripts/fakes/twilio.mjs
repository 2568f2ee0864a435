import { randomBytes, randomUUID } from "node:crypto";
import { formCallback } from "./callbacks.mjs";
import { behaviourFor, startFakeServer, transportFailure } from "./common.mjs";
import { twilioSignature } from "./twilio-signer.mjs";

/*
 * A fake Twilio Messages API (reference: providers.md §1.1–1.4). It checks a send the way Twilio
 * does (credentials, the account in the path, the form fields) and answers in Twilio's shapes:
 * the 201 message resource, or `{code, message, more_info, status}` errors. A message it took
 * with a `StatusCallback` gets its status callbacks (§1.6) in the outbox: `sent`, then
 * `delivered` (or `undelivered` with ErrorCode 30003 for the `undelivered` magic number),
 * signed with X-Twilio-Signature (§1.8) by the account's auth token, as Twilio signs them even
 * when the send used an API key.
 */

const MESSAGES_PATH = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/;
const E164 = /^\+[1-9]\d{1,14}$/;
const SHORT_CODE = /^\d{3,8}$/;
// Alphanumeric sender IDs: up to 11 characters, at least one letter.
const ALPHANUMERIC = /^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$/;
const MESSAGING_SERVICE_SID = /^MG[0-9a-f]{32}$/;
const MAX_BODY_CHARS = 1600;
const MAX_VALIDITY_PERIOD_S = 36_000;

const hex32 = () => randomBytes(16).toString("hex");

const json = (status, value) => ({
  status,
  headers: { "content-type": "application/json", "twilio-request-id": `RQ${hex32()}` },
  body: JSON.stringify(value),
});

const twilioError = (status, code, message) =>
  json(status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });

// Twilio prints dates in RFC 2822 with a numeric zone.
const rfc2822 = (date) => date.toUTCString().replace("GMT", "+0000");

/**
 * Segments the way a GSM-7/UCS-2 split would count them, approximately: printable ASCII stands
 * in for GSM-7 (its few two-septet characters are counted as one). Enough for a fake.
 */
function segmentCount(body) {
  const gsm = /^[\x20-\x7E\r\n]*$/.test(body);
  const [single, multi] = gsm ? [160, 153] : [70, 67];
  const length = [...body].length;
  return length <= single ? 1 : Math.ceil(length / multi);
}

function isCallbackUrl(value) {
  if (value.length > 4000) return false;
  try {
    const url = new URL(value);
    // Twilio: "URL must contain a valid hostname and underscores are not allowed."
    return ["http:", "https:"].includes(url.protocol) && !url.hostname.includes("_");
  } catch {
    return false;
  }
}

function basicCredentials(header) {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? "");
  if (!match) return null;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon < 0 ? null : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** The first validation error Twilio would report for these form fields, or null. */
function invalidField(form) {
  const to = form.get("To");
  const body = form.get("Body");
  const from = form.get("From");
  const service = form.get("MessagingServiceSid");
  const validity = form.get("ValidityPeriod");
  const callback = form.get("StatusCallback");
  if (!to) return [21604, "A 'To' phone number is required."];
  if (!body) return [21602, "Message body is required."];
  // Twilio itself takes both (From must then be in the service's pool); our client must never
  // send both, so this fake is stricter on purpose.
  if (Boolean(from) === Boolean(service)) {
    return [21603, "Exactly one of 'From' or 'MessagingServiceSid' is required."];
  }
  if (!E164.test(to)) return [21211, `Invalid 'To' Phone Number: ${to}`];
  if (from && ![E164, SHORT_CODE, ALPHANUMERIC].some((format) => format.test(from))) {
    return [21212, `Invalid 'From' Phone Number: ${from}`];
  }
  if (service && !MESSAGING_SERVICE_SID.test(service)) {
    return [21701, `The Messaging Service Sid ${service} is invalid.`];
  }
  if ([...body].length > MAX_BODY_CHARS) {
    return [21617, "The concatenated message body exceeds the 1600 character limit."];
  }
  if (
    validity !== null &&
    !(/^\d+$/.test(validity) && Number(validity) >= 1 && Number(validity) <= MAX_VALIDITY_PERIOD_S)
  ) {
    return [21624, `Invalid validity period value: ${validity}`];
  }
  if (callback !== null && !isCallbackUrl(callback)) {
    return [21609, `Invalid StatusCallback url: ${callback}`];
  }
  return null;
}

// The number a Messaging Service "picks" from its pool for the callbacks' From.
const SERVICE_POOL_NUMBER = "+15017122661";
// Twilio's "Unreachable destination handset".
const UNDELIVERED_ERROR_CODE = "30003";

/** Twilio's RawDlrDoneDate: YYMMDDhhmm, UTC here (Twilio gives no zone). */
const rawDlrDoneDate = (date) =>
  date.toISOString().replace(/^\d\d(\d\d)-(\d\d)-(\d\d)T(\d\d):(\d\d).*$/, "$1$2$3$4$5");

/**
 * The status callbacks (§1.6) for a message Twilio took: `sent`, then the final one. Form
 * fields in Twilio's order, the signature over the exact callback URL and every field.
 */
function statusCallbacks({ accountSid, authToken, sid, form, undelivered }) {
  const url = form.get("StatusCallback");
  if (!url) return [];
  const service = form.get("MessagingServiceSid");
  const callback = (status, extra = {}) => {
    const fields = {
      SmsSid: sid,
      SmsStatus: status,
      MessageStatus: status,
      To: form.get("To"),
      MessagingServiceSid: service,
      MessageSid: sid,
      AccountSid: accountSid,
      From: form.get("From") ?? SERVICE_POOL_NUMBER,
      ApiVersion: "2010-04-01",
      ...extra,
    };
    const unsigned = formCallback(url, fields);
    const params = Object.fromEntries(new URLSearchParams(unsigned.body));
    return {
      ...unsigned,
      headers: {
        ...unsigned.headers,
        "user-agent": "TwilioProxy/1.1",
        "i-twilio-idempotency-token": randomUUID(),
        "x-twilio-signature": twilioSignature(authToken, url, params),
      },
      providerMessageId: sid,
    };
  };
  const done = rawDlrDoneDate(new Date());
  return [
    callback("sent"),
    undelivered
      ? callback("undelivered", { ErrorCode: UNDELIVERED_ERROR_CODE, RawDlrDoneDate: done })
      : callback("delivered", { RawDlrDoneDate: done }),
  ];
}

/** The message resource Twilio returns on create (§1.2), and its status callbacks. */
function created(accountSid, authToken, form, behaviour) {
  const sid = `SM${hex32()}`;
  const service = form.get("MessagingServiceSid");
  const body = form.get("Body") ?? "";
  const now = rfc2822(new Date());
  const resource = json(201, {
    account_sid: accountSid,
    api_version: "2010-04-01",
    body,
    date_created: now,
    date_sent: null,
    date_updated: now,
    direction: "outbound-api",
    error_code: null,
    error_message: null,
    from: form.get("From"),
    messaging_service_sid: service,
    num_media: "0",
    // Through a Messaging Service no sender is assigned yet at create time, hence "0".
    num_segments: service ? "0" : String(segmentCount(body)),
    price: null,
    price_unit: "USD",
    sid,
    status: service ? "accepted" : "queued",
    subresource_uris: { media: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}/Media.json` },
    to: form.get("To"),
    uri: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`,
  });
  const undelivered = behaviour === "undelivered";
  return {
    ...resource,
    callbacks: statusCallbacks({ accountSid, authToken, sid, form, undelivered }),
  };
}

function magicAnswer(behaviour, to, success) {
  switch (behaviour) {
    case "invalid_number":
      return twilioError(400, 21211, `Invalid 'To' Phone Number: ${to}`);
    case "opted_out":
      return twilioError(400, 21610, "Attempt to send to unsubscribed recipient");
    case "config_error":
      return twilioError(
        400,
        21408,
        `Permission to send an SMS has not been enabled for the region indicated by the 'To' number: ${to}`,
      );
    case "throttled":
      return twilioError(429, 20429, "Too Many Requests");
    // 503 with 20503 rather than 500 with 20500: Twilio documents 20503 as "try again with
    // back-off", and warns that a 500 on a send may have sent it (retrying could send twice).
    case "outage":
      return twilioError(503, 20503, "Service unavailable");
    default:
      return transportFailure(behaviour, success) ?? success();
  }
}

/**
 * Starts the fake. Accepts Basic auth with AccountSid + AuthToken, or with the API key
 * (ApiKeySid + secret) of that account. `deliverCallbacks`: see startFakeServer.
 */
export async function startFakeTwilio({
  accountSid,
  authToken,
  apiKeySid,
  apiKeySecret,
  port = 0,
  ...callbackOptions
}) {
  const passwords = new Map([
    [accountSid, authToken],
    [apiKeySid, apiKeySecret],
  ]);

  const handle = ({ method, path, headers, body }) => {
    const credentials = basicCredentials(headers.authorization);
    if (!credentials || passwords.get(credentials.user) !== credentials.password) {
      return twilioError(401, 20003, "Authenticate");
    }
    const pathAccount = MESSAGES_PATH.exec(path)?.[1];
    // Another account's path, even with valid credentials, is not found (only this one exists).
    if (method !== "POST" || pathAccount !== accountSid) {
      return twilioError(404, 20404, `The requested resource ${path} was not found`);
    }
    // Twilio reads form parameters only; any other body leaves every field missing.
    const isForm = (headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded");
    const form = new URLSearchParams(isForm ? body : "");
    const invalid = invalidField(form);
    if (invalid) return twilioError(400, ...invalid);
    const to = form.get("To") ?? "";
    const behaviour = behaviourFor(to);
    return magicAnswer(behaviour, to, () => created(accountSid, authToken, form, behaviour));
  };

  return startFakeServer({ name: "twilio", handle, port, ...callbackOptions });
}
