import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { PROVIDER_NAMES } from "../domain/providers";
import { requireScope } from "../services/api-keys";
import { dispatchNow } from "../services/dispatch";
import { getMessage, listMessages } from "../services/messages";
import { rateLimitHeaders } from "../services/rate-limits";
import { acceptMessage, cancelMessage, storeResponse } from "../services/send";
import { dltFor, renderForSend, segmentLimit } from "../services/templates";
import {
  Dlt,
  IdempotencyKey,
  idempotencyOf,
  json,
  jsonBody,
  MessageStatusSchema,
  MessageTypeSchema,
  Metadata,
  Money,
  problems,
  SenderValue,
  sharedSendFields,
  TemplateLocale,
  TemplateVariables,
} from "./schemas";

/** Whether the runtime knows this IANA time zone. */
function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const SendMessageBody = z
  .object({
    to: z.string().min(1).max(32).openapi({ example: "+14155550100" }),
    body: z.string().min(1).max(10_000).optional().openapi({
      example: "Your order has shipped.",
      description:
        "At most 1,600 characters / 10 segments by default (see Content rules); or `template`",
    }),
    template: z.string().min(1).max(64).optional().openapi({
      description: "A template's id or name (POST /v1/templates), instead of `body`",
    }),
    variables: TemplateVariables.openapi({
      description: "The template's variables: all it uses, nothing else",
    }),
    locale: TemplateLocale.openapi({
      description: "Picks the template's locale variant (pt-BR, then pt, then default)",
    }),
    max_segments: z.number().int().min(1).max(10).optional().openapi({
      description: "A lower segment limit for this message",
    }),
    truncate: z.boolean().default(false).openapi({
      description:
        "Cut an over-long body at a segment boundary (never inside a character) instead of refusing it",
    }),
    smart_encoding: z.boolean().default(false).openapi({
      description: "Replace Unicode look-alikes (curly quotes, dashes…) with GSM-7 characters",
    }),
    type: MessageTypeSchema.optional().openapi({
      description: "transactional (default), promotional or otp; a template's type otherwise",
    }),
    from: SenderValue.openapi({
      description: "One of the tenant's registered senders (POST /v1/senders)",
    }),
    provider: z
      .enum(PROVIDER_NAMES)
      .optional()
      .openapi({ description: "Pin one provider (live keys; test keys always use the sandbox)" }),
    dlt: Dlt.openapi({
      description:
        "India DLT entity (PE) and template ids, sent to the AWS providers; template_id may " +
        "come from the template's dlt_template_id",
    }),
    send_at: z.iso
      .datetime({ offset: true })
      .optional()
      .openapi({ description: "Do not send before this instant (at most 35 days ahead)" }),
    valid_until: z.iso.datetime({ offset: true }).optional().openapi({
      description: "Never send after this: a message that cannot go out before it ends `expired`",
    }),
    end_user_ip: z
      .union([z.ipv4(), z.ipv6()])
      .optional()
      .openapi({
        description:
          "The IP of your end user who triggered this send (not your backend's): limits and " +
          "pumping detection apply per end user",
      }),
    end_user_id: z
      .string()
      .min(1)
      .max(128)
      .optional()
      .openapi({ description: "Your id of that end user (stored only as a keyed digest)" }),
    recipient_timezone: z
      .string()
      .max(64)
      .refine(isTimeZone, "an IANA time zone such as America/New_York")
      .optional()
      .openapi({
        description: "The recipient's time zone for quiet hours, instead of the number's",
      }),
    validity_seconds: z
      .number()
      .int()
      .min(5)
      .max(259_200)
      .optional()
      .openapi({ description: "Providers drop the message after this (Twilio caps at 36,000)" }),
    metadata: Metadata,
  })
  .strict()
  .refine((m) => (m.body === undefined) !== (m.template === undefined), {
    message: "give either body or template",
    path: ["body"],
  })
  .openapi("SendMessage");

const AcceptedMessage = z
  .object({
    id: z.string(),
    status: MessageStatusSchema,
    to: z.string(),
    type: MessageTypeSchema,
    segments: z.number().int(),
    encoding: z.enum(["GSM-7", "UCS-2"]),
    estimated_cost: Money,
    currency: z.string(),
    scheduled_for: z
      .string()
      .nullable()
      .openapi({ description: "When a `scheduled` message may go out (quiet hours, send_at)" }),
    truncated: z.boolean().openapi({ description: "Whether the body was cut (`truncate: true`)" }),
    smart_encoding: z
      .object({
        replacements: z.array(
          z.object({ from: z.string(), to: z.string(), count: z.number().int() }),
        ),
        segments_saved: z.number().int(),
      })
      .nullable()
      .openapi({ description: "What `smart_encoding: true` replaced; null when not asked" }),
    created_at: z.string(),
  })
  .openapi("AcceptedMessage");

const MessageSummary = z
  .object({
    id: z.string(),
    status: MessageStatusSchema,
    status_reason: z.string().nullable(),
    to: z.string().nullable().openapi({ description: "null once the recipient was erased" }),
    from: z.string().nullable(),
    type: MessageTypeSchema,
    body: z.string().nullable().openapi({
      description:
        "null once erased: an OTP's when it is final, others after the retention (BODY_RETENTION_DAYS)",
    }),
    segments: z.number().int(),
    encoding: z.enum(["GSM-7", "UCS-2"]),
    estimated_cost: Money,
    currency: z.string(),
    provider: z.string().nullable(),
    provider_message_id: z.string().nullable(),
    metadata: z.record(z.string(), z.string()),
    batch_id: z
      .string()
      .nullable()
      .openapi({ description: "The bulk send it came from (POST /v1/messages/bulk)" }),
    created_at: z.string(),
    updated_at: z.string(),
    completed_at: z.string().nullable(),
  })
  .openapi("MessageSummary");

const MessageDetail = MessageSummary.extend({
  attempts: z.array(
    z.object({
      id: z.string(),
      provider: z.string(),
      started_at: z.string(),
      ended_at: z.string().nullable(),
      outcome: z.string().nullable(),
      provider_message_id: z.string().nullable(),
      error_code: z.string().nullable(),
      error_message: z.string().nullable(),
      cost: Money.nullable(),
      currency: z.string().nullable(),
      sender: z.string().nullable().openapi({ description: "What this attempt sent from" }),
      resend_of: z
        .string()
        .nullable()
        .openapi({ description: "The attempt whose failed receipt this attempt re-sends" }),
    }),
  ),
  events: z.array(
    z.object({
      id: z.string(),
      status: MessageStatusSchema,
      applied: z.boolean(),
      source: z.string(),
      provider: z.string().nullable(),
      provider_status: z.string().nullable(),
      error_code: z.string().nullable(),
      occurred_at: z.string(),
      received_at: z.string(),
    }),
  ),
}).openapi("Message");

const sendRoute = createRoute({
  method: "post",
  path: "/v1/messages",
  summary: "Send one SMS",
  description:
    "Validates, prices and persists the message, answers 202, then hands it to a provider. " +
    "`Prefer: wait` answers after the provider hand-off instead (201 when a provider accepted it).",
  security: [{ apiKey: [] }],
  request: {
    headers: z.object({
      "idempotency-key": IdempotencyKey,
      prefer: z.string().optional(),
    }),
    body: jsonBody(SendMessageBody),
  },
  responses: {
    201: json(MessageSummary, "Handed to a provider (with `Prefer: wait`)"),
    202: json(AcceptedMessage, "Accepted and persisted; dispatch follows"),
    ...problems(400, 401, 403, 409, 413, 415, 422, 429, 503),
  },
});

const getRoute = createRoute({
  method: "get",
  path: "/v1/messages/{id}",
  summary: "A message with its attempts and status events",
  security: [{ apiKey: [] }],
  request: { params: z.object({ id: z.string().max(64) }) },
  responses: { 200: json(MessageDetail, "The message"), ...problems(401, 403, 404) },
});

const cancelRoute = createRoute({
  method: "post",
  path: "/v1/messages/{id}/cancel",
  summary: "Cancel a queued or scheduled message",
  security: [{ apiKey: [] }],
  request: { params: z.object({ id: z.string().max(64) }) },
  responses: {
    200: json(MessageDetail, "The canceled message"),
    ...problems(401, 403, 404, 409),
  },
});

const listRoute = createRoute({
  method: "get",
  path: "/v1/messages",
  summary: "Messages, newest first, with cursor pagination",
  security: [{ apiKey: [] }],
  request: {
    query: z.object({
      status: MessageStatusSchema.optional(),
      batch_id: z
        .string()
        .regex(/^bat_[0-9a-z]{26}$/i)
        .optional()
        .openapi({ description: "One bulk send's messages (with status=failed: its failures)" }),
      limit: z.coerce.number().int().min(1).max(100).default(20),
      cursor: z
        .string()
        .regex(/^msg_[0-9a-z]{26}$/i)
        .optional(),
    }),
  },
  responses: {
    200: json(
      z.object({ data: z.array(MessageSummary), next_cursor: z.string().nullable() }),
      "A page of messages",
    ),
    ...problems(401, 403, 422),
  },
});

export function messageRoutes(app: OpenAPIHono<AppEnv>) {
  app.openapi(sendRoute, async (c) => {
    const s = c.var.services;
    const principal = c.var.principal;
    requireScope(principal, "messages:send");
    const input = c.req.valid("json");
    const headers = c.req.valid("header");
    const wait = /(^|[\s,;])wait\b/i.test(headers.prefer ?? "");
    const idempotency = await idempotencyOf(c.req, headers["idempotency-key"]);
    const templated = input.template
      ? await renderForSend(s, principal.tenantId, {
          template: input.template,
          variables: input.variables ?? {},
          locale: input.locale,
        })
      : null;
    const shared = sharedSendFields(input);
    const result = await acceptMessage(
      s,
      principal,
      {
        ...input,
        ...shared,
        body: templated?.body ?? input.body ?? "",
        type: input.type ?? templated?.type ?? "transactional",
        recipientTimeZone: input.recipient_timezone,
        maxSegments: segmentLimit(input.max_segments, templated?.maxSegments),
        endUserIp: input.end_user_ip,
        endUserId: input.end_user_id,
        dlt: dltFor(shared.dlt, templated?.dltTemplateId),
      },
      idempotency,
      wait,
    );
    if (result.kind === "replayed") {
      c.header("Idempotent-Replayed", "true");
      return c.json(result.body as never, result.status as 201);
    }
    const id = result.response.id;
    // The tightest rate limit, on successful answers too.
    if (result.rateLimit) {
      for (const [name, value] of Object.entries(
        rateLimitHeaders(result.rateLimit, s.now().getTime()),
      )) {
        c.header(name, value);
      }
    }
    // Scheduled (quiet hours, send_at) or already expired: nothing to hand off now.
    if (result.response.status !== "queued") {
      if (wait && idempotency) {
        await storeResponse(s, principal.tenantId, id, 202, result.response);
      }
      return c.json(result.response, 202);
    }
    if (!wait) {
      s.background(() => dispatchNow(s, id));
      return c.json(result.response, 202);
    }
    await dispatchNow(s, id);
    const message = await getMessage(s, principal.tenantId, id);
    const { attempts: _a, events: _e, ...summary } = message;
    const status = summary.provider_message_id ? 201 : 202;
    if (idempotency) await storeResponse(s, principal.tenantId, id, status, summary);
    c.header("Preference-Applied", "wait");
    return c.json(summary as never, status as 201);
  });

  app.openapi(getRoute, async (c) => {
    requireScope(c.var.principal, "messages:read");
    const message = await getMessage(
      c.var.services,
      c.var.principal.tenantId,
      c.req.valid("param").id,
    );
    return c.json(message, 200);
  });

  app.openapi(cancelRoute, async (c) => {
    requireScope(c.var.principal, "messages:send");
    const { id } = c.req.valid("param");
    await cancelMessage(c.var.services, c.var.principal.tenantId, id);
    return c.json(await getMessage(c.var.services, c.var.principal.tenantId, id), 200);
  });

  app.openapi(listRoute, async (c) => {
    requireScope(c.var.principal, "messages:read");
    const { batch_id: batchId, ...query } = c.req.valid("query");
    const page = await listMessages(c.var.services, c.var.principal.tenantId, {
      ...query,
      batchId,
    });
    return c.json(page, 200);
  });
}
