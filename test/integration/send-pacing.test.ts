import { describe, expect, it } from "vitest";
import { awaitSendSlot, POLL_MS } from "../../src/kv/send-pacing";
import { withServices } from "./support";

/** A sender the test bindings pace at 5 parts a second (vitest.config.ts). */
const SLOW_SENDER = "+15005550142";
const RATE = 5;

describe("send pacing", () => {
  it("many sends waiting on a slow sender each get a slot, polling at most every POLL_MS", async () => {
    // A provider name of its own: the counters are this test's alone.
    const provider = `pace-test-${crypto.randomUUID()}`;
    const waiters = 30;
    const started = Date.now();
    const outcomes = await Promise.all(
      Array.from({ length: waiters }, () =>
        withServices(async (s) => {
          const booked = await awaitSendSlot(
            s,
            { provider, sender: SLOW_SENDER, tenantId: "ten_pacing", parts: 1, lane: "bulk" },
            Date.now() + 60_000,
          );
          return { booked, at: Date.now(), requests: s.io.kvRequests };
        }),
      ),
    );
    expect(outcomes.every((o) => o.booked)).toBe(true);
    // Booked at the rate: the last slot is (n - 1) intervals after the first.
    const span = Math.max(...outcomes.map((o) => o.at)) - started;
    expect(span).toBeGreaterThanOrEqual(((waiters - 1) * 1000) / RATE - 50);
    // Each waiter: a first try, then one try per POLL_MS of its wait at most (and one more for
    // a wake just short of its slot). Waking at every other waiter's booking would be one per
    // interval (200 ms here), well over this.
    for (const { at, requests } of outcomes) {
      expect(requests).toBeLessThanOrEqual(2 + Math.ceil((at - started) / POLL_MS));
    }
  });
});
