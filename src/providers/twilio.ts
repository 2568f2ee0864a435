/**
 * Twilio Programmable Messaging client (providers.md §1.1–1.4): one form-encoded POST to the
 * account's Messages.json, Basic auth, the answer mapped onto the Provider port.
 */
import type { FailureOutcome } from "../domain/dispatch-policy";
import { parseMoney } from "../domain/pricing";
import { callOnce, type FetchLike, failure, type HttpOutcome, unknownOutcome } from "./http";
import type { Provider, SendRequest, SendResult } from "./types";

export interface TwilioConfig {
  accountSid: string;
  /** An API key (SK…) and its secret is preferred: it can be revoked without the auth token. */
  auth: { kind: "api_key"; sid: string; secret: string } | { kind: "auth_token"; token: string };
  /** Used when routing picked no sender. */
  messagingServiceSid?: string;
  /** https://api.twilio.com in production; the caller passes it. */
  baseUrl: string;
  timeoutMs: number;
  now?: () => Date;
}

/**
 * Twilio's synchronous error codes, by what dispatch may do next. Codes not listed are classed
 * by HTTP status in `classify`.
 */
const ERROR_CLASSES: ReadonlyMap<number, FailureOutcome> = new Map([
  // "Requests that receive 429 responses aren't processed and are safe to retry."
  [20429, "throttled"],
  // The From number's queue is full: nothing was queued, later is fine.
  [21611, "throttled"],
  // Twilio's page says try again with back-off: the request was not processed.
  [20503, "unavailable"],
  // Twilio warns that a 500 on a send may still have sent it: resending could deliver twice.
  [20500, "outcome_unknown"],
  // The destination, or this sender for it, will not work however often we try.
  [21211, "rejected_permanent"], // invalid 'To' number
  [21614, "rejected_permanent"], // 'To' is not a mobile number
  [21610, "rejected_permanent"], // recipient replied STOP
  [21612, "rejected_permanent"], // To/From combination cannot be connected
  [30004, "rejected_permanent"], // message blocked (blocklist, DND); usually comes in a receipt
  [21606, "rejected_permanent"], // From cannot send to this destination
  [21212, "rejected_permanent"], // invalid From
  // Our account's setup: a human must fix it; another provider may still deliver.
  [20003, "rejected_config"], // authentication
  [21408, "rejected_config"], // Geo Permissions disable the destination region
  [21608, "rejected_config"], // unverified destination on a trial account
  [20404, "rejected_config"], // the account in the path does not exist for these credentials
]);

function classify(status: number, code: number): FailureOutcome {
  const known = ERROR_CLASSES.get(code);
  if (known) return known;
  if (status === 429) return "throttled";
  if (status === 401 || status === 403) return "rejected_config";
  if (status === 503) return "unavailable";
  if (status >= 500) return "outcome_unknown";
  // Any other 4xx: Twilio validated the request and refused it, so sending the same request
  // again gets the same answer. Failing it loudly beats retrying it quietly.
  return "rejected_permanent";
}

const MAX_VALIDITY_PERIOD_S = 36_000;

/** Seconds until the deadline, rounded up (never cut the window short), within Twilio's 1..36000. */
function validityPeriod(deadline: Date, now: Date): number {
  const seconds = Math.ceil((deadline.getTime() - now.getTime()) / 1000);
  return Math.min(MAX_VALIDITY_PERIOD_S, Math.max(1, seconds));
}

/** The form fields, or null when there is no sender at all (nothing Twilio could send from). */
function formFields(request: SendRequest, config: TwilioConfig, now: Date): URLSearchParams | null {
  const form = new URLSearchParams({ To: request.to, Body: request.body });
  const { sender } = request;
  if (sender?.kind === "messaging_service") form.set("MessagingServiceSid", sender.value);
  else if (sender) form.set("From", sender.value);
  else if (config.messagingServiceSid) form.set("MessagingServiceSid", config.messagingServiceSid);
  else return null;
  if (request.statusCallbackUrl) form.set("StatusCallback", request.statusCallbackUrl);
  if (request.deadline) form.set("ValidityPeriod", String(validityPeriod(request.deadline, now)));
  return form;
}

function basicAuth(config: TwilioConfig): string {
  const [user, password] =
    config.auth.kind === "api_key"
      ? [config.auth.sid, config.auth.secret]
      : [config.accountSid, config.auth.token];
  return `Basic ${btoa(`${user}:${password}`)}`;
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null;

/** The USD cost of a Twilio `price` ("-0.00750", charges are negative), when there is one. */
function costMicros(price: unknown, unit: unknown): number | undefined {
  if (typeof price !== "string" || unit !== "USD") return undefined;
  try {
    return Math.abs(parseMoney(price));
  } catch {
    return undefined;
  }
}

/** Twilio's error body (§1.3), or null when the answer is not one. */
function twilioError(body: unknown): { code: number; message: string } | null {
  if (!isRecord(body) || typeof body.code !== "number" || typeof body.message !== "string") {
    return null;
  }
  return { code: body.code, message: body.message };
}

function accepted(sid: string, body: Record<string, unknown>): SendResult {
  const cost = costMicros(body.price, body.price_unit);
  // "0" through a Messaging Service means no sender was assigned yet, not zero segments.
  const segments = Number(body.num_segments);
  return {
    outcome: "accepted",
    providerMessageId: sid,
    ...(cost === undefined ? {} : { costMicros: cost, currency: "USD" }),
    ...(Number.isInteger(segments) && segments > 0 ? { segments } : {}),
  };
}

function interpret(response: Extract<HttpOutcome, { kind: "response" }>): SendResult {
  const body = parseJson(response.body);
  if (response.status === 201) {
    // A 201 we cannot read still means Twilio probably took the message: never "failed".
    return isRecord(body) && typeof body.sid === "string" && body.sid !== ""
      ? accepted(body.sid, body)
      : unknownOutcome(response);
  }
  const error = twilioError(body);
  // Whoever answered 429 did not process the request, in Twilio's format or not.
  if (response.status === 429 && !error) {
    return failure("throttled", "http_429", response.body.slice(0, 200));
  }
  // A gateway between us and Twilio, or an answer that is not Twilio's: it may or may not have
  // taken the message.
  if (!error || response.status === 502 || response.status === 504) {
    return unknownOutcome(response);
  }
  return failure(classify(response.status, error.code), error.code, error.message);
}

export function createTwilioProvider(config: TwilioConfig, fetchImpl?: FetchLike): Provider {
  const url = `${config.baseUrl.replace(/\/+$/, "")}/2010-04-01/Accounts/${encodeURIComponent(config.accountSid)}/Messages.json`;
  const authorization = basicAuth(config);
  const now = config.now ?? (() => new Date());

  return {
    name: "twilio",
    async send(request: SendRequest): Promise<SendResult> {
      const form = formFields(request, config, now());
      if (!form) {
        return failure(
          "rejected_config",
          "no_sender",
          "No sender for this message and no Messaging Service configured for Twilio",
        );
      }
      const outcome = await callOnce(
        new Request(url, {
          method: "POST",
          headers: {
            Authorization: authorization,
            Accept: "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
          },
          body: form.toString(),
        }),
        config.timeoutMs,
        fetchImpl,
      );
      return outcome.kind === "response" ? interpret(outcome) : unknownOutcome(outcome);
    },
  };
}
