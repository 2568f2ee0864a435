/** The Provider port: every SMS provider client implements it. */
import type { FailureOutcome } from "../domain/dispatch-policy";

export interface SendRequest {
  /** Our message id: travels with the send so receipts can find the message. */
  messageId: string;
  to: string;
  from: string | null;
  body: string;
  type: "transactional" | "promotional" | "otp";
  segments: number;
}

/** A send's result is data, never an exception: dispatch must record every outcome. */
export type SendResult =
  | {
      outcome: "accepted";
      providerMessageId: string;
      costMicros?: number;
      currency?: string;
      segments?: number;
    }
  | { outcome: FailureOutcome; errorCode: string; errorMessage: string };

export interface Provider {
  readonly name: string;
  send(request: SendRequest): Promise<SendResult>;
}

/** A delivery receipt, normalized: what a webhook or the sandbox reports. */
export interface Receipt {
  provider: string;
  providerMessageId: string;
  /** Our id, when the provider carries it back (callback URL, Context). */
  messageId?: string;
  status: "sent" | "delivered" | "undelivered" | "failed";
  providerStatus: string;
  errorCode?: string;
  occurredAt: Date;
}
