import { describe, expect, it } from "vitest";
import {
  ADMIN,
  api,
  expectProblem,
  getMessage,
  newTenant,
  postJson,
  runCron,
  sandboxAccepted,
  type TestTenant,
  waitForStatus,
} from "./support";

const ZONE = "America/New_York";

/** Local wall time of an instant in a zone, "YYYY-MM-DD HH:mm". */
function localTime(instant: string, zone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", {
      timeZone: zone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    })
      .formatToParts(new Date(instant))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

/** Tomorrow at 07:00 UTC: 02:00 or 03:00 in New York, night whatever the season. */
function tomorrowNightInNewYork(): Date {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() + 1);
  d.setUTCHours(7, 0, 0, 0);
  return d;
}

interface Accepted {
  id: string;
  status: string;
  scheduled_for: string | null;
}

async function sendPromo(tenant: TestTenant, extra: Record<string, unknown> = {}) {
  // Promotional messages need marketing consent on record (compliance.test.ts).
  const consent = { purpose: "marketing", method: "web", evidence: "test signup form" };
  await postJson("/v1/consents", { phone: extra.to ?? "+14155550100", ...consent }, tenant.auth);
  const response = await postJson(
    "/v1/messages",
    {
      to: "+14155550100",
      body: "Weekend sale",
      type: "promotional",
      recipient_timezone: ZONE,
      send_at: tomorrowNightInNewYork().toISOString(),
      ...extra,
    },
    tenant.auth,
  );
  expect(response.status).toBe(202);
  return (await response.json()) as Accepted;
}

describe("quiet hours and scheduling", () => {
  it("defers a promotional message due at night to 08:00 in the recipient's zone", async () => {
    const tenant = await newTenant();
    const accepted = await sendPromo(tenant);
    expect(accepted.status).toBe("scheduled");
    const night = tomorrowNightInNewYork().toISOString();
    expect(localTime(accepted.scheduled_for ?? "", ZONE)).toBe(
      `${localTime(night, ZONE).slice(0, 10)} 08:00`,
    );
  });

  it("the scheduled handler sends it once its window opens, and not before", async () => {
    const tenant = await newTenant();
    const accepted = await sendPromo(tenant);
    const opens = Date.parse(accepted.scheduled_for ?? "");
    await runCron(new Date(opens - 60_000));
    expect((await getMessage(tenant, accepted.id)).status).toBe("scheduled");
    expect(await sandboxAccepted(accepted.id)).toBe(0);
    await runCron(new Date(opens + 60_000));
    const delivered = await waitForStatus(tenant, accepted.id, ["delivered"]);
    expect(delivered.attempts).toHaveLength(1);
    expect(await sandboxAccepted(accepted.id)).toBe(1);
  });

  it("does not defer transactional messages or OTPs", async () => {
    const tenant = await newTenant();
    for (const type of ["transactional", "otp"]) {
      const response = await postJson(
        "/v1/messages",
        { to: "+14155550100", body: "now", type, recipient_timezone: "Pacific/Kiritimati" },
        tenant.auth,
      );
      expect(((await response.json()) as Accepted).status).toBe("queued");
    }
  });

  it("a tenant's own quiet hours apply on top of the deployment's, to acceptance and dispatch", async () => {
    const tenant = await newTenant();
    const setQuietHours = (quiet_hours: unknown) =>
      api(`/v1/admin/tenants/${tenant.id}/compliance`, {
        method: "PUT",
        headers: { "content-type": "application/json", ...ADMIN },
        body: JSON.stringify({ quiet_hours }),
      });
    const night = tomorrowNightInNewYork().toISOString();
    const transactional = async () => {
      const response = await postJson(
        "/v1/messages",
        { to: "+14155550100", body: "Your order", recipient_timezone: ZONE, send_at: night },
        tenant.auth,
      );
      return (await response.json()) as Accepted;
    };
    // The deployment's default: transactional messages have no window.
    expect(await transactional()).toMatchObject({ status: "scheduled", scheduled_for: night });

    const window = { transactional: { start: "08:00", end: "21:00" } };
    const set = await setQuietHours(window);
    expect(set.status).toBe(200);
    expect(await set.json()).toMatchObject({ quiet_hours: window });
    const deferred = await transactional();
    expect(localTime(deferred.scheduled_for ?? "", ZONE)).toBe(
      `${localTime(night, ZONE).slice(0, 10)} 08:00`,
    );
    // Promotional messages keep the deployment's window (the override merges, not replaces).
    expect(localTime((await sendPromo(tenant)).scheduled_for ?? "", ZONE)).toMatch(/ 08:00$/);

    await expectProblem(
      await setQuietHours({ transactional: { start: "25:00" } }),
      422,
      "validation_failed",
    );
    expect(await (await setQuietHours(null)).json()).toMatchObject({ quiet_hours: null });
    expect(await transactional()).toMatchObject({ status: "scheduled", scheduled_for: night });
  });

  it("a send_at in the daytime is scheduled for exactly then", async () => {
    const tenant = await newTenant();
    const at = new Date(tomorrowNightInNewYork().getTime() + 10 * 3_600_000); // 12:00 or 13:00 NY
    const accepted = await sendPromo(tenant, { send_at: at.toISOString() });
    expect(accepted).toMatchObject({ status: "scheduled", scheduled_for: at.toISOString() });
  });
});

describe("deadlines", () => {
  it("a message whose window opens after valid_until is expired at once, never sent", async () => {
    const tenant = await newTenant();
    const night = tomorrowNightInNewYork();
    const accepted = await sendPromo(tenant, {
      valid_until: new Date(night.getTime() + 60 * 60_000).toISOString(),
    });
    expect(accepted.status).toBe("expired");
    await runCron(new Date(night.getTime() + 24 * 3_600_000));
    const message = await getMessage(tenant, accepted.id);
    expect(message.status).toBe("expired");
    expect(message.attempts).toHaveLength(0);
    expect(await sandboxAccepted(accepted.id)).toBe(0);
  });

  it("a scheduled message whose deadline passes before dispatch expires instead of going late", async () => {
    const tenant = await newTenant();
    const accepted = await sendPromo(tenant, {
      valid_until: new Date(tomorrowNightInNewYork().getTime() + 8 * 3_600_000).toISOString(),
    });
    expect(accepted.status).toBe("scheduled");
    // The tick that would dispatch it comes a day late (an outage, say).
    await runCron(new Date(tomorrowNightInNewYork().getTime() + 30 * 3_600_000));
    const message = await getMessage(tenant, accepted.id);
    expect(message.status).toBe("expired");
    expect(await sandboxAccepted(accepted.id)).toBe(0);
  });

  it("422 for a send_at more than 35 days ahead", async () => {
    const tenant = await newTenant();
    const response = await postJson(
      "/v1/messages",
      {
        to: "+14155550100",
        body: "later",
        send_at: new Date(Date.now() + 36 * 86_400_000).toISOString(),
      },
      tenant.auth,
    );
    await expectProblem(response, 422, "validation_failed");
  });
});

describe("POST /v1/messages/{id}/cancel", () => {
  it("cancels a scheduled message, once", async () => {
    const tenant = await newTenant();
    const accepted = await sendPromo(tenant);
    const canceled = await api(`/v1/messages/${accepted.id}/cancel`, {
      method: "POST",
      headers: tenant.auth,
    });
    expect(canceled.status).toBe(200);
    expect(((await canceled.json()) as { status: string }).status).toBe("canceled");
    await expectProblem(
      await api(`/v1/messages/${accepted.id}/cancel`, { method: "POST", headers: tenant.auth }),
      409,
      "message_not_cancelable",
    );
    await runCron(new Date(tomorrowNightInNewYork().getTime() + 12 * 3_600_000));
    expect(await sandboxAccepted(accepted.id)).toBe(0);
  });

  it("404 for another tenant's message", async () => {
    const alice = await newTenant();
    const bob = await newTenant();
    const accepted = await sendPromo(alice);
    await expectProblem(
      await api(`/v1/messages/${accepted.id}/cancel`, { method: "POST", headers: bob.auth }),
      404,
      "not_found",
    );
  });
});
