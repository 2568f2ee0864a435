import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { ANDROID_APP_HASH, APP_DOMAIN } from "../domain/otp";
import { requireScope } from "../services/api-keys";
import { dispatchNow } from "../services/dispatch";
import { sendOtp, verifyOtp } from "../services/otp";
import { json, jsonBody, problems } from "./schemas";

const Purpose = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/i, "letters, digits, _ . - (at most 64)")
  .openapi({ example: "login" });

/** Who a code is for: the number and the purpose (login, password_reset…). */
const CodeSubject = z.object({ to: z.string().min(1).max(32), purpose: Purpose });

const sendRoute = createRoute({
  method: "post",
  path: "/v1/otp",
  summary: "Send a one-time code",
  description:
    "Sends a code of `length` digits, valid `ttl_seconds`, for `purpose`. A new request for the " +
    "same number and purpose replaces the previous code (after a 30 s cooldown: 429 " +
    "`otp_cooldown`). Only a keyed hash of the code is kept. `app_domain` adds the WebOTP line " +
    "(`@domain #code`), `android_app_hash` the SMS Retriever hash.",
  security: [{ apiKey: [] }],
  request: {
    body: jsonBody(
      CodeSubject.extend({
        length: z.number().int().min(4).max(10).default(6),
        ttl_seconds: z.number().int().min(60).max(3600).default(600),
        template: z
          .string()
          .min(1)
          .max(300)
          .refine((t) => t.includes("{{code}}"), "must contain {{code}}")
          .optional()
          .openapi({ description: "Your text with {{code}} (and optionally {{minutes}})" }),
        locale: z
          .string()
          .regex(/^[a-z]{2}([-_][A-Za-z]{2})?$/)
          .optional()
          .openapi({ description: "en (default), fr, es, de, pt, sw" }),
        app_domain: z.string().max(253).regex(APP_DOMAIN, "a host name").optional(),
        android_app_hash: z.string().regex(ANDROID_APP_HASH, "11 characters").optional(),
      }).strict(),
    ),
  },
  responses: {
    202: json(
      z.object({ id: z.string(), to: z.string(), expires_at: z.string() }),
      "Sent (the message id); verify before expires_at",
    ),
    ...problems(400, 401, 403, 413, 415, 422, 429, 503),
  },
});

const verifyRoute = createRoute({
  method: "post",
  path: "/v1/otp/verify",
  summary: "Check a one-time code",
  description:
    "`valid: true` once per code. A wrong, expired, used or unknown code all answer " +
    "`valid: false` with `reason: invalid_or_expired`; after 5 wrong attempts the code is dead.",
  security: [{ apiKey: [] }],
  request: {
    body: jsonBody(
      CodeSubject.extend({
        code: z.string().min(1).max(16),
      }).strict(),
    ),
  },
  responses: {
    200: json(
      z.object({ valid: z.boolean(), reason: z.literal("invalid_or_expired").optional() }),
      "The verdict",
    ),
    ...problems(400, 401, 403, 415, 422),
  },
});

export function otpRoutes(app: OpenAPIHono<AppEnv>) {
  app.openapi(sendRoute, async (c) => {
    const s = c.var.services;
    requireScope(c.var.principal, "messages:send");
    const body = c.req.valid("json");
    const { message, expiresAt } = await sendOtp(s, c.var.principal, {
      to: body.to,
      purpose: body.purpose,
      length: body.length,
      ttlSeconds: body.ttl_seconds,
      template: body.template,
      locale: body.locale,
      appDomain: body.app_domain,
      androidAppHash: body.android_app_hash,
    });
    s.background(() => dispatchNow(s, message.id));
    return c.json({ id: message.id, to: message.to, expires_at: expiresAt.toISOString() }, 202);
  });

  app.openapi(verifyRoute, async (c) => {
    requireScope(c.var.principal, "messages:send");
    return c.json(await verifyOtp(c.var.services, c.var.principal, c.req.valid("json")), 200);
  });
}
