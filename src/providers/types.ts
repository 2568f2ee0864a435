/** The Provider port: every SMS provider client implements it. */
import type { FailureOutcome } from "../domain/dispatch-policy";
import type { MessageType, SenderKind } from "../domain/providers";

/** Who the message is from, as chosen by routing from the tenant's sender register. */
export interface Sender {
  kind: SenderKind;
  value: string;
}

export interface SendRequest {
  /** Our message id: travels with the send so receipts can find the message. */
  messageId: string;
  /** E.164. */
  to: string;
  /** ISO 3166-1 alpha-2 of the destination. */
  country: string;
  /** Null: the provider's default sender (e.g. a Twilio Messaging Service from config). */
  sender: Sender | null;
  body: string;
  type: MessageType;
  segments: number;
  /** After this instant the message is useless (OTP expiry): providers drop it (validity / TTL). */
  deadline?: Date;
  /** Most we accept to pay for the whole message, in USD micros (SNS MaxPrice, EUM MaxPrice). */
  maxPriceMicros?: number;
  /** India DLT registration, where the destination requires it. */
  dlt?: { entityId: string; templateId: string };
  /** Where the provider should post delivery receipts for this message, our id in it. */
  statusCallbackUrl?: string;
}

/** A send's result is data, never an exception: dispatch must record every outcome. */
export type SendResult =
  | {
      outcome: "accepted";
      providerMessageId: string;
      /** What the provider says it charged, converted to USD micros, when it says so. */
      costMicros?: number;
      currency?: string;
      segments?: number;
    }
  | { outcome: FailureOutcome; errorCode: string; errorMessage: string };

export interface Provider {
  readonly name: string;
  send(request: SendRequest): Promise<SendResult>;
  /**
   * One provider call for many messages with the same body and sender (Africa's Talking's
   * multi-recipient send); results in the order of `requests`. A call without an answer makes
   * every one of them outcome_unknown.
   */
  sendMany?(requests: SendRequest[]): Promise<SendResult[]>;
}

/** A delivery receipt, normalized: what a webhook or the sandbox reports. */
export interface Receipt {
  provider: string;
  providerMessageId: string;
  /** Our id, when the provider carries it back (callback URL, Context). */
  messageId?: string;
  status: "sent" | "delivered" | "undelivered" | "failed";
  providerStatus: string;
  /** The provider's identity of this report (deduplication of redeliveries). */
  providerEventId?: string;
  errorCode?: string;
  occurredAt: Date;
  /** The provider's payload, kept when the receipt matches no message. */
  raw?: Record<string, unknown>;
}
