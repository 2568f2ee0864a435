import { z } from "zod";
import type { MessageType } from "./providers";

/**
 * How fast the gateway may hand messages to a provider, in message parts (segments) per
 * second, as carriers count throughput: per sender (a US long code takes about 1, a short code
 * 100) and per provider account. The dispatch paces every send to both
 * (src/kv/send-pacing.ts).
 */
export interface SendRates {
  /** Any sender without its own rate. */
  perSender: number;
  /** Per provider account; a provider not listed gets `defaultPerProvider`. */
  perProvider: Record<string, number>;
  defaultPerProvider: number;
  /** Per sender value ("+14155550100", "ACME"): its own rate. */
  senders: Record<string, number>;
}

export const DEFAULT_SEND_RATES: SendRates = {
  perSender: 10,
  perProvider: {},
  defaultPerProvider: 100,
  senders: {},
};

const rate = z.number().positive().max(100_000);

export const sendRatesSchema = z.strictObject({
  perSender: rate.optional(),
  perProvider: z.record(z.string(), rate).optional(),
  defaultPerProvider: rate.optional(),
  senders: z.record(z.string(), rate).optional(),
});
export type SendRatesDocument = z.infer<typeof sendRatesSchema>;

export function sendRates(doc: SendRatesDocument | undefined): SendRates {
  return {
    perSender: doc?.perSender ?? DEFAULT_SEND_RATES.perSender,
    perProvider: doc?.perProvider ?? DEFAULT_SEND_RATES.perProvider,
    defaultPerProvider: doc?.defaultPerProvider ?? DEFAULT_SEND_RATES.defaultPerProvider,
    senders: doc?.senders ?? DEFAULT_SEND_RATES.senders,
  };
}

/** Milliseconds a send of `parts` occupies each counter: the sender's, the provider's. */
export function sendIntervals(
  rates: SendRates,
  provider: string,
  sender: string | null,
  parts: number,
): { sender: number; provider: number } {
  const senderRate = (sender === null ? undefined : rates.senders[sender]) ?? rates.perSender;
  const providerRate = rates.perProvider[provider] ?? rates.defaultPerProvider;
  return { sender: (parts * 1000) / senderRate, provider: (parts * 1000) / providerRate };
}

/**
 * Two lanes: a bulk send takes a slot only when it is at most `BULK_HORIZON_MS` away, so
 * the slots booked ahead never hold more than that; an OTP or a single transactional send
 * books the next free slot whatever the wait, so it goes out at most that long after a
 * bulk batch's next messages, never behind the batch.
 */
export const BULK_HORIZON_MS = 1_000;
export const PRIORITY_HORIZON_MS = 60_000;

export type Lane = "priority" | "bulk";

/** OTPs and single transactional messages go first; bulk and promotional messages after. */
export const laneOf = (m: { type: MessageType; batch_id: string | null }): Lane =>
  m.batch_id === null && m.type !== "promotional" ? "priority" : "bulk";
