import { randomUUID } from "node:crypto";
import { requireSigV4 } from "./aws-sigv4.mjs";
import { snsNotificationCallback } from "./callbacks.mjs";
import { behaviourFor, startFakeServer, transportFailure } from "./common.mjs";
import { startSnsSigner } from "./sns-signer.mjs";

/*
 * A fake AWS End User Messaging SMS (`pinpoint-sms-voice-v2`) endpoint serving SendTextMessage
 * and the opt-out list operations PutOptedOutNumber and DeleteOptedOutNumber (reference:
 * providers.md §4.1–4.4). It checks a request the way the service does: SigV4 first (service
 * `sms-voice`), then the AWS JSON 1.0 protocol (`X-Amz-Target`, content type, a JSON body), then
 * the model's constraints on each member; it answers the operation's output or an AWS JSON error
 * (`__type`, `Message`, the exception's extra members).
 *
 * Opt-out lists live in memory. A number put on any of them is opted out: SendTextMessage to it
 * answers ConflictException DESTINATION_PHONE_NUMBER_OPTED_OUT, as the magic `opted_out` number
 * always does, until it is deleted again.
 *
 * Delivery events (§4.6) go where the request's configuration set sends them: with an SNS event
 * destination configured (`snsEndpoint`, `topicArn`), a message it took under a configuration
 * set gets one event in the outbox, an SNS Notification (§5.1) whose Message is the event JSON
 * (`TEXT_DELIVERED`, or `TEXT_UNREACHABLE` for the `undelivered` magic number), the request's
 * `Context` in it, signed the SNS way (SignatureVersion 2). No configuration set, no events.
 */

const TARGET_PREFIX = "PinpointSMSVoiceV2.";
const CONTENT_TYPE = "application/x-amz-json-1.0";
const MODEL_NAMESPACE = "com.amazonaws.pinpointsmsvoicev2";
const CORAL_NAMESPACE = "com.amazon.coral.service";

const ACCOUNT_ID = "123456789012";

/** SendTextMessage's members and the model's constraints on them (§4.2). */
const text = (min, max, pattern) => ({ kind: "string", min, max, pattern });
const PHONE_NUMBER = text(1, 20, /^\+?[1-9][0-9]{1,18}$/);
const SEND_TEXT_MESSAGE_MEMBERS = {
  DestinationPhoneNumber: { ...PHONE_NUMBER, required: true },
  OriginationIdentity: text(1, 256, /^[A-Za-z0-9_:/+-]+$/),
  // Not whitespace only.
  MessageBody: text(1, 1600, /\S/),
  MessageType: { kind: "enum", values: ["TRANSACTIONAL", "PROMOTIONAL"] },
  Keyword: text(1, 30, /^[ \S]+$/),
  ConfigurationSetName: text(1, 256, /^[A-Za-z0-9_:/-]+$/),
  MaxPrice: text(2, 8, /^[0-9]{0,2}\.[0-9]{1,5}$/),
  TimeToLive: { kind: "integer", min: 5, max: 259_200 },
  Context: { kind: "map", maxEntries: 5, key: text(1, 100, /^\S+$/), value: text(1, 800) },
  DestinationCountryParameters: {
    kind: "map",
    maxEntries: 10,
    key: { kind: "enum", values: ["IN_TEMPLATE_ID", "IN_ENTITY_ID"] },
    value: text(1, 64, /^\S+$/),
  },
  DryRun: { kind: "boolean" },
  ProtectConfigurationId: text(1, 256, /^[A-Za-z0-9_:/-]+$/),
  MessageFeedbackEnabled: { kind: "boolean" },
};

/** PutOptedOutNumber's and DeleteOptedOutNumber's members (§4.4): a list name or ARN, a number. */
const OPTED_OUT_NUMBER_MEMBERS = {
  OptOutListName: { ...text(1, 256, /^[A-Za-z0-9_:/-]+$/), required: true },
  OptedOutNumber: { ...PHONE_NUMBER, required: true },
};

/** The constraint `value` breaks, in the service's words, or null. */
function violation(rule, value) {
  switch (rule.kind) {
    case "string":
      if (typeof value !== "string") return "Member must be a string";
      if (value.length < rule.min || value.length > rule.max) {
        return `Member must have length between ${rule.min} and ${rule.max}`;
      }
      if (rule.pattern && !rule.pattern.test(value)) {
        return `Member must satisfy regular expression pattern: ${rule.pattern.source}`;
      }
      return null;
    case "enum":
      return rule.values.includes(value)
        ? null
        : `Member must satisfy enum value set: [${rule.values.join(", ")}]`;
    case "integer":
      if (!Number.isInteger(value)) return "Member must be an integer";
      return value < rule.min || value > rule.max
        ? `Member must have value between ${rule.min} and ${rule.max}`
        : null;
    case "boolean":
      return typeof value === "boolean" ? null : "Member must be a boolean";
    case "map": {
      if (typeof value !== "object" || value === null || Array.isArray(value))
        return "Member must be a map";
      const entries = Object.entries(value);
      if (entries.length > rule.maxEntries)
        return `Member must have at most ${rule.maxEntries} entries`;
      for (const [key, entryValue] of entries) {
        const problem = violation(rule.key, key) ?? violation(rule.value, entryValue);
        if (problem) return `Map entry '${key}': ${problem}`;
      }
      return null;
    }
  }
}

/**
 * Every broken constraint of an operation's input (`members`, the input shape is `shape`), as
 * `{ Name, Message }` (ValidationException.Fields).
 */
function fieldErrors(input, members, shape) {
  const errors = [];
  for (const [name, rule] of Object.entries(members)) {
    if (input[name] === undefined) {
      if (rule.required) errors.push({ Name: name, Message: "Member must not be null" });
      continue;
    }
    const problem = violation(rule, input[name]);
    if (problem) errors.push({ Name: name, Message: problem });
  }
  // Stricter than the service may be: a misspelt member fails loudly instead of being dropped.
  for (const name of Object.keys(input)) {
    if (!(name in members)) errors.push({ Name: name, Message: `Not a member of ${shape}` });
  }
  return errors;
}

const json = (status, value, headers = {}) => ({
  status,
  headers: { "content-type": CONTENT_TYPE, "x-amzn-requestid": randomUUID(), ...headers },
  body: JSON.stringify(value),
});

/** A modelled exception (§4.3): its `__type` is namespaced, its members PascalCase. */
const modelError = (status, type, members) =>
  json(status, { __type: `${MODEL_NAMESPACE}#${type}`, ...members });

/**
 * The service front end's own errors (authentication, routing, parsing): as AWS JSON services
 * send them, with the `x-amzn-ErrorType` header and a lower-case `message`.
 */
const frontEndError = (status, type, message) =>
  json(
    status,
    { __type: `${CORAL_NAMESPACE}#${type}`, message },
    { "x-amzn-errortype": `${type}:http://internal.amazon.com/coral/${CORAL_NAMESPACE}/` },
  );

const SIGNATURE_ERRORS = {
  missing: [403, "MissingAuthenticationTokenException"],
  incomplete: [400, "IncompleteSignatureException"],
  unknown_key: [403, "UnrecognizedClientException"],
  bad_token: [403, "UnrecognizedClientException"],
  expired: [400, "InvalidSignatureException"],
  wrong_scope: [400, "InvalidSignatureException"],
  mismatch: [400, "InvalidSignatureException"],
};

const validationError = (reason, fields) =>
  modelError(400, "ValidationException", {
    Message: `${fields.length} validation error${fields.length === 1 ? "" : "s"} detected: ${fields.map((f) => `${f.Name}: ${f.Message}`).join("; ")}`,
    Reason: reason,
    Fields: fields,
  });

// A number of the account's pool, when the request named no phone number to send from.
const POOL_NUMBER = "+12065550152";
const E164 = /^\+[1-9]\d{1,14}$/;

/** Parts as a GSM-7/UCS-2 split would count them, approximately (printable ASCII as GSM-7). */
function encodingAndParts(body) {
  const gsm = /^[\x20-\x7E\r\n]*$/.test(body);
  const [single, multi] = gsm ? [160, 153] : [70, 67];
  const length = [...body].length;
  return {
    encoding: gsm ? "GSM" : "UCS2",
    parts: length <= single ? 1 : Math.ceil(length / multi),
  };
}

/** The final delivery event (§4.6) for a message the service took. */
function deliveryEvent(input, messageId, requestedAt, undelivered) {
  const { encoding, parts } = encodingAndParts(input.MessageBody ?? "");
  const origination = input.OriginationIdentity;
  return {
    eventType: undelivered ? "TEXT_UNREACHABLE" : "TEXT_DELIVERED",
    eventVersion: "1.0",
    eventTimestamp: Date.now(),
    isFinal: true,
    originationPhoneNumber: origination && E164.test(origination) ? origination : POOL_NUMBER,
    destinationPhoneNumber: input.DestinationPhoneNumber,
    messageId,
    messageRequestTimestamp: requestedAt,
    messageEncoding: encoding,
    messageType: input.MessageType ?? "TRANSACTIONAL",
    messageStatus: undelivered ? "UNREACHABLE" : "DELIVERED",
    messageStatusDescription: undelivered
      ? "The destination phone is unreachable"
      : "Message has been accepted by phone",
    ...(input.Context ? { context: input.Context } : {}),
    totalMessageParts: parts,
    totalMessagePrice: Number((0.00581 * parts).toFixed(5)),
    totalCarrierFee: 0,
  };
}

/** `{"MessageId"}`, and the delivery event when the request's configuration set has one. */
function sent(input, events, behaviour) {
  const messageId = randomUUID();
  const response = json(200, { MessageId: messageId });
  const configurationSet = input.ConfigurationSetName;
  const routed =
    events &&
    configurationSet !== undefined &&
    (events.configurationSetName === undefined || events.configurationSetName === configurationSet);
  // A dry run sends nothing, so nothing gets delivered.
  if (!routed || input.DryRun === true) return response;
  const event = deliveryEvent(input, messageId, Date.now(), behaviour === "undelivered");
  const notification = snsNotificationCallback({
    endpoint: events.snsEndpoint,
    topicArn: events.topicArn,
    message: JSON.stringify(event),
    signer: events.signer,
  }).then((callback) => ({ ...callback, providerMessageId: messageId }));
  return { ...response, callbacks: [notification] };
}

/** AccessDeniedException, as IAM refuses an operation to our identity. */
const accessDenied = (operation) =>
  modelError(400, "AccessDeniedException", {
    Message: `User: arn:aws:iam::${ACCOUNT_ID}:user/sms-gateway is not authorized to perform: sms-voice:${operation}`,
  });

/**
 * The magic behaviours every operation shares, in the service's shapes (the refusals of the
 * account, the service or the transport, not of the number), or null for the others.
 */
function sharedFailure(behaviour, operation, success) {
  switch (behaviour) {
    case "config_error":
      return accessDenied(operation);
    case "throttled":
      return modelError(400, "ThrottlingException", { Message: "Rate exceeded" });
    case "outage":
      return modelError(500, "InternalServerException", {
        Message: "An internal error occurred.",
        RequestId: randomUUID(),
      });
    default:
      return transportFailure(behaviour, success);
  }
}

const optedOut = (destination) =>
  modelError(400, "ConflictException", {
    Message: "The destination phone number is opted out.",
    Reason: "DESTINATION_PHONE_NUMBER_OPTED_OUT",
    ResourceType: "opted-out-number",
    ResourceId: destination,
  });

/** The magic destinations, each in the service's shape, then the opt-out lists. */
function answerFor(input, events, lists) {
  const destination = input.DestinationPhoneNumber;
  const behaviour = behaviourFor(destination);
  const success = () => sent(input, events, behaviour);
  switch (behaviour) {
    case "invalid_number":
      return validationError("INVALID_PARAMETER", [
        { Name: "DestinationPhoneNumber", Message: `${destination} is not a valid phone number` },
      ]);
    case "opted_out":
      return optedOut(destination);
  }
  return (
    sharedFailure(behaviour, "SendTextMessage", success) ??
    (lists.isOptedOut(destination) ? optedOut(destination) : success())
  );
}

/** The number as the lists keep it: E.164 with its "+", which the model lets callers omit. */
const withPlus = (number) => (number.startsWith("+") ? number : `+${number}`);

/**
 * The account's opt-out lists, in memory. `names`, when given, are the lists that exist; without
 * it any name does (the fake does not model CreateOptOutList). Each list maps a number to when it
 * was put there.
 */
function createOptOutLists(region, names) {
  const lists = new Map((names ?? []).map((name) => [name, new Map()]));
  return {
    /** The list a name or ARN (`arn:aws:sms-voice:…:opt-out-list/<name>`) denotes, or null. */
    find(nameOrArn) {
      const name = /^arn:[^:]+:sms-voice:[^:]*:\d*:opt-out-list\/(.+)$/.exec(nameOrArn)?.[1];
      const key = name ?? nameOrArn;
      if (!lists.has(key) && names === undefined) lists.set(key, new Map());
      const numbers = lists.get(key);
      return numbers
        ? {
            name: key,
            arn: `arn:aws:sms-voice:${region}:${ACCOUNT_ID}:opt-out-list/${key}`,
            numbers,
          }
        : null;
    },
    isOptedOut: (number) => [...lists.values()].some((numbers) => numbers.has(withPlus(number))),
  };
}

/** Put/DeleteOptedOutNumberResult (§4.4): timestamps in epoch seconds, as AWS JSON 1.0 has them. */
const optedOutNumberResult = (list, number, entry) =>
  json(200, {
    OptOutListArn: list.arn,
    OptOutListName: list.name,
    OptedOutNumber: number,
    OptedOutTimestamp: entry.optedOutAt / 1000,
    EndUserOptedOut: entry.endUserOptedOut,
  });

/**
 * PutOptedOutNumber (adds the number, or leaves it as it was) and DeleteOptedOutNumber (removes
 * it; a number not on the list is a ResourceNotFoundException, as is a list that does not
 * exist). The magic numbers' shared behaviours come first, as the service's front end would.
 */
function optedOutNumber(operation, input, lists) {
  const number = withPlus(input.OptedOutNumber);
  const answer = () => {
    const list = lists.find(input.OptOutListName);
    if (!list) {
      return modelError(400, "ResourceNotFoundException", {
        Message: `Opt-out list ${input.OptOutListName} does not exist.`,
        ResourceType: "opt-out-list",
        ResourceId: input.OptOutListName,
      });
    }
    const entry = list.numbers.get(number);
    if (operation === "PutOptedOutNumber") {
      const added = entry ?? { optedOutAt: Date.now(), endUserOptedOut: false };
      list.numbers.set(number, added);
      return optedOutNumberResult(list, number, added);
    }
    if (!entry) {
      return modelError(400, "ResourceNotFoundException", {
        Message: `Opted out number ${number} does not exist in opt-out list ${list.name}.`,
        ResourceType: "opted-out-number",
        ResourceId: number,
      });
    }
    list.numbers.delete(number);
    return optedOutNumberResult(list, number, entry);
  };
  return sharedFailure(behaviourFor(number), operation, answer) ?? answer();
}

/** The operations this fake serves: each checks its input shape, then answers. */
const OPERATIONS = {
  SendTextMessage: (input, { events, lists }) => {
    const errors = fieldErrors(input, SEND_TEXT_MESSAGE_MEMBERS, "SendTextMessageRequest");
    if (errors.length > 0) return validationError("FIELD_VALIDATION_FAILED", errors);
    return answerFor(input, events, lists);
  },
  ...Object.fromEntries(
    ["PutOptedOutNumber", "DeleteOptedOutNumber"].map((operation) => [
      operation,
      (input, { lists }) => {
        const errors = fieldErrors(input, OPTED_OUT_NUMBER_MEMBERS, `${operation}Request`);
        if (errors.length > 0) return validationError("FIELD_VALIDATION_FAILED", errors);
        return optedOutNumber(operation, input, lists);
      },
    ]),
  ),
};

/** A request that passed the signature check: the AWS JSON 1.0 protocol, then the operation. */
function route(request, context) {
  // A request the front end cannot route to an operation of this service.
  const contentType = (request.headers["content-type"] ?? "").split(";")[0].trim();
  const target = request.headers["x-amz-target"] ?? "";
  const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : "";
  if (
    request.method !== "POST" ||
    request.url.pathname !== "/" ||
    contentType !== CONTENT_TYPE ||
    !Object.hasOwn(OPERATIONS, operation)
  ) {
    const served = Object.keys(OPERATIONS).map((name) => TARGET_PREFIX + name);
    return frontEndError(
      400,
      "UnknownOperationException",
      `This fake serves POST / ${served.join(", ")} in ${CONTENT_TYPE} only`,
    );
  }
  let input;
  try {
    input = JSON.parse(request.body);
  } catch {
    return frontEndError(
      400,
      "SerializationException",
      "Start of structure or map found where not expected.",
    );
  }
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return frontEndError(400, "SerializationException", "The request body must be a JSON object.");
  }
  return OPERATIONS[operation](input, context);
}

/**
 * Starts a fake End User Messaging SMS for one IAM identity in one region. `sessionToken`, when
 * given, must come with every request (temporary credentials).
 *
 * Delivery events: `snsEndpoint` (the HTTP/S subscription's URL) and `topicArn` give the
 * configuration sets an SNS event destination; `configurationSetName`, when given, limits it to
 * that configuration set. `snsSigner` (sns-signer.mjs) signs the notifications; without one the
 * fake starts its own and stops it with itself. `deliverCallbacks`: see startFakeServer.
 *
 * Opt-out lists: `optOutListNames`, when given, are the only lists that exist; by default any
 * list name does.
 */
export async function startFakeSmsVoice({
  port = 0,
  snsEndpoint,
  topicArn,
  configurationSetName,
  snsSigner,
  deliverCallbacks,
  callbackDelayMs,
  optOutListNames,
  ...identity
}) {
  let ownSigner;
  let events;
  if (snsEndpoint) {
    if (!topicArn) throw new Error("an SNS event destination needs its topicArn");
    if (!snsSigner) ownSigner = await startSnsSigner({});
    events = { snsEndpoint, topicArn, configurationSetName, signer: snsSigner ?? ownSigner };
  }
  const context = { events, lists: createOptOutLists(identity.region, optOutListNames) };
  const handle = requireSigV4({
    expected: { ...identity, service: "sms-voice" },
    errors: SIGNATURE_ERRORS,
    refuse: frontEndError,
    handle: (request) => route(request, context),
  });
  const server = await startFakeServer({
    name: "aws-sms-voice",
    handle,
    port,
    deliverCallbacks,
    callbackDelayMs,
  });
  return {
    ...server,
    stop: async () => {
      await server.stop();
      await ownSigner?.stop();
    },
  };
}
