import { randomUUID } from "node:crypto";

/*
 * The delivery callbacks the fake providers produce after taking a message: an outbox per fake
 * (readable at `GET /__fake/callbacks`, see common.mjs), optionally delivered by the fake itself,
 * and the two wire shapes they use: a form POST (Twilio, Africa's Talking) and an SNS HTTP/S
 * Notification (End User Messaging events through an SNS topic, providers.md §5.1).
 */

/** A form-encoded POST to `url`; `fields` in the order given (the provider's own order). */
export function formCallback(url, fields, headers = {}) {
  const body = new URLSearchParams();
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined && value !== null) body.append(key, String(value));
  }
  return {
    url,
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: body.toString(),
  };
}

/**
 * An SNS Notification (§5.1) carrying `message` (a string: SNS delivers the published message
 * as is) from `topicArn` to the HTTP/S subscription at `endpoint`, signed by `signer` (see
 * sns-signer.mjs: it adds Signature, SigningCertURL and SignatureVersion).
 */
export async function snsNotificationCallback({ endpoint, topicArn, message, signer }) {
  const region = topicArn.split(":")[3] || "us-east-1";
  const messageId = randomUUID();
  const subscriptionArn = `${topicArn}:${randomUUID()}`;
  const unsigned = {
    Type: "Notification",
    MessageId: messageId,
    TopicArn: topicArn,
    Message: message,
    Timestamp: new Date().toISOString(),
    UnsubscribeURL: `https://sns.${region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${encodeURIComponent(subscriptionArn)}`,
  };
  const signed = await signer.sign(unsigned);
  // SNS's own key order.
  const envelope = {
    Type: signed.Type,
    MessageId: signed.MessageId,
    TopicArn: signed.TopicArn,
    Message: signed.Message,
    Timestamp: signed.Timestamp,
    SignatureVersion: signed.SignatureVersion,
    Signature: signed.Signature,
    SigningCertURL: signed.SigningCertURL,
    UnsubscribeURL: signed.UnsubscribeURL,
  };
  return {
    url: endpoint,
    method: "POST",
    headers: {
      // JSON despite the content type: SNS sends it this way.
      "content-type": "text/plain; charset=UTF-8",
      "user-agent": "Amazon Simple Notification Service Agent",
      "x-amz-sns-message-type": "Notification",
      "x-amz-sns-message-id": messageId,
      "x-amz-sns-topic-arn": topicArn,
      "x-amz-sns-subscription-arn": subscriptionArn,
    },
    body: JSON.stringify(envelope, null, 2),
  };
}

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

/**
 * One fake's callbacks. `add(callbacks)` records one accepted message's callbacks, in order;
 * with `deliver` the outbox also POSTs them to their URLs itself, `delayMs` after the send and
 * each `delayMs` after the previous one answered, and records the answer's `status` (or the
 * network `error`) in the entry.
 */
export function createOutbox({ deliver = false, delayMs = 200 } = {}) {
  const entries = [];
  const pending = new Set();
  const stopping = new AbortController();

  async function post(entry) {
    try {
      const response = await fetch(entry.url, {
        method: entry.method,
        headers: entry.headers,
        body: entry.body,
        signal: AbortSignal.any([stopping.signal, AbortSignal.timeout(15_000)]),
      });
      await response.arrayBuffer();
      entry.status = response.status;
    } catch (error) {
      entry.error = String(error);
    }
  }

  async function deliverInOrder(batch) {
    for (const entry of batch) {
      await sleep(delayMs, stopping.signal);
      if (stopping.signal.aborted) return;
      await post(entry);
    }
  }

  return {
    add(callbacks) {
      if (callbacks.length === 0) return;
      const batch = callbacks.map((callback) => ({
        ...callback,
        createdAt: new Date().toISOString(),
      }));
      entries.push(...batch);
      if (!deliver) return;
      const done = deliverInOrder(batch).finally(() => pending.delete(done));
      pending.add(done);
    },
    list: () => entries.map((entry) => ({ ...entry, headers: { ...entry.headers } })),
    clear: () => {
      entries.length = 0;
    },
    /** Resolves once every delivery scheduled so far has been attempted. */
    settled: async () => {
      while (pending.size > 0) await Promise.all([...pending]);
    },
    stop: async () => {
      stopping.abort();
      await Promise.all([...pending]);
    },
  };
}
