import type { Services } from "../context";
import {
  BULK_HORIZON_MS,
  type Lane,
  PRIORITY_HORIZON_MS,
  sendIntervals,
  sendRates,
} from "../domain/send-rates";
import { luaScript } from "./scripts";

/**
 * Paces sends to the configured rates (src/domain/send-rates.ts) across every isolate: a
 * generic cell rate algorithm (GCRA) on two counters, the sender's and the provider's, each
 * holding the instant (ms) its next slot is free. Booking a slot moves both by the send's
 * interval. Hand-written: @upstash/ratelimit refuses or admits, it does not book a slot
 * in the future, which is what spacing sends out needs.
 * KEYS: the counters. ARGV: now (ms), horizon (ms), then each counter's interval (ms).
 * Returns the wait (ms, >= 0) until the booked slot, or minus the wait when the next slot is
 * further than the horizon (nothing booked).
 */
const BOOK_SLOT = luaScript<number>(`
local now = tonumber(ARGV[1])
local start = now
for i = 1, #KEYS do
  local free = tonumber(redis.call("GET", KEYS[i]) or "0")
  if free > start then start = free end
end
local wait = start - now
if wait > tonumber(ARGV[2]) then return -wait end
for i = 1, #KEYS do
  local free = math.ceil(start + tonumber(ARGV[2 + i]))
  redis.call("SET", KEYS[i], free, "PX", free - now + 1000)
end
return wait`);

export interface SendSlot {
  provider: string;
  /** Null: the provider's default sender for the tenant's messages. */
  sender: string | null;
  tenantId: string;
  parts: number;
  /** Bulk sends never book far ahead, so priority sends (OTP, single sends) pass them. */
  lane: Lane;
}

/** The shortest sleep between two booking attempts of one send (see awaitSendSlot). */
export const POLL_MS = BULK_HORIZON_MS / 2;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits for the send's slot. False when it cannot come before `deadline` (the caller gives
 * the message back rather than hold its lease).
 */
export async function awaitSendSlot(
  s: Services,
  slot: SendSlot,
  deadline: number,
): Promise<boolean> {
  const intervals = sendIntervals(
    sendRates(s.config.SEND_RATE_POLICY),
    slot.provider,
    slot.sender,
    slot.parts,
  );
  const keys = [
    `pace:sender:${slot.provider}:${slot.sender ?? `default:${slot.tenantId}`}`,
    `pace:provider:${slot.provider}`,
  ];
  await BOOK_SLOT.ready();
  for (;;) {
    // A slot booked is a slot used: never book one past the deadline.
    const laneHorizon = slot.lane === "bulk" ? BULK_HORIZON_MS : PRIORITY_HORIZON_MS;
    const horizon = Math.min(laneHorizon, deadline - Date.now());
    if (horizon < 0) return false;
    const wait = await BOOK_SLOT.run(s.redis, keys, [
      String(Date.now()),
      String(horizon),
      String(intervals.sender),
      String(intervals.provider),
    ]);
    if (wait >= 0) {
      if (wait > 0) await sleep(wait);
      return true;
    }
    // Not bookable yet: come back when the slot is within the horizon, but not sooner than
    // POLL_MS: other isolates waiting on the same sender book the slots meanwhile, and waking
    // at each of their bookings would cost a request per slot per waiter (a 1-part-a-second
    // long code with many consumers waiting would spend their subrequests polling). The slots
    // booked up to the horizon keep the sender busy while the waiters sleep.
    const retryIn = -wait - horizon;
    if (Date.now() + retryIn + horizon > deadline) return false;
    await sleep(Math.max(retryIn, POLL_MS));
  }
}
