/**
 * Amazon SNS `Publish` to a phone number: AWS Query protocol (form-encoded request, XML answer),
 * SigV4 with service `sns`.
 */
import type { FailureOutcome } from "../domain/dispatch-policy";
import { formatMoney } from "../domain/pricing";
import { type AwsCredentials, createAwsClient, signAwsRequest } from "./aws-signing";
import { callOnce, type FetchLike, failure, unknownOutcome } from "./http";
import type { Provider, SendRequest, SendResult } from "./types";

export interface SnsConfig {
  credentials: AwsCredentials;
  region: string;
  /** Usually `snsDefaultBaseUrl(region)`; another for FIPS endpoints or a test server. */
  baseUrl: string;
  timeoutMs: number;
  /** Alphanumeric sender id used when routing chose no sender. */
  defaultSenderId?: string;
}

export const snsDefaultBaseUrl = (region: string): string => `https://sns.${region}.amazonaws.com`;

type Attribute = { name: string; dataType: "String" | "Number"; value: string };

/** The SMS message attributes of SNS's developer guide; null when the sender cannot be used. */
function smsAttributes(request: SendRequest, defaultSenderId?: string): Attribute[] | null {
  const string = (name: string, value: string): Attribute => ({ name, dataType: "String", value });
  const attributes = [
    string("AWS.SNS.SMS.SMSType", request.type === "promotional" ? "Promotional" : "Transactional"),
  ];
  const sender = request.sender;
  switch (sender?.kind) {
    case "alphanumeric":
      attributes.push(string("AWS.SNS.SMS.SenderID", sender.value));
      break;
    case "phone":
    case "short_code":
      attributes.push(string("AWS.MM.SMS.OriginationNumber", sender.value));
      break;
    case "messaging_service":
      return null;
    case undefined:
      if (defaultSenderId) attributes.push(string("AWS.SNS.SMS.SenderID", defaultSenderId));
  }
  if (request.maxPriceMicros !== undefined) {
    attributes.push({
      name: "AWS.SNS.SMS.MaxPrice",
      dataType: "Number",
      value: formatMoney(request.maxPriceMicros),
    });
  }
  if (request.dlt) {
    attributes.push(string("AWS.MM.SMS.EntityId", request.dlt.entityId));
    attributes.push(string("AWS.MM.SMS.TemplateId", request.dlt.templateId));
  }
  return attributes;
}

/** Query-protocol map serialization: `MessageAttributes.entry.<1-based i>.Name` / `.Value.*`. */
function publishBody(request: SendRequest, attributes: Attribute[]): string {
  const params = new URLSearchParams({
    Action: "Publish",
    Version: "2010-03-31",
    PhoneNumber: request.to,
    Message: request.body,
  });
  attributes.forEach(({ name, dataType, value }, index) => {
    const entry = `MessageAttributes.entry.${index + 1}`;
    params.set(`${entry}.Name`, name);
    params.set(`${entry}.Value.DataType`, dataType);
    params.set(`${entry}.Value.StringValue`, value);
  });
  return params.toString();
}

/*
 * SNS answers are small, flat documents of a fixed shape (`<PublishResponse>` or
 * `<ErrorResponse><Error><Type/><Code/><Message/>`): a regex per element is enough, and Workers
 * have no DOMParser, so an XML library would add weight for nothing. AWS's values hold no
 * nested markup, only the five predefined entities and character references.
 */
const XML_ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
};

const decodeXml = (text: string): string =>
  text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, entity: string) => {
    if (entity.startsWith("#x") || entity.startsWith("#X")) {
      return String.fromCodePoint(Number.parseInt(entity.slice(2), 16));
    }
    if (entity.startsWith("#")) return String.fromCodePoint(Number(entity.slice(1)));
    return XML_ENTITIES[entity] ?? whole;
  });

export function xmlElement(xml: string, name: string): string | undefined {
  const match = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return match?.[1] === undefined ? undefined : decodeXml(match[1]).trim();
}

/** What an SNS error code means for this message. */
export function classify(code: string, type: string | undefined, status: number): FailureOutcome {
  // `Throttling` (Publish, in practice), `Throttled` (modelled, 429), `KMSThrottling`: all say
  // "later", even the KMS one, so they are retried rather than failed as configuration.
  if (code.includes("Throttl")) return "throttled";
  if (code === "InternalError" || code === "ServiceUnavailable") return "unavailable";
  if (PERMANENT_CODES.has(code)) return "rejected_permanent";
  if (CONFIG_CODES.has(code) || code.startsWith("KMS")) return "rejected_config";
  // An unlisted code: AWS's <Type> says whose fault it is. A server fault is transient; a
  // sender fault not about this message (unknown action, expired request, missing opt-in…)
  // is in our setup, and in any case AWS did not take the message.
  const serverFault = type === undefined ? status >= 500 : type === "Receiver";
  return serverFault ? "unavailable" : "rejected_config";
}

/** Faults of this message or destination: no retry, no other account would do better. */
const PERMANENT_CODES = new Set([
  "InvalidParameter",
  "ParameterValueInvalid",
  "ValidationException",
  "OptedOut",
  "EndpointDisabled",
]);

/** Faults of our credentials, permissions or signing: every message would fail the same way. */
const CONFIG_CODES = new Set([
  "AuthorizationError",
  "InvalidSecurity",
  "InvalidClientTokenId",
  "SignatureDoesNotMatch",
  "MissingAuthenticationToken",
]);

function interpret(status: number, body: string): SendResult | null {
  if (status === 200) {
    const messageId = xmlElement(body, "MessageId");
    return messageId ? { outcome: "accepted", providerMessageId: messageId } : null;
  }
  // A gateway in front of SNS answered: SNS may or may not have taken the message.
  if (status === 502 || status === 504) return null;
  const code = xmlElement(body, "Code");
  if (!code) return status === 429 ? failure("throttled", "http_429", body.slice(0, 200)) : null;
  const message = xmlElement(body, "Message") ?? "";
  return failure(classify(code, xmlElement(body, "Type"), status), code, message);
}

export function createSnsProvider(config: SnsConfig, fetchImpl?: FetchLike): Provider {
  const client = createAwsClient(config.credentials, { service: "sns", region: config.region });
  const url = `${config.baseUrl.replace(/\/+$/, "")}/`;
  return {
    name: "aws-sns",
    async send(request: SendRequest): Promise<SendResult> {
      const attributes = smsAttributes(request, config.defaultSenderId);
      if (!attributes) {
        return failure(
          "rejected_config",
          "unsupported_sender",
          "SNS cannot send from a messaging service sender",
        );
      }
      const signed = await signAwsRequest(client, url, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded; charset=utf-8" },
        body: publishBody(request, attributes),
      });
      const outcome = await callOnce(signed, config.timeoutMs, fetchImpl);
      if (outcome.kind === "no_response") return unknownOutcome(outcome);
      return interpret(outcome.status, outcome.body) ?? unknownOutcome(outcome);
    },
  };
}
