/**
 * AWS End User Messaging SMS (`pinpoint-sms-voice-v2`) `SendTextMessage`: AWS JSON 1.0 protocol,
 * SigV4 with service `sms-voice`.
 */
import type { FailureOutcome } from "../domain/dispatch-policy";
import { formatMoney } from "../domain/pricing";
import { type AwsCredentials, createAwsClient, signAwsRequest } from "./aws-signing";
import { callOnce, type FetchLike, failure, unknownOutcome } from "./http";
import type { Provider, SendRequest, SendResult } from "./types";

export interface SmsVoiceConfig {
  credentials: AwsCredentials;
  region: string;
  /** Usually `smsVoiceDefaultBaseUrl(region)`; another for FIPS endpoints or a test server. */
  baseUrl: string;
  timeoutMs: number;
  /** Routes delivery events (with our `Context`) to their destination. */
  configurationSetName?: string;
  /** Validate without sending (free, but nothing is delivered). */
  dryRun?: boolean;
  /** The clock for TimeToLive and the signature date; the system clock when absent. */
  now?: () => Date;
}

export const smsVoiceDefaultBaseUrl = (region: string): string =>
  `https://sms-voice.${region}.amazonaws.com`;

const TARGET = "PinpointSMSVoiceV2.SendTextMessage";
const MIN_TTL_SECONDS = 5;
const MAX_TTL_SECONDS = 259_200;
/** MaxPrice must match `[0-9]{0,2}\.[0-9]{1,5}`: at most 99.99999 USD, in steps of 10 micros. */
const MAX_PRICE_STEP_MICROS = 10;
const MAX_PRICE_CEILING_MICROS = 99_999_990;

/**
 * Rounded down to the pattern's 5 decimals, since it is a ceiling we must not raise. formatMoney
 * then always fits: 1–2 integer digits, 4–5 decimals (its 6th, now always 0, is trimmed).
 */
function maxPrice(micros: number): string {
  const stepped = Math.floor(micros / MAX_PRICE_STEP_MICROS) * MAX_PRICE_STEP_MICROS;
  return formatMoney(Math.min(Math.max(stepped, 0), MAX_PRICE_CEILING_MICROS));
}

/** Whole seconds left until the deadline (rounded down: never outlive it), within AWS's range. */
function timeToLive(deadline: Date, now: Date): number {
  const seconds = Math.floor((deadline.getTime() - now.getTime()) / 1000);
  return Math.min(Math.max(seconds, MIN_TTL_SECONDS), MAX_TTL_SECONDS);
}

function sendTextMessageBody(config: SmsVoiceConfig, request: SendRequest, now: Date) {
  return {
    DestinationPhoneNumber: request.to,
    MessageBody: request.body,
    MessageType: request.type === "promotional" ? "PROMOTIONAL" : "TRANSACTIONAL",
    // Echoed in every delivery event, so receipts find the message without a lookup table.
    Context: { message_id: request.messageId },
    ...(request.sender ? { OriginationIdentity: request.sender.value } : {}),
    ...(config.configurationSetName ? { ConfigurationSetName: config.configurationSetName } : {}),
    ...(request.maxPriceMicros !== undefined ? { MaxPrice: maxPrice(request.maxPriceMicros) } : {}),
    ...(request.deadline ? { TimeToLive: timeToLive(request.deadline, now) } : {}),
    ...(request.dlt
      ? {
          DestinationCountryParameters: {
            IN_ENTITY_ID: request.dlt.entityId,
            IN_TEMPLATE_ID: request.dlt.templateId,
          },
        }
      : {}),
    ...(config.dryRun ? { DryRun: true } : {}),
  };
}

/**
 * The error code as aws-sdk-js-v3 reads it (`loadRestJsonErrorCode`): header `x-amzn-ErrorType`,
 * then body `code` (any case), then `__type`; cut at `,` and `:`, keep what follows `#`.
 */
export function errorCode(headers: Headers, body: Record<string, unknown>): string | undefined {
  const codeKey = Object.keys(body).find((key) => key.toLowerCase() === "code");
  const raw = headers.get("x-amzn-ErrorType") ?? (codeKey ? body[codeKey] : body.__type);
  if (typeof raw !== "string") return undefined;
  const [beforeComma = ""] = raw.split(",");
  const [beforeColon = ""] = beforeComma.split(":");
  return beforeColon.split("#").pop()?.trim() || undefined;
}

/**
 * By exception, then by `Reason` where the exception mixes faults. The question each time: is it
 * this message or destination (rejected_permanent), or our account's setup, which an operator
 * must fix and which another provider might not share (rejected_config)?
 */
const BY_CODE = new Map<string, FailureOutcome>(
  Object.entries({
    ThrottlingException: "throttled",
    InternalServerException: "unavailable",
    // Mostly this message: unparseable number, body too long, country code mismatch, price over
    // our MaxPrice. Sender and country enablement reasons are overridden below.
    ValidationException: "rejected_permanent",
    // Mostly resource state in our account: no origination identity, sandbox destination not
    // verified, message type or keyword mismatch, inactive resource. Opt-outs are overridden below.
    ConflictException: "rejected_config",
    AccessDeniedException: "rejected_config",
    ResourceNotFoundException: "rejected_config",
    // Monthly spend limit and similar quotas: they need an operator, not a retry in 30 s.
    ServiceQuotaExceededException: "rejected_config",
    UnrecognizedClientException: "rejected_config",
    InvalidSignatureException: "rejected_config",
    IncompleteSignatureException: "rejected_config",
    MissingAuthenticationTokenException: "rejected_config",
    ExpiredTokenException: "rejected_config",
  }),
);

const BY_REASON = new Map<string, FailureOutcome>(
  Object.entries({
    // The recipient said STOP: no provider may send it.
    "ConflictException:DESTINATION_PHONE_NUMBER_OPTED_OUT": "rejected_permanent",
    // Our own protect configuration blocks this number or country on purpose: sending it through
    // another provider would defeat that rule, so it is final rather than a setup problem.
    "ConflictException:DESTINATION_PHONE_NUMBER_BLOCKED_BY_PROTECT_NUMBER_OVERRIDE":
      "rejected_permanent",
    "ConflictException:DESTINATION_COUNTRY_BLOCKED_BY_PROTECT_CONFIGURATION": "rejected_permanent",
    // Sender registration, channel and country enablement belong to the account, not the message.
    "ValidationException:SENDER_ID_NOT_REGISTERED": "rejected_config",
    "ValidationException:SENDER_ID_NOT_SUPPORTED": "rejected_config",
    "ValidationException:SENDER_ID_REQUIRES_REGISTRATION": "rejected_config",
    "ValidationException:INVALID_IDENTITY_FOR_DESTINATION_COUNTRY": "rejected_config",
    "ValidationException:INTERNATIONAL_SENDING_NOT_SUPPORTED": "rejected_config",
    "ValidationException:DESTINATION_COUNTRY_BLOCKED": "rejected_config",
    "ValidationException:CHANNEL_NOT_ENABLED": "rejected_config",
    "ValidationException:COUNTRY_NOT_ENABLED": "rejected_config",
    "ValidationException:INVALID_ARN": "rejected_config",
    "ValidationException:RESOURCE_NOT_ACCESSIBLE": "rejected_config",
  }),
);

export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return undefined;
  }
}

export const stringField = (body: Record<string, unknown>, ...keys: string[]): string | undefined =>
  keys.map((key) => body[key]).find((value): value is string => typeof value === "string");

/** The exception's code with its `Reason`, when it has one: `ConflictException:…_OPTED_OUT`. */
export const qualifiedCode = (code: string, reason: string | undefined): string =>
  reason ? `${code}:${reason}` : code;

/** What an AWS JSON error (§4.3) says about the request, by code and reason, else by status. */
export function errorOutcome(
  status: number,
  code: string,
  reason: string | undefined,
): FailureOutcome {
  // An unlisted exception: a server fault is transient; a client fault means AWS refused it.
  return (
    BY_REASON.get(qualifiedCode(code, reason)) ??
    BY_CODE.get(code) ??
    (status >= 500 ? "unavailable" : status === 429 ? "throttled" : "rejected_config")
  );
}

function interpret(status: number, headers: Headers, text: string): SendResult | null {
  // A gateway in front of the service answered: it may or may not have taken the message.
  if (status === 502 || status === 504) return null;
  const body = parseJsonObject(text);
  if (status === 200) {
    const messageId = body && stringField(body, "MessageId");
    return messageId ? { outcome: "accepted", providerMessageId: messageId } : null;
  }
  const code = errorCode(headers, body ?? {});
  if (!code) return status === 429 ? failure("throttled", "http_429", text.slice(0, 200)) : null;
  const reason = body && stringField(body, "Reason");
  return failure(
    errorOutcome(status, code, reason),
    qualifiedCode(code, reason),
    (body && stringField(body, "message", "Message")) ?? "",
  );
}

export function createSmsVoiceProvider(config: SmsVoiceConfig, fetchImpl?: FetchLike): Provider {
  const client = createAwsClient(config.credentials, {
    service: "sms-voice",
    region: config.region,
  });
  const url = `${config.baseUrl.replace(/\/+$/, "")}/`;
  const clock = config.now ?? (() => new Date());
  return {
    name: "aws-sms-voice",
    async send(request: SendRequest): Promise<SendResult> {
      if (request.sender?.kind === "messaging_service") {
        return failure(
          "rejected_config",
          "unsupported_sender",
          "End User Messaging cannot send from a messaging service sender",
        );
      }
      const now = clock();
      const signed = await signAwsRequest(client, url, {
        method: "POST",
        headers: { "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": TARGET },
        body: JSON.stringify(sendTextMessageBody(config, request, now)),
        at: now,
      });
      const outcome = await callOnce(signed, config.timeoutMs, fetchImpl);
      if (outcome.kind === "no_response") return unknownOutcome(outcome);
      return interpret(outcome.status, outcome.headers, outcome.body) ?? unknownOutcome(outcome);
    },
  };
}
