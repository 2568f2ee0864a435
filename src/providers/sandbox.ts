import type { Provider, Receipt, SendRequest, SendResult } from "./types";

/**
 * The sandbox provider: no network, but it behaves like a real one. It keeps a
 * ledger of accepted requests (so tests can prove nothing was sent twice), and
 * reports delivery receipts a moment later through the same receipt path real
 * webhooks use.
 *
 * Magic destinations (valid US numbers, so they pass validation):
 */
export const SANDBOX_NUMBERS = {
  /** Refused at send: invalid number (permanent). */
  invalidNumber: "+14155550101",
  /** Accepted, then the carrier reports it undelivered. */
  undelivered: "+14155550102",
  /** Accepted, but the response is lost (timeout): outcome unknown; the receipt still arrives. */
  timeout: "+14155550103",
  /** The provider is down (HTTP 503-like): retried with backoff, then failed. */
  outage: "+14155550104",
} as const;

export interface SandboxLedger {
  /** Records one accepted request (the ledger, the inbox); returns how many the message had. */
  recordAccepted(request: SendRequest): Promise<number>;
}

export interface SandboxOptions {
  ledger: SandboxLedger;
  /** Delivers a receipt later (after the response), as a provider's webhook would. */
  emitReceipt(receipt: Omit<Receipt, "occurredAt">): void;
}

export function createSandboxProvider(options: SandboxOptions): Provider {
  return {
    name: "sandbox",
    async send(request: SendRequest): Promise<SendResult> {
      switch (request.to) {
        case SANDBOX_NUMBERS.invalidNumber:
          return {
            outcome: "rejected_permanent",
            errorCode: "invalid_number",
            errorMessage: "The destination number is not a valid mobile number",
          };
        case SANDBOX_NUMBERS.outage:
          return {
            outcome: "unavailable",
            errorCode: "service_unavailable",
            errorMessage: "Sandbox provider outage (HTTP 503)",
          };
      }
      await options.ledger.recordAccepted(request);
      const providerMessageId = `SBX${crypto.randomUUID().replaceAll("-", "")}`;
      const undelivered = request.to === SANDBOX_NUMBERS.undelivered;
      options.emitReceipt({
        provider: "sandbox",
        providerMessageId,
        messageId: request.messageId,
        status: undelivered ? "undelivered" : "delivered",
        providerStatus: undelivered ? "UNDELIVERED" : "DELIVERED",
        ...(undelivered ? { errorCode: "30003" } : {}),
      });
      if (request.to === SANDBOX_NUMBERS.timeout) {
        return {
          outcome: "outcome_unknown",
          errorCode: "timeout",
          errorMessage: "No response from the sandbox provider before the timeout",
        };
      }
      return { outcome: "accepted", providerMessageId, costMicros: 0, currency: "USD" };
    },
  };
}
