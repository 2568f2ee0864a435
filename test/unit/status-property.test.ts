import { describe, expect, it } from "vitest";
import { mapTwilioStatus, TWILIO_STATUSES } from "../../src/domain/receipts";
import { canTransition, isFinal, type MessageStatus, statusRank } from "../../src/domain/status";

/**
 * Property test of the status fold: whatever receipts arrive, in whatever order, with whatever
 * duplicates, applying `canTransition` from `queued` settles on the first final status that
 * arrived, or else on the most advanced non-final one.
 */

/** mulberry32: a tiny seeded PRNG, so that every failure names a seed that replays it. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Random = () => number;
const int = (random: Random, n: number) => Math.floor(random() * n);
const pick = <T>(random: Random, items: readonly T[]): T => items[int(random, items.length)] as T;

const RECEIPTS = ["sent", "delivered", "undelivered", "failed"] as const;

/**
 * A random arrival sequence: a random subset of the receipts, each possibly repeated, shuffled,
 * with the dispatch step `sending` (queued → sending) dropped in here and there, sometimes late.
 */
function arrivals(random: Random): MessageStatus[] {
  const events: MessageStatus[] = [];
  for (const receipt of RECEIPTS) {
    if (random() < 0.5) continue;
    const copies = 1 + (random() < 0.3 ? int(random, 3) : 0);
    for (let c = 0; c < copies; c++) events.push(receipt);
  }
  const dispatchSteps = int(random, 3);
  for (let d = 0; d < dispatchSteps; d++) events.push("sending");
  // Fisher–Yates.
  for (let i = events.length - 1; i > 0; i--) {
    const j = int(random, i + 1);
    [events[i], events[j]] = [events[j] as MessageStatus, events[i] as MessageStatus];
  }
  return events;
}

/** Every status along the fold, starting with `queued`. */
function trace(events: readonly MessageStatus[]): MessageStatus[] {
  const states: MessageStatus[] = ["queued"];
  let current: MessageStatus = "queued";
  for (const event of events) {
    if (canTransition(current, event)) current = event;
    states.push(current);
  }
  return states;
}

const fold = (events: readonly MessageStatus[]) => trace(events).at(-1) as MessageStatus;

/** The expected outcome, worked out without canTransition. */
function expected(events: readonly MessageStatus[]): MessageStatus {
  const firstFinal = events.find(isFinal);
  if (firstFinal) return firstFinal;
  return events.reduce<MessageStatus>(
    (best, e) => (statusRank(e) > statusRank(best) ? e : best),
    "queued",
  );
}

const RUNS = 2000;
const seeds = Array.from({ length: RUNS }, (_, i) => 0x5eed + i);

/** Runs `check` on one random sequence per seed; a failure reports its seed and sequence. */
function forAll(check: (events: MessageStatus[], random: Random) => void) {
  for (const seed of seeds) {
    const random = prng(seed);
    const events = arrivals(random);
    try {
      check(events, random);
    } catch (error) {
      throw new Error(`seed ${seed}, arrivals [${events.join(", ")}]: ${String(error)}`);
    }
  }
}

describe("status fold over random receipt sequences", () => {
  it("the PRNG is deterministic and covers the interesting cases", () => {
    expect(arrivals(prng(42))).toEqual(arrivals(prng(42)));
    const all = seeds.map((seed) => arrivals(prng(seed)));
    expect(all.some((e) => e.length === 0)).toBe(true);
    expect(all.some((e) => e.filter(isFinal).length >= 2)).toBe(true);
    expect(all.some((e) => new Set(e).size < e.length)).toBe(true);
    expect(all.some((e) => e.length > 0 && !e.some(isFinal))).toBe(true);
    expect(all.some((e) => e.indexOf("sending") > e.findIndex(isFinal) && e.some(isFinal))).toBe(
      true,
    );
  });

  it("ends on the first final status that arrived, else the highest-ranked non-final", () => {
    forAll((events) => {
      expect(fold(events)).toBe(expected(events));
    });
  });

  it("never decreases in rank along the way, and never leaves a final status", () => {
    forAll((events) => {
      const states = trace(events);
      for (let i = 1; i < states.length; i++) {
        const before = states[i - 1] as MessageStatus;
        const after = states[i] as MessageStatus;
        expect(statusRank(after)).toBeGreaterThanOrEqual(statusRank(before));
        if (isFinal(before)) expect(after).toBe(before);
      }
    });
  });

  it("ignores duplicates: a repeat of an earlier receipt, anywhere later, changes nothing", () => {
    forAll((events, random) => {
      if (events.length === 0) return;
      const original = int(random, events.length);
      const at = original + 1 + int(random, events.length - original);
      const withDuplicate = [...events.slice(0, at), events[original] as MessageStatus];
      withDuplicate.push(...events.slice(at));
      expect(fold(withDuplicate)).toBe(fold(events));
      // And the whole sequence gives what its first occurrences alone give.
      expect(fold(events)).toBe(fold([...new Set(events)]));
    });
  });

  it("is the same when every receipt arrives twice in a row (webhook redelivery)", () => {
    forAll((events) => {
      expect(fold(events.flatMap((e) => [e, e]))).toBe(fold(events));
    });
  });

  it("through Twilio's table: reports that map to nothing never change the outcome", () => {
    const twilioStatuses = Object.keys(TWILIO_STATUSES);
    forAll((_events, random) => {
      const reports = Array.from({ length: int(random, 8) }, () => pick(random, twilioStatuses));
      const mapped = reports.map((r) => mapTwilioStatus(r)?.status ?? null);
      const applied = mapped.filter((s): s is NonNullable<typeof s> => s !== null);
      let current: MessageStatus = "queued";
      for (const status of mapped) {
        if (status && canTransition(current, status)) current = status;
      }
      expect(current).toBe(expected(applied));
    });
  });
});
