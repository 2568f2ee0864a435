import { sql } from "drizzle-orm";
import type { Context, Hono } from "hono";
import type { z } from "zod";
import type { AppEnv } from "../app-env";
import type { Services } from "../context";
import { ApiError } from "../errors";
import { constantTimeEqual } from "../lib/crypto";
import { twilioAuthTokenFor } from "../services/provider-registry";
import {
  africasTalkingDelivery,
  africasTalkingDeliverySchema,
  africasTalkingInbound,
  africasTalkingInboundSchema,
  snsNotification,
  twilioInbound,
  twilioInboundSchema,
  twilioStatus,
  twilioStatusSchema,
} from "../services/provider-webhooks";
import { createSnsVerifier, type SnsMessage, snsMessageSchema } from "../webhooks/sns-verify";
import { verifyTwilioSignature } from "../webhooks/twilio-signature";

/**
 * Provider callbacks. No API key: each is authenticated its provider's way, and
 * a request that fails it is refused with 403 before anything is recorded.
 * Everything else (duplicates, unknown messages) answers 200, so providers stop
 * retrying.
 */

const refuse = (why: string) => new ApiError("webhook_not_authenticated", why);

function parseForm<T extends z.ZodType>(schema: T, body: string): z.infer<T> {
  const parsed = schema.safeParse(Object.fromEntries(new URLSearchParams(body)));
  if (!parsed.success) throw parsed.error;
  return parsed.data;
}

/** The URL Twilio signed: ours as the public sees it (PUBLIC_BASE_URL behind a proxy). */
function publicUrl(c: Context<AppEnv>): string {
  const base = c.var.services.config.PUBLIC_BASE_URL;
  if (!base) return c.req.url;
  const url = new URL(c.req.url);
  return `${base.replace(/\/$/, "")}${url.pathname}${url.search}`;
}

async function tenantOfMessage(s: Services, messageId: string | undefined) {
  if (!messageId) return undefined;
  const result = await s.db.execute<{ tenant_id: string }>(
    sql`select tenant_id from messages where id = ${messageId}`,
  );
  return result.rows[0]?.tenant_id;
}

async function tenantOfSender(s: Services, provider: string, value: string) {
  const result = await s.db.execute<{ tenant_id: string }>(
    sql`select tenant_id from senders where provider = ${provider} and value = ${value} limit 1`,
  );
  return result.rows[0]?.tenant_id;
}

/** Verifies X-Twilio-Signature with the right account's auth token; returns the form body. */
async function verifiedTwilioBody(
  c: Context<AppEnv>,
  tenantId: (p: URLSearchParams) => Promise<string | undefined>,
) {
  const body = await c.req.text();
  const params = new URLSearchParams(body);
  const token = await twilioAuthTokenFor(
    c.var.services,
    params.get("AccountSid") ?? undefined,
    await tenantId(params),
  );
  const valid =
    token !== undefined &&
    (await verifyTwilioSignature({
      authToken: token,
      url: publicUrl(c),
      signature: c.req.header("x-twilio-signature"),
      contentType: c.req.header("content-type"),
      body,
    }));
  if (!valid) throw refuse("X-Twilio-Signature is missing or does not match");
  return body;
}

let snsVerifier: { key: string; verifier: ReturnType<typeof createSnsVerifier> } | undefined;

/** One verifier per isolate, so its certificate cache lives as long as the isolate. */
function verifierFor(s: Services) {
  const { SNS_CERT_HOST_PATTERN: pattern, SNS_ALLOW_HTTP_CERT_URL: allowHttp } = s.config;
  const key = `${pattern}|${allowHttp}`;
  if (snsVerifier?.key !== key) {
    snsVerifier = {
      key,
      verifier: createSnsVerifier({
        ...(pattern ? { allowedCertHost: new RegExp(pattern) } : {}),
        allowHttpCertUrl: allowHttp === "1",
      }),
    };
  }
  return snsVerifier.verifier;
}

async function africasTalkingToken(c: Context<AppEnv>): Promise<void> {
  const expected = c.var.services.config.AFRICASTALKING_WEBHOOK_TOKEN;
  const given = c.req.query("token") ?? "";
  if (!expected || !(await constantTimeEqual(given, expected))) {
    throw refuse("The callback URL's token is missing or wrong");
  }
}

export function providerWebhookRoutes(app: Hono<AppEnv>) {
  app.post("/webhooks/twilio/status", async (c) => {
    const s = c.var.services;
    const messageId = c.req.query("message_id");
    const body = await verifiedTwilioBody(c, () => tenantOfMessage(s, messageId));
    const outcome = await twilioStatus(s, parseForm(twilioStatusSchema, body), messageId);
    return c.json({ outcome });
  });

  app.post("/webhooks/twilio/inbound", async (c) => {
    const s = c.var.services;
    const body = await verifiedTwilioBody(c, (p) => tenantOfSender(s, "twilio", p.get("To") ?? ""));
    await twilioInbound(s, parseForm(twilioInboundSchema, body));
    // Empty TwiML: no automatic reply from Twilio's side.
    return c.body("<Response></Response>", 200, { "content-type": "text/xml" });
  });

  app.post("/webhooks/aws/sns", async (c) => {
    const s = c.var.services;
    let json: unknown;
    try {
      json = JSON.parse(await c.req.text());
    } catch {
      throw new ApiError("malformed_request", "The body is not an SNS message");
    }
    if (typeof json === "object" && json !== null && !("Signature" in json)) {
      throw refuse("Unsigned SNS message: turn raw message delivery off on the subscription");
    }
    const parsed = snsMessageSchema.safeParse(json);
    if (!parsed.success) throw parsed.error;
    const message: SnsMessage = parsed.data;
    const topics = (s.config.AWS_SNS_TOPIC_ARNS ?? "").split(",").map((t) => t.trim());
    if (!topics.includes(message.TopicArn))
      throw refuse(`Topic ${message.TopicArn} is not configured`);
    const verdict = await verifierFor(s).verify(message);
    if (!verdict.ok) throw refuse(`SNS signature: ${verdict.reason}`);
    switch (message.Type) {
      case "SubscriptionConfirmation": {
        // Signed by SNS and from an allowed topic: confirming is what the subscription wants.
        const confirmed = await fetch(message.SubscribeURL ?? "", { method: "GET" });
        s.log.info("SNS subscription confirmation", {
          topic: message.TopicArn,
          status: confirmed.status,
        });
        return c.json({ outcome: confirmed.ok ? "confirmed" : "confirmation_failed" });
      }
      case "Notification":
        return c.json({ outcome: await snsNotification(s, message) });
      default:
        s.log.info("SNS unsubscribe confirmation", { topic: message.TopicArn });
        return c.json({ outcome: "ignored" });
    }
  });

  app.post("/webhooks/africastalking/delivery", async (c) => {
    await africasTalkingToken(c);
    const params = parseForm(africasTalkingDeliverySchema, await c.req.text());
    return c.json({ outcome: await africasTalkingDelivery(c.var.services, params) });
  });

  app.post("/webhooks/africastalking/inbound", async (c) => {
    await africasTalkingToken(c);
    const params = parseForm(africasTalkingInboundSchema, await c.req.text());
    return c.json({ outcome: await africasTalkingInbound(c.var.services, params) });
  });
}
