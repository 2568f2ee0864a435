import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { SANDBOX_NUMBERS } from "../../src/providers/sandbox";
import { authenticate } from "../../src/services/api-keys";
import {
  buildSendRequest,
  callProvider,
  claimDueMessages,
  claimMessage,
  startAttempt,
} from "../../src/services/dispatch";
import { sandboxProvider } from "../../src/services/sandbox";
import { acceptMessage } from "../../src/services/send";
import {
  getMessage,
  minutesFromNow,
  newTenant,
  runCron,
  sandboxAccepted,
  type TestTenant,
  waitForStatus,
  withServices,
} from "./support";

/** Accepts a message the way the API does, but "dies" before the dispatch that follows. */
async function acceptOnly(tenant: TestTenant, to = "+14155550100"): Promise<string> {
  return withServices(async (s) => {
    const principal = await authenticate(s, tenant.key);
    const result = await acceptMessage(
      s,
      principal,
      { to, body: "from the scheduler", type: "transactional" },
      null,
      false,
    );
    if (result.kind !== "accepted") throw new Error("not accepted");
    return result.response.id;
  });
}

describe("scheduled handler", () => {
  it("sends a message interrupted before the provider call on the next tick, once", async () => {
    const tenant = await newTenant();
    const id = await acceptOnly(tenant);
    expect((await getMessage(tenant, id)).status).toBe("queued");

    // Within the grace period the tick leaves it to the dispatch after the response.
    await runCron(new Date());
    expect((await getMessage(tenant, id)).attempts).toHaveLength(0);

    await runCron(minutesFromNow(2));
    const delivered = await waitForStatus(tenant, id, ["delivered"]);
    expect(delivered.attempts).toHaveLength(1);
    await runCron(minutesFromNow(3));
    expect(await sandboxAccepted(id)).toBe(1);
    expect((await getMessage(tenant, id)).attempts).toHaveLength(1);
  });

  it("never re-sends a message whose isolate died after the sandbox accepted it", async () => {
    const tenant = await newTenant();
    const id = await acceptOnly(tenant);
    await withServices(async (s) => {
      const claimed = await claimMessage(s, id);
      if (!claimed) throw new Error("not claimed");
      const provider = sandboxProvider(s);
      await startAttempt(s, claimed, provider.name);
      const result = await callProvider(provider, buildSendRequest(s, claimed, provider, null));
      expect(result.outcome).toBe("accepted");
      // ...and the isolate dies here: the outcome is never recorded.
    });
    expect(await sandboxAccepted(id)).toBe(1);

    await runCron(minutesFromNow(5));
    await runCron(minutesFromNow(10));
    const message = await getMessage(tenant, id);
    expect(message.attempts.map((a) => [a.outcome, a.error_code])).toEqual([
      ["outcome_unknown", "no_outcome_recorded"],
    ]);
    expect(await sandboxAccepted(id)).toBe(1);
    // The sandbox's receipt still arrives and settles the message.
    expect(message.status).toBe("delivered");
  });

  it("overlapping ticks never claim the same message twice", async () => {
    const tenant = await newTenant();
    const ids = await Promise.all(Array.from({ length: 6 }, () => acceptOnly(tenant)));
    const later = minutesFromNow(2);
    const claims = await Promise.all(
      Array.from({ length: 4 }, () =>
        withServices((s) => claimDueMessages(s, later, 100).then((rows) => rows.map((r) => r.id))),
      ),
    );
    const mine = claims.flat().filter((id) => ids.includes(id));
    expect(mine.sort()).toEqual([...ids].sort());
  });

  it("retries a provider outage with backoff, then fails it once retries are exhausted", async () => {
    const tenant = await newTenant();
    const id = await acceptOnly(tenant, SANDBOX_NUMBERS.outage);
    // DISPATCH_MAX_ATTEMPTS is 5; backoff doubles from 30 s to at most 15 min.
    for (let minutes = 2; minutes <= 80; minutes += 15) await runCron(minutesFromNow(minutes));
    const message = await getMessage(tenant, id);
    expect(message.status).toBe("failed");
    expect(message.status_reason).toBe("retries_exhausted: service_unavailable");
    expect(message.attempts.map((a) => a.outcome)).toEqual(Array(5).fill("unavailable"));
    expect(await sandboxAccepted(id)).toBe(0);

    const rows = await withServices((s) =>
      s.db.execute<{ dispatch_state: string }>(
        sql`select dispatch_state from messages where id = ${id}`,
      ),
    );
    expect(rows.rows[0]?.dispatch_state).toBe("done");
  });
});
