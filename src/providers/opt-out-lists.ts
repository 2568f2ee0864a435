/**
 * Our opt-outs and opt-ins pushed to the AWS providers' own opt-out lists, so that AWS refuses
 * what we refuse: End User Messaging SMS (`PutOptedOutNumber` / `DeleteOptedOutNumber`, AWS JSON
 * 1.0, providers.md §4.4) and SNS (`OptInPhoneNumber` only, Query protocol, §3.5: SNS has no API
 * that adds a number). Unlike a send, each call is idempotent in effect, so a result says
 * whether trying again later is worth it rather than whether AWS may have acted.
 */
import type { FailureOutcome } from "../domain/dispatch-policy";
import { maskPhone, maskPhonesInText } from "../domain/phone";
import { type AwsCredentials, createAwsClient, signAwsRequest } from "./aws-signing";
import {
  errorCode,
  errorOutcome,
  parseJsonObject,
  qualifiedCode,
  type SmsVoiceConfig,
  stringField,
} from "./aws-sms-voice";
import { classify, type SnsConfig, xmlElement } from "./aws-sns";
import { callOnce, type FetchLike, type HttpOutcome } from "./http";

export type OptOutListAction = "opt_out" | "opt_in";

export type OptOutListResult = { ok: true } | { ok: false; retryable: boolean; error: string };

export interface OptOutListClient {
  provider: "aws-sms-voice" | "aws-sns";
  /** Whether the provider has an API for this action (SNS cannot add to its list). */
  supports(action: OptOutListAction): boolean;
  apply(action: OptOutListAction, e164: string): Promise<OptOutListResult>;
}

const OK: OptOutListResult = { ok: true };
const UNSUPPORTED: OptOutListResult = { ok: false, retryable: false, error: "unsupported" };
const MAX_ERROR_CHARS = 200;

/** The failure classes of the send clients that mean "later": throttling and server faults. */
const RETRYABLE: ReadonlySet<FailureOutcome> = new Set(["throttled", "unavailable"]);

/** An error AWS answered in its protocol's shape; `code` already qualified where it helps. */
type AwsError = { code: string; message: string; retryable: boolean };

/** A failure whose text never shows the number in clear: AWS's messages may quote it. */
function failed(e164: string, retryable: boolean, code: string, message: string): OptOutListResult {
  const digits = e164.replace(/^\+/, "");
  const raw = message ? `${code}: ${message}` : code;
  // maskPhonesInText masks numbers written with their "+"; this also masks them without it.
  const text = digits ? raw.split(digits).join(maskPhone(e164).slice(1)) : raw;
  return { ok: false, retryable, error: maskPhonesInText(text).slice(0, MAX_ERROR_CHARS) };
}

/**
 * The result of one call. `readError` reads the provider's error shape: an AwsError, "ok" for an
 * error that means the list already is as wanted, or undefined for an answer that is not one.
 */
function resultOf(
  outcome: HttpOutcome,
  e164: string,
  readError: (status: number, headers: Headers, body: string) => AwsError | "ok" | undefined,
): OptOutListResult {
  // No answer: the list may or may not have changed, and doing it again does no harm.
  if (outcome.kind === "no_response") {
    return failed(e164, true, outcome.errorCode, outcome.errorMessage);
  }
  const { status, headers, body } = outcome;
  if (status === 200) return OK;
  const error = readError(status, headers, body);
  if (error === "ok") return OK;
  if (error) return failed(e164, error.retryable, error.code, error.message);
  // Not the provider's error shape: a gateway or proxy answered, or AWS said only its status.
  return failed(e164, status >= 500 || status === 429, `http_${status}`, body);
}

interface AwsEndpoint {
  credentials: AwsCredentials;
  region: string;
  baseUrl: string;
  timeoutMs: number;
}

/** Signs and sends one POST: a single attempt, bounded by the timeout (callOnce). */
function awsPoster(endpoint: AwsEndpoint, service: string, fetchImpl?: FetchLike) {
  const client = createAwsClient(endpoint.credentials, { service, region: endpoint.region });
  const url = `${endpoint.baseUrl.replace(/\/+$/, "")}/`;
  return async (headers: Record<string, string>, body: string, at?: Date) =>
    callOnce(
      await signAwsRequest(client, url, { method: "POST", headers, body, at }),
      endpoint.timeoutMs,
      fetchImpl,
    );
}

/**
 * End User Messaging SMS: opt_out puts the number on the named opt-out list, opt_in deletes it
 * from there. Deleting a number that is not on the list succeeds: that is what opting in wants.
 */
export function createSmsVoiceOptOutList(
  config: SmsVoiceConfig & { optOutListName: string },
  fetchImpl?: FetchLike,
): OptOutListClient {
  const post = awsPoster(config, "sms-voice", fetchImpl);
  const clock = config.now ?? (() => new Date());
  return {
    provider: "aws-sms-voice",
    supports: () => true,
    async apply(action, e164) {
      const operation = action === "opt_out" ? "PutOptedOutNumber" : "DeleteOptedOutNumber";
      const outcome = await post(
        {
          "Content-Type": "application/x-amz-json-1.0",
          "X-Amz-Target": `PinpointSMSVoiceV2.${operation}`,
        },
        JSON.stringify({ OptOutListName: config.optOutListName, OptedOutNumber: e164 }),
        clock(),
      );
      return resultOf(outcome, e164, (status, headers, text) => {
        const body = parseJsonObject(text) ?? {};
        const code = errorCode(headers, body);
        if (!code) return undefined;
        // Not on the list is done; no such list is our setup's fault, as it is for a put.
        const notOnList =
          code === "ResourceNotFoundException" &&
          stringField(body, "ResourceType") !== "opt-out-list";
        if (action === "opt_in" && notOnList) return "ok";
        const reason = stringField(body, "Reason");
        return {
          code: qualifiedCode(code, reason),
          message: stringField(body, "message", "Message") ?? "",
          retryable: RETRYABLE.has(errorOutcome(status, code, reason)),
        };
      });
    },
  };
}

/**
 * SNS: opt_in only (`OptInPhoneNumber`, at most once every 30 days per number); a number gets on
 * SNS's list only by replying STOP, so opt_out is unsupported and makes no call.
 */
export function createSnsOptOutList(config: SnsConfig, fetchImpl?: FetchLike): OptOutListClient {
  const post = awsPoster(config, "sns", fetchImpl);
  return {
    provider: "aws-sns",
    supports: (action) => action === "opt_in",
    async apply(action, e164) {
      if (action !== "opt_in") return UNSUPPORTED;
      const outcome = await post(
        { "Content-Type": "application/x-www-form-urlencoded; charset=utf-8" },
        // The parameter is lower-case `phoneNumber` here, unlike Publish's `PhoneNumber`.
        new URLSearchParams({
          Action: "OptInPhoneNumber",
          Version: "2010-03-31",
          phoneNumber: e164,
        }).toString(),
      );
      return resultOf(outcome, e164, (status, _headers, body) => {
        const code = xmlElement(body, "Code");
        if (!code) return undefined;
        return {
          code,
          message: xmlElement(body, "Message") ?? "",
          retryable: RETRYABLE.has(classify(code, xmlElement(body, "Type"), status)),
        };
      });
    },
  };
}
