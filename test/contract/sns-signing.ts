/**
 * SNS messages for the verifier tests, signed by the fakes' signer (scripts/fakes/sns-signer.mjs,
 * which builds the string to sign its own way), and the official aws-js-sns-message-validator
 * (`sns-validator`) driven offline as a second opinion on that signer.
 */

import http from "node:http";
import https from "node:https";
import { createRequire } from "node:module";
import { vi } from "vitest";
import type { SnsSigner } from "../../scripts/fakes/sns-signer.mjs";
import { createSnsVerifier, type SnsVerifierOptions } from "../../src/webhooks/sns-verify";

const TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:sms-events";
const TIMESTAMP = "2026-11-22T10:00:00.000Z";

/** A delivery event as End User Messaging publishes it (providers.md §4.6), with a newline. */
const DELIVERY_EVENT = JSON.stringify({
  eventType: "TEXT_DELIVERED",
  eventVersion: "1.0",
  eventTimestamp: 1_795_000_000_000,
  isFinal: true,
  originationPhoneNumber: "+12065550152",
  destinationPhoneNumber: "+14255550156",
  messageId: "862a8790-0000-4000-8000-000000000001",
  messageStatus: "DELIVERED",
  messageStatusDescription: "Delivered\nto the handset ✅ — café",
});

export const notification = (subject?: string) => ({
  Type: "Notification" as const,
  MessageId: "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
  TopicArn: TOPIC_ARN,
  ...(subject === undefined ? {} : { Subject: subject }),
  Message: DELIVERY_EVENT,
  Timestamp: TIMESTAMP,
  UnsubscribeURL: `https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${TOPIC_ARN}:1`,
});

const confirmation = (Type: "SubscriptionConfirmation" | "UnsubscribeConfirmation") => ({
  Type,
  MessageId: "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
  Token:
    "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e2",
  TopicArn: TOPIC_ARN,
  Message: `You have chosen to subscribe to the topic ${TOPIC_ARN}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
  SubscribeURL: `https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC_ARN}&Token=2336412f`,
  Timestamp: TIMESTAMP,
});

export const subscriptionConfirmation = () => confirmation("SubscriptionConfirmation");
export const unsubscribeConfirmation = () => confirmation("UnsubscribeConfirmation");

/** A verifier that accepts the signer's http://127.0.0.1:<port>/… certificate URLs. */
export const localVerifier = (options: SnsVerifierOptions = {}) =>
  createSnsVerifier({ allowedCertHost: /^127\.0\.0\.1:\d+$/, allowHttpCertUrl: true, ...options });

type Validator = new (
  hostPattern?: RegExp,
) => { validate(message: object, done: (error: Error | null) => void): void };

// CommonJS without types: required rather than imported.
const OfficialValidator = createRequire(import.meta.url)("sns-validator") as Validator;

/**
 * Whether sns-validator accepts a signed message. It only fetches https certificates from AWS
 * hosts, so the message names an AWS-like URL (unique per signer: the validator caches by URL)
 * and its `https.get` is pointed at the signer's local server.
 */
export async function officialAccepts(message: object, signer: SnsSigner): Promise<boolean> {
  const port = new URL(signer.certUrl).port;
  const certUrl = `https://sns.us-east-1.amazonaws.com/SimpleNotificationService-${port}.pem`;
  const get = vi
    .spyOn(https, "get")
    .mockImplementation(((_: unknown, callback: (response: http.IncomingMessage) => void) =>
      http.get(signer.certUrl, callback)) as unknown as typeof https.get);
  try {
    return await new Promise((resolve) =>
      new OfficialValidator().validate({ ...message, SigningCertURL: certUrl }, (error) =>
        resolve(error === null),
      ),
    );
  } finally {
    get.mockRestore();
  }
}
