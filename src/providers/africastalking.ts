/**
 * Africa's Talking bulk SMS client (providers.md §6.1). `send`: one form-encoded POST per
 * message, one recipient per POST, so the recipient's own result is the send's result.
 * `sendMany`: one POST for many messages with the same body and sender, their numbers joined by
 * "," in `to`; each message's result is the answer's recipient entry with its number.
 */
import type { FailureOutcome } from "../domain/dispatch-policy";
import { MICROS_PER_UNIT } from "../domain/pricing";
import { callOnce, type FetchLike, failure, type HttpOutcome, unknownOutcome } from "./http";
import type { Provider, Sender, SendRequest, SendResult } from "./types";

export interface AfricasTalkingConfig {
  username: string;
  apiKey: string;
  /** See africasTalkingDefaultBaseUrl. */
  baseUrl: string;
  timeoutMs: number;
  /** USD per unit of each currency Africa's Talking bills in, as decimal strings: {"KES": "0.0077"}. */
  usdPerUnit: Record<string, string>;
}

/** The sandbox for the "sandbox" account (as the official SDK decides), the live API otherwise. */
export function africasTalkingDefaultBaseUrl(username: string): string {
  return username.toLowerCase() === "sandbox"
    ? "https://api.sandbox.africastalking.com"
    : "https://api.africastalking.com";
}

/** The most recipients one `sendMany` call carries. */
export const AFRICAS_TALKING_MAX_RECIPIENTS = 1000;

/** Per-recipient statusCode 100 Processed, 101 Sent, 102 Queued. */
const ACCEPTED_CODES = new Set([100, 101, 102]);

/** Per-recipient failure codes (§6.1), by what dispatch may do next. None of them was sent. */
const RECIPIENT_FAILURES: ReadonlyMap<number, { status: string; outcome: FailureOutcome }> =
  new Map([
    [402, { status: "InvalidSenderId", outcome: "rejected_permanent" }],
    [403, { status: "InvalidPhoneNumber", outcome: "rejected_permanent" }],
    [404, { status: "UnsupportedNumberType", outcome: "rejected_permanent" }],
    [406, { status: "UserInBlacklist", outcome: "rejected_permanent" }],
    [409, { status: "DoNotDisturbRejection", outcome: "rejected_permanent" }],
    // The account is held for review or out of credit: a human must act.
    [401, { status: "RiskHold", outcome: "rejected_config" }],
    [405, { status: "InsufficientBalance", outcome: "rejected_config" }],
    // No route to the destination's network from Africa's Talking right now. Nothing was sent,
    // so trying again later or elsewhere is safe, and another provider may well have a route;
    // retries are bounded by the dispatch policy if the route never comes back.
    [407, { status: "CouldNotRoute", outcome: "unavailable" }],
    // Africa's Talking's gateway failed before sending: safe to retry.
    [500, { status: "InternalServerError", outcome: "unavailable" }],
    [501, { status: "GatewayError", outcome: "unavailable" }],
    [502, { status: "RejectedByGateway", outcome: "unavailable" }],
  ]);

/** An undocumented code: in the 4xx band AT refused this recipient, in the 5xx band it failed. */
const outcomeForUnlistedCode = (code: number): FailureOutcome =>
  code >= 500 ? "unavailable" : "rejected_permanent";

function recipientFailure(code: number, status: string): SendResult {
  const outcome = RECIPIENT_FAILURES.get(code)?.outcome ?? outcomeForUnlistedCode(code);
  return failure(outcome, code, status);
}

/** A non-negative decimal as an integer and a power-of-ten scale: "0.0077" → 77n, 4. */
function parseDecimal(text: string): { units: bigint; scale: number } | null {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) return null;
  const [, whole = "", fraction = ""] = match;
  return { units: BigInt(whole + fraction), scale: fraction.length };
}

/**
 * "KES 0.8000" at 0.0077 USD/KES → 6160 USD micros. Exact integer arithmetic, rounded half up
 * once at the end; undefined for a currency without a configured rate or an unreadable amount.
 */
export function costInUsdMicros(
  cost: string,
  usdPerUnit: Record<string, string>,
): number | undefined {
  const [currency = "", amountText = ""] = cost.trim().split(/\s+/);
  const rateText = currency === "USD" ? "1" : usdPerUnit[currency];
  const amount = parseDecimal(amountText);
  const rate = rateText === undefined ? null : parseDecimal(rateText);
  if (!amount || !rate) return undefined;
  const divisor = 10n ** BigInt(amount.scale + rate.scale);
  const scaled = amount.units * rate.units * BigInt(MICROS_PER_UNIT);
  const micros = (scaled * 2n + divisor) / (2n * divisor);
  return micros <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(micros) : undefined;
}

interface Recipient {
  statusCode: number;
  status: string;
  /** E.164, as sent. */
  number?: unknown;
  messageId?: unknown;
  cost?: unknown;
}

/** SMSMessageData from a 201: the summary line and the recipients we can read. */
function parseSmsMessageData(body: string): { message: string; recipients: Recipient[] } | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return null;
  }
  const data = (parsed as { SMSMessageData?: unknown } | null)?.SMSMessageData;
  if (typeof data !== "object" || data === null) return null;
  const { Message, Recipients } = data as { Message?: unknown; Recipients?: unknown };
  const recipients = (Array.isArray(Recipients) ? Recipients : []).filter(
    (r): r is Recipient =>
      typeof r === "object" &&
      r !== null &&
      typeof r.statusCode === "number" &&
      typeof r.status === "string",
  );
  return { message: typeof Message === "string" ? Message : "", recipients };
}

/** A 201 without recipients: what it means for every message the POST carried. */
function withoutRecipients(message: string): SendResult {
  // Africa's Talking answers a refused sender ID with no recipients and the status name as
  // the Message ("InvalidSenderId"); anything else without a recipient says nothing certain.
  const named = [...RECIPIENT_FAILURES].find(([, failure]) => failure.status === message);
  return named
    ? recipientFailure(named[0], message)
    : failure("outcome_unknown", "no_recipients", message || "No recipients in the answer");
}

function fromRecipient(recipient: Recipient, usdPerUnit: Record<string, string>): SendResult {
  if (!ACCEPTED_CODES.has(recipient.statusCode)) {
    return recipientFailure(recipient.statusCode, recipient.status);
  }
  if (typeof recipient.messageId !== "string" || recipient.messageId === "") {
    return failure(
      "outcome_unknown",
      "no_message_id",
      `Accepted without a message id: ${recipient.status}`,
    );
  }
  const cost =
    typeof recipient.cost === "string" ? costInUsdMicros(recipient.cost, usdPerUnit) : undefined;
  return {
    outcome: "accepted",
    providerMessageId: recipient.messageId,
    ...(cost === undefined ? {} : { costMicros: cost, currency: "USD" }),
  };
}

// Africa's Talking's own errors are plain text; a proxy's are HTML pages.
const isOwnErrorText = (body: string) => body.trim() !== "" && !body.trimStart().startsWith("<");

/** What an answer other than 201 means for every message the POST carried. */
function fromHttpStatus(response: Extract<HttpOutcome, { kind: "response" }>): SendResult {
  const { status, body } = response;
  const httpFailure = (outcome: FailureOutcome) =>
    failure(outcome, `http_${status}`, body.slice(0, 200) || `HTTP ${status}`);
  // Bad username or API key.
  if (status === 401 || status === 403) return httpFailure("rejected_config");
  if (status === 429) return httpFailure("throttled");
  // Africa's Talking saying it is unavailable did not take the message. Any other 5xx (a 500
  // mid-request, a gateway's 502/504) may have sent it.
  if (status === 503 && isOwnErrorText(body)) return httpFailure("unavailable");
  // Any other 4xx in Africa's Talking's words: it refused the request as sent.
  if (status >= 400 && status < 500 && isOwnErrorText(body)) {
    return httpFailure("rejected_permanent");
  }
  return unknownOutcome(response);
}

/** One POST's outcome, read for each number it carried: that number's result. */
type ResultByNumber = (number: string) => SendResult;

/**
 * Every number gets its own result object. The recipient entries are matched by `number`; a
 * POST to one number takes the answer's only entry as its result, whatever number it shows
 * (as the client always did).
 */
function interpret(
  outcome: HttpOutcome,
  numbersSent: number,
  usdPerUnit: Record<string, string>,
): ResultByNumber {
  if (outcome.kind === "no_response") return () => unknownOutcome(outcome);
  if (outcome.status !== 201) return () => fromHttpStatus(outcome);
  const data = parseSmsMessageData(outcome.body);
  // A 201 we cannot read may well have been sent: never "failed".
  if (!data) return () => unknownOutcome(outcome);
  const [first] = data.recipients;
  if (!first) return () => withoutRecipients(data.message);
  const byNumber = new Map<unknown, Recipient>();
  for (const recipient of data.recipients) {
    if (!byNumber.has(recipient.number)) byNumber.set(recipient.number, recipient);
  }
  return (number) => {
    const recipient = byNumber.get(number) ?? (numbersSent === 1 ? first : undefined);
    // The answer says nothing about this one: it may or may not have been sent.
    return recipient
      ? fromRecipient(recipient, usdPerUnit)
      : failure("outcome_unknown", "no_recipient_entry", `No recipient entry for ${number}`);
  };
}

const sameSender = (a: Sender | null, b: Sender | null) =>
  a === b || (a !== null && b !== null && a.kind === b.kind && a.value === b.value);

/** `sendMany`'s preconditions: breaking one is the caller's bug, so it throws. */
function checkOneMessage(requests: readonly SendRequest[], first: SendRequest): void {
  if (requests.length > AFRICAS_TALKING_MAX_RECIPIENTS) {
    throw new Error(
      `Africa's Talking sendMany: ${requests.length} recipients, at most ${AFRICAS_TALKING_MAX_RECIPIENTS}`,
    );
  }
  const numbers = new Set<string>();
  for (const request of requests) {
    if (request.body !== first.body || !sameSender(request.sender, first.sender)) {
      throw new Error(
        "Africa's Talking sendMany: every request must have the same body and sender",
      );
    }
    if (numbers.has(request.to)) {
      throw new Error(`Africa's Talking sendMany: ${request.to} appears twice`);
    }
    numbers.add(request.to);
  }
}

/** The Africa's Talking client: a Provider whose multi-recipient send is always there. */
export type AfricasTalkingProvider = Provider & Required<Pick<Provider, "sendMany">>;

export function createAfricasTalkingProvider(
  config: AfricasTalkingConfig,
  fetchImpl?: FetchLike,
): AfricasTalkingProvider {
  const url = `${config.baseUrl.replace(/\/+$/, "")}/version1/messaging`;

  /** One POST of `message` from `sender` to every number in `to`. */
  const post = async (
    to: readonly string[],
    message: string,
    sender: Sender | null,
  ): Promise<ResultByNumber> => {
    const form = new URLSearchParams({
      username: config.username,
      to: to.join(","),
      message,
      bulkSMSMode: "1",
    });
    // Without one, Africa's Talking sends from its shared sender.
    if (sender) form.set("from", sender.value);
    const outcome = await callOnce(
      new Request(url, {
        method: "POST",
        headers: {
          apiKey: config.apiKey,
          Accept: "application/json",
          "Content-Type": "application/x-www-form-urlencoded",
        },
        body: form.toString(),
      }),
      config.timeoutMs,
      fetchImpl,
    );
    return interpret(outcome, to.length, config.usdPerUnit);
  };

  return {
    name: "africastalking",
    async send(request: SendRequest): Promise<SendResult> {
      const resultFor = await post([request.to], request.body, request.sender);
      return resultFor(request.to);
    },
    async sendMany(requests: SendRequest[]): Promise<SendResult[]> {
      const [first] = requests;
      if (!first) return [];
      checkOneMessage(requests, first);
      const resultFor = await post(
        requests.map((request) => request.to),
        first.body,
        first.sender,
      );
      return requests.map((request) => resultFor(request.to));
    },
  };
}
