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
  scheduled: {
    scheduled: N,
    queued: N,
    sending: Y,
    sent: Y,
    delivered: Y,
    undelivered: Y,
    failed: Y,
    expired: Y,
    canceled: Y,
  },
  queued: {
    scheduled: N,
    queued: N,
    sending: Y,
    sent: Y,
    delivered: Y,
    undelivered: Y,
    failed: Y,
    expired: Y,
    canceled: Y,
  },
  sending: {
    scheduled: N,
    queued: N,
    sending: N,
    sent: Y,
    delivered: Y,
    undelivered: Y,
    failed: Y,
    expired: Y,
    canceled: Y,
  },
  sent: {
    scheduled: N,
    queued: N,
    sending: N,
    sent: N,
    delivered: Y,
    undelivered: Y,
    failed: Y,
    expired: Y,
    canceled: Y,
  },
  delivered: {
    scheduled: N,
    queued: N,
    sending: N,
    sent: N,
    delivered: N,
    undelivered: N,
    failed: N,
    expired: N,
    canceled: N,
  },
  undelivered: {
    scheduled: N,
    queued: N,
    sending: N,
    sent: N,
    delivered: N,
    undelivered: N,
    failed: N,
    expired: N,
    canceled: N,
  },
  failed: {
    scheduled: N,
    queued: N,
    sending: N,
    sent: N,
    delivered: N,
    undelivered: N,
    failed: N,
    expired: N,
    canceled: N,
  },
  expired: {
    scheduled: N,
    queued: N,
    sending: N,
    sent: N,
    delivered: N,
    undelivered: N,
    failed: N,
    expired: N,
    canceled: N,
  },
  canceled: {
    scheduled: N,
    queued: N,
    sending: N,
    sent: N,
    delivered: N,
    undelivered: N,
    failed: N,
    expired: N,
    canceled: N,
  },
};

const pairs = MESSAGE_STATUSES.flatMap((from) =>
  MESSAGE_STATUSES.map((to) => ({ from, to, allowed: TRANSITIONS[from][to] })),
);

describe("canTransition", () => {
  it("covers every ordered pair of statuses", () => {
    expect(pairs).toHaveLength(81);
  });

  it.each(pairs)("$from -> $to: $allowed", ({ from, to, allowed }) => {
    expect(canTransition(from, to)).toBe(allowed);
  });
});

describe("isFinal", () => {
  it.each([
    ["scheduled", false],
    ["queued", false],
    ["sending", false],
    ["sent", false],
    ["delivered", true],
    ["undelivered", true],
    ["failed", true],
    ["expired", true],
    ["canceled", true],
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
    ["scheduled", 0],
    ["queued", 0],
    ["sending", 1],
    ["sent", 2],
    ["delivered", 3],
    ["undelivered", 3],
    ["failed", 3],
    ["expired", 3],
    ["canceled", 3],
  ] as const)("%s has rank %i", (status, rank) => {
    expect(statusRank(status)).toBe(rank);
  });
});
