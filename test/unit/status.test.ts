import { describe, expect, it } from "vitest";
import {
  canTransition,
  FINAL_STATUSES,
  isFinal,
  MESSAGE_STATUSES,
  type MessageStatus,
  statusRank,
} from "../../src/domain/status";

// Written out by hand rather than derived from statusRank, so that a wrong rank is caught.
const Y = true;
const N = false;
// rows: from, columns: to
const TRANSITIONS: Record<MessageStatus, Record<MessageStatus, boolean>> = {
  //         queued sending sent delivered undelivered failed
  queued: { queued: N, sending: Y, sent: Y, delivered: Y, undelivered: Y, failed: Y },
  sending: { queued: N, sending: N, sent: Y, delivered: Y, undelivered: Y, failed: Y },
  sent: { queued: N, sending: N, sent: N, delivered: Y, undelivered: Y, failed: Y },
  delivered: { queued: N, sending: N, sent: N, delivered: N, undelivered: N, failed: N },
  undelivered: { queued: N, sending: N, sent: N, delivered: N, undelivered: N, failed: N },
  failed: { queued: N, sending: N, sent: N, delivered: N, undelivered: N, failed: N },
};

const pairs = MESSAGE_STATUSES.flatMap((from) =>
  MESSAGE_STATUSES.map((to) => ({ from, to, allowed: TRANSITIONS[from][to] })),
);

describe("canTransition", () => {
  it("covers every ordered pair of statuses", () => {
    expect(pairs).toHaveLength(36);
  });

  it.each(pairs)("$from -> $to: $allowed", ({ from, to, allowed }) => {
    expect(canTransition(from, to)).toBe(allowed);
  });
});

describe("isFinal", () => {
  it.each([
    ["queued", false],
    ["sending", false],
    ["sent", false],
    ["delivered", true],
    ["undelivered", true],
    ["failed", true],
  ] as const)("%s -> %s", (status, expected) => {
    expect(isFinal(status)).toBe(expected);
  });

  it("agrees with FINAL_STATUSES", () => {
    expect([...FINAL_STATUSES].sort()).toEqual(MESSAGE_STATUSES.filter(isFinal).sort());
  });
});

describe("statusRank", () => {
  // The SQL mirror depends on these exact numbers.
  it.each([
    ["queued", 0],
    ["sending", 1],
    ["sent", 2],
    ["delivered", 3],
    ["undelivered", 3],
    ["failed", 3],
  ] as const)("%s has rank %i", (status, rank) => {
    expect(statusRank(status)).toBe(rank);
  });
});
