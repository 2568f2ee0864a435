import { randomUUID } from "node:crypto";
import { requireSigV4 } from "./aws-sigv4.mjs";
import { behaviourFor, startFakeServer, transportFailure } from "./common.mjs";

/*
 * A fake Amazon SNS serving Publish to a phone number and OptInPhoneNumber (reference:
 * providers.md §3). It checks a request the way SNS does: SigV4 first (service `sns`), then the
 * Query protocol (`Action`, `Version`, form encoding), then the action's parameters (Publish's
 * SMS message attributes too); it answers in SNS's XML shapes (§3.3 success, §3.4
 * `ErrorResponse`). OptInPhoneNumber takes a number at most once every 30 days (§3.5): the fake
 * remembers when it last opted each one in.
 */

const XMLNS = "http://sns.amazonaws.com/doc/2010-03-31/";
const VERSION = "2010-03-31";
const E164 = /^\+?[1-9]\d{1,14}$/;
const OPT_IN_INTERVAL_MS = 30 * 86_400_000;
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

/** §3.3: `<{Action}Response><{Action}Result>…</{Action}Result><ResponseMetadata>`. */
const succeeded = (action, result) =>
  xml(
    200,
    (requestId) =>
      `<${action}Response xmlns="${XMLNS}">\n  ${result}\n  <ResponseMetadata>\n    <RequestId>${requestId}</RequestId>\n  </ResponseMetadata>\n</${action}Response>\n`,
  );

const published = () =>
  succeeded(
    "Publish",
    `<PublishResult>\n    <MessageId>${randomUUID()}</MessageId>\n  </PublishResult>`,
  );

/** OptInPhoneNumber's result has no members. */
const optedIn = () => succeeded("OptInPhoneNumber", "<OptInPhoneNumberResult/>");

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

/** AuthorizationError, as IAM refuses an action to our identity (on `resource`, when it has one). */
const notAuthorized = (action, resource) =>
  snsError(
    403,
    "AuthorizationError",
    `User: arn:aws:iam::123456789012:user/sms-gateway is not authorized to perform: SNS:${action}${resource ? ` on resource: ${resource}` : ""} because no identity-based policy allows the SNS:${action} action`,
  );

/**
 * The magic numbers' behaviours in SNS's shapes for one action: `invalidNumber` and `throttled`
 * give the action's own refusals, `resource` what IAM names in its refusal, `success` the
 * action's answer (which the transport failures may cut short).
 */
function magicAnswer(behaviour, { action, resource, invalidNumber, throttled, success }) {
  switch (behaviour) {
    case "invalid_number":
      return invalidNumber();
    case "config_error":
      return notAuthorized(action, resource);
    case "throttled":
      return throttled();
    case "outage":
      return snsError(500, "InternalError", "Internal Error");
    default:
      return transportFailure(behaviour, success) ?? success();
  }
}

/**
 * Publish's magic destinations. Publish does not refuse opted-out numbers (§3.4): it takes the
 * `opted_out` number's message, and the delivery log later says "Phone number is opted out".
 */
const answerFor = (phoneNumber) =>
  magicAnswer(behaviourFor(phoneNumber), {
    action: "Publish",
    resource: phoneNumber,
    invalidNumber: () =>
      invalidParameter(`PhoneNumber Reason: ${phoneNumber} is not valid to publish to`),
    throttled: () => snsError(400, "Throttling", "Rate exceeded"),
    success: published,
  });

/**
 * OptInPhoneNumber (§3.5): its one parameter is a lower-case `phoneNumber`. A number this fake
 * opted in less than 30 days ago is refused (InvalidParameter; the wording is the fake's). The
 * magic numbers answer as for Publish, except that throttling is this action's modelled
 * `Throttled` (429).
 */
function optInPhoneNumber(form, { optedInAt, now }) {
  for (const key of form.keys()) {
    if (!["Action", "Version", "phoneNumber"].includes(key)) {
      return invalidParameter(`${key} Reason: not an OptInPhoneNumber parameter`);
    }
  }
  const phoneNumber = form.get("phoneNumber");
  if (!phoneNumber) return invalidParameter("phoneNumber Reason: must not be empty");
  const invalidNumber = () =>
    invalidParameter(`phoneNumber Reason: ${phoneNumber} is not a valid phone number`);
  if (!E164.test(phoneNumber)) return invalidNumber();
  const number = phoneNumber.startsWith("+") ? phoneNumber : `+${phoneNumber}`;
  const optIn = () => {
    const at = now().getTime();
    const last = optedInAt.get(number);
    if (last !== undefined && at - last < OPT_IN_INTERVAL_MS) {
      return invalidParameter(
        `phoneNumber Reason: ${phoneNumber} was opted in less than 30 days ago; a number can be opted in once every 30 days`,
      );
    }
    optedInAt.set(number, at);
    return optedIn();
  };
  return magicAnswer(behaviourFor(number), {
    action: "OptInPhoneNumber",
    invalidNumber,
    throttled: () => snsError(429, "Throttled", "Rate exceeded"),
    success: optIn,
  });
}

/** The actions this fake serves, by name: each checks its parameters, then answers. */
const ACTIONS = {
  Publish: (form) => checkPublish(form) ?? answerFor(form.get("PhoneNumber")),
  OptInPhoneNumber: optInPhoneNumber,
};

/** A request that passed the signature check: the Query protocol, then the action. */
function route(request, state) {
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
  if (!Object.hasOwn(ACTIONS, action)) {
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
  return ACTIONS[action](form, state);
}

/**
 * Starts a fake SNS for one IAM identity in one region. `sessionToken`, when given, must come
 * with every request (temporary credentials). `now` is the clock of the 30-day opt-in rule (the
 * system clock by default; signatures are always checked against the system clock).
 */
export async function startFakeSns({ port = 0, now = () => new Date(), ...identity }) {
  const state = { optedInAt: new Map(), now };
  const handle = requireSigV4({
    expected: { ...identity, service: "sns" },
    errors: SIGNATURE_ERRORS,
    refuse: snsError,
    handle: (request) => route(request, state),
  });
  return startFakeServer({ name: "aws-sns", handle, port });
}
