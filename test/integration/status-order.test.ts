import { describe, expect, it } from "vitest";
import { authenticate } from "../../src/services/api-keys";
import { acceptMessage } from "../../src/services/send";
import { applyStatus } from "../../src/services/status";
import { getMessage, newTenant, type TestTenant, withServices } from "./support";

/** A tiny seeded PRNG (mulberry32), so a failing order can be replayed from its seed. */
function prng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Report = "sent" | "delivered" | "undelivered" | "failed";
const FINAL = new Set<Report>(["delivered", "undelivered", "failed"]);

async function newMessage(tenant: TestTenant): Promise<string> {
  return withServices(async (s) => {
    const principal = await authenticate(s, tenant.key);
    const result = await acceptMessage(
      s,
      principal,
      { to: "+14155550100", body: "order test", type: "transactional" },
      null,
      false,
    );
    if (result.kind !== "accepted") throw new Error("not accepted");
    return result.response.id;
  });
}

describe("receipts in any order, through the real status service", () => {
  it("end in the first final status that arrived; duplicates and late reports change nothing", async () => {
    const tenant = await newTenant();
    for (let seed = 1; seed <= 12; seed++) {
      const random = prng(seed);
      const pool: Report[] = ["sent", "delivered", "undelivered", "failed"];
      const reports = Array.from(
        { length: 2 + Math.floor(random() * 5) },
        () => pool[Math.floor(random() * pool.length)] as Report,
      );
      const id = await newMessage(tenant);
      await withServices(async (s) => {
        for (const [i, status] of reports.entries()) {
          // Every other report is redelivered by the "provider": same event id twice.
          const times = i % 2 === 0 ? 2 : 1;
          for (let n = 0; n < times; n++) {
            await applyStatus(s, {
              messageId: id,
              status,
              source: "provider",
              provider: "twilio",
              providerEventId: `${id}:${i}`,
              occurredAt: new Date(),
            });
          }
        }
      });
      const message = await getMessage(tenant, id);
      const firstFinal = reports.find((r) => FINAL.has(r));
      const expected = firstFinal ?? (reports.includes("sent") ? "sent" : "queued");
      expect({ seed, reports, status: message.status }).toEqual({
        seed,
        reports,
        status: expected,
      });
      // One event per distinct report: redeliveries are recorded once.
      expect(message.events).toHaveLength(reports.length);
    }
  });
});
