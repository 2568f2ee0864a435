import { randomUUID } from "node:crypto";
import { requireSigV4 } from "./aws-sigv4.mjs";
import { behaviourFor, startFakeServer, transportFailure } from "./common.mjs";

/*
 * A fake Amazon SNS Publish-to-phone endpoint (reference: providers.md §3). It checks a request
 * the way SNS does: SigV4 first (service `sns`), then the Query protocol (`Action`, `Version`,
 * form encoding), then Publish's parameters and the SMS message attributes; it answers in SNS's
 * XML shapes (§3.3 success, §3.4 `ErrorResponse`).
 */

const XMLNS = "http://sns.amazonaws.com/doc/2010-03-31/";
const VERSION = "2010-03-31";
const E164 = /^\+?[1-9]\d{1,14}$/;
// SNS's limit for one SMS publish (§3.1).
const MAX_SMS_BYTES = 1600;
const ATTRIBUTE_KEY =
  /^MessageAttributes\.entry\.(\d+)\.(Name|Value\.DataType|Value\.StringValue)$/;
// Publish's other members: accepted, though SMS sends do not use them.
const OTHER_PUBLISH_PARAMETERS = new Set([
  "TopicArn",
  "TargetArn",
  "Subject",
  "MessageStructure",
  "MessageDeduplicationId",
  "MessageGroupId",
]);

/** What SNS accepts in each SMS attribute (§3.2), checked when the attribute is present. */
const SMS_ATTRIBUTES = {
  "AWS.SNS.SMS.SMSType": {
    dataType: "String",
    valid: (v) => /^(Promotional|Transactional)$/.test(v),
  },
  "AWS.SNS.SMS.SenderID": {
    dataType: "String",
    valid: (v) => /^(?=.*[A-Za-z])[A-Za-z0-9-]{3,11}$/.test(v),
  },
  "AWS.MM.SMS.OriginationNumber": { dataType: "String", valid: (v) => /^\+?\d{5,14}$/.test(v) },
  "AWS.SNS.SMS.MaxPrice": { dataType: "Number", valid: (v) => /^\d+(\.\d+)?$/.test(v) },
  "AWS.MM.SMS.EntityId": { dataType: "String", valid: (v) => v.length >= 1 && v.length <= 50 },
  "AWS.MM.SMS.TemplateId": { dataType: "String", valid: (v) => v.length >= 1 && v.length <= 50 },
};

const XML_ESCAPES = { "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" };
const escapeXml = (text) => String(text).replace(/[<>&"']/g, (c) => XML_ESCAPES[c]);

/** An XML answer; `render` gets the request id, which SNS puts in both header and body. */
function xml(status, render) {
  const requestId = randomUUID();
  return {
    status,
    headers: { "content-type": "text/xml", "x-amzn-requestid": requestId },
    body: render(requestId),
  };
}

/** §3.4: `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>`. */
const snsError = (status, code, message) =>
  xml(
    status,
    (requestId) =>
      `<ErrorResponse xmlns="${XMLNS}">\n  <Error>\n    <Type>${status >= 500 ? "Receiver" : "Sender"}</Type>\n    <Code>${code}</Code>\n    <Message>${escapeXml(message)}</Message>\n  </Error>\n  <RequestId>${requestId}</RequestId>\n</ErrorResponse>\n`,
  );

/** §3.3. */
const published = () =>
  xml(
    200,
    (requestId) =>
      `<PublishResponse xmlns="${XMLNS}">\n  <PublishResult>\n    <MessageId>${randomUUID()}</MessageId>\n  </PublishResult>\n  <ResponseMetadata>\n    <RequestId>${requestId}</RequestId>\n  </ResponseMetadata>\n</PublishResponse>\n`,
  );

/** How SNS (a Query-protocol service) reports each kind of signature problem. */
const SIGNATURE_ERRORS = {
  missing: [403, "MissingAuthenticationToken"],
  incomplete: [400, "IncompleteSignature"],
  unknown_key: [403, "InvalidClientTokenId"],
  bad_token: [403, "InvalidClientTokenId"],
  expired: [403, "SignatureDoesNotMatch"],
  wrong_scope: [403, "SignatureDoesNotMatch"],
  mismatch: [403, "SignatureDoesNotMatch"],
};

const invalidParameter = (message) =>
  snsError(400, "InvalidParameter", `Invalid parameter: ${message}`);
const parameterValueInvalid = (message) => snsError(400, "ParameterValueInvalid", message);

/**
 * Checks the `MessageAttributes.entry.N.*` parameters, numbered from 1 without gaps as the Query
 * protocol serializes maps; returns an error answer or null.
 */
function attributeError(form) {
  const entries = [];
  for (const [key, value] of form) {
    const match = ATTRIBUTE_KEY.exec(key);
    if (!match) continue;
    const index = Number(match[1]) - 1;
    entries[index] ??= {};
    entries[index][match[2]] = value;
  }
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    if (!entry?.Name || !entry["Value.DataType"]) {
      return invalidParameter(
        `MessageAttributes Reason: entry ${i + 1} needs a Name and a Value.DataType`,
      );
    }
    const { Name: name, "Value.DataType": dataType, "Value.StringValue": value } = entry;
    // SNS's own wording for these three checks.
    if (!/^(String|Number|Binary)(\..+)?$/.test(dataType)) {
      return parameterValueInvalid(
        `The message attribute '${name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.`,
      );
    }
    if (!value) {
      return parameterValueInvalid(
        `The message attribute '${name}' must contain non-empty message attribute value for message attribute type '${dataType}'.`,
      );
    }
    if (dataType.startsWith("Number") && !Number.isFinite(Number(value))) {
      return parameterValueInvalid(`Could not cast message attribute '${name}' value to number.`);
    }
    const rule = SMS_ATTRIBUTES[name];
    if (rule && (rule.dataType !== dataType.split(".")[0] || !rule.valid(value))) {
      return invalidParameter(
        `MessageAttributes Reason: '${value}' (${dataType}) is not a valid value for ${name}`,
      );
    }
  }
  return null;
}

/** Publish's parameters, checked; returns an error answer or null. */
function checkPublish(form) {
  for (const key of form.keys()) {
    // Stricter than SNS, which may ignore unknown parameters: here a misspelt one fails loudly.
    const known =
      ["Action", "Version", "PhoneNumber", "Message"].includes(key) ||
      ATTRIBUTE_KEY.test(key) ||
      OTHER_PUBLISH_PARAMETERS.has(key);
    if (!known) return invalidParameter(`${key} Reason: not a Publish parameter`);
  }
  const phoneNumber = form.get("PhoneNumber");
  if (!phoneNumber || form.has("TopicArn") || form.has("TargetArn")) {
    return invalidParameter(
      "PhoneNumber Reason: exactly one of TopicArn, TargetArn or PhoneNumber is required (this fake serves phone numbers only)",
    );
  }
  if (!E164.test(phoneNumber)) {
    return invalidParameter(`PhoneNumber Reason: ${phoneNumber} is not valid to publish to`);
  }
  const message = form.get("Message");
  if (!message) return invalidParameter("Empty message");
  if (Buffer.byteLength(message, "utf8") > MAX_SMS_BYTES) {
    return invalidParameter("Message too long");
  }
  return attributeError(form);
}

/** The magic destinations, each in SNS's shape. */
function answerFor(phoneNumber) {
  const behaviour = behaviourFor(phoneNumber);
  switch (behaviour) {
    case "invalid_number":
      return invalidParameter(`PhoneNumber Reason: ${phoneNumber} is not valid to publish to`);
    // Publish does not refuse opted-out numbers (§3.4): it takes the message and the delivery
    // log later says "Phone number is opted out".
    case "opted_out":
      return published();
    case "config_error":
      return snsError(
        403,
        "AuthorizationError",
        "User: arn:aws:iam::123456789012:user/sms-gateway is not authorized to perform: SNS:Publish on resource: " +
          phoneNumber +
          " because no identity-based policy allows the SNS:Publish action",
      );
    case "throttled":
      return snsError(400, "Throttling", "Rate exceeded");
    case "outage":
      return snsError(500, "InternalError", "Internal Error");
    default:
      return transportFailure(behaviour, published) ?? published();
  }
}

/** A request that passed the signature check: the Query protocol, then Publish. */
function publish(request) {
  if (request.method !== "POST" || request.url.pathname !== "/") {
    return snsError(400, "InvalidAction", "This fake serves POST / only");
  }
  // Parameters come form-encoded; any other body carries none, Action included.
  const isForm = (request.headers["content-type"] ?? "").startsWith(
    "application/x-www-form-urlencoded",
  );
  const form = new URLSearchParams(isForm ? request.body : "");
  const action = form.get("Action");
  if (!action) return snsError(400, "MissingAction", "Missing Action");
  if (action !== "Publish") {
    return snsError(
      400,
      "InvalidAction",
      `Could not find operation ${action} for version ${VERSION}`,
    );
  }
  if (form.get("Version") !== VERSION) {
    return snsError(
      400,
      "NoSuchVersion",
      `The requested version (${form.get("Version")}) of service AmazonSNS does not exist`,
    );
  }
  return checkPublish(form) ?? answerFor(form.get("PhoneNumber"));
}

/**
 * Starts a fake SNS for one IAM identity in one region. `sessionToken`, when given, must come
 * with every request (temporary credentials).
 */
export async function startFakeSns({ port = 0, ...identity }) {
  const handle = requireSigV4({
    expected: { ...identity, service: "sns" },
    errors: SIGNATURE_ERRORS,
    refuse: snsError,
    handle: publish,
  });
  return startFakeServer({ name: "aws-sns", handle, port });
}
