import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { CONSENT_METHODS, CONSENT_PURPOSES, DEFAULT_OPT_OUT_FOOTER } from "../domain/compliance";
import { quietHoursPolicySchema } from "../domain/quiet-hours";
import { requireScope } from "../services/api-keys";
import { listConsents, recordConsent, setTenantCompliance } from "../services/consents";
import type { ConsentEvidence } from "../services/opt-outs";
import { eraseSubject } from "../services/subjects";
import { json, jsonBody, PhoneParam, problems } from "./schemas";

/** Consent evidence as the API takes it (POST /v1/consents, DELETE /v1/opt-outs/{phone}). */
export const ConsentEvidenceBody = z
  .object({
    purpose: z.enum(CONSENT_PURPOSES),
    method: z.enum(CONSENT_METHODS),
    evidence: z
      .string()
      .min(1)
      .max(2000)
      .openapi({ description: "What proves it: form id and wording, recording id, paper ref…" }),
    given_at: z.iso
      .datetime({ offset: true })
      .optional()
      .openapi({ description: "When the person gave it (default: now; not in the future)" }),
    ip: z.union([z.ipv4(), z.ipv6()]).optional(),
    user_agent: z.string().max(512).optional(),
  })
  .strict();

type ConsentEvidenceFields = z.infer<typeof ConsentEvidenceBody>;

export function consentEvidence(body: ConsentEvidenceFields): ConsentEvidence {
  return {
    purpose: body.purpose,
    method: body.method,
    evidence: body.evidence,
    givenAt: body.given_at ? new Date(body.given_at) : undefined,
    ip: body.ip,
    userAgent: body.user_agent,
  };
}

const Consent = z
  .object({
    id: z.string(),
    phone: z.string().nullable().openapi({ description: "null once the person was erased" }),
    purpose: z.enum(CONSENT_PURPOSES),
    method: z.enum(CONSENT_METHODS),
    withdrawn: z.boolean(),
    given_at: z.string(),
    ip: z.string().nullable(),
    user_agent: z.string().nullable(),
    evidence: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi("Consent");

const recordConsentRoute = createRoute({
  method: "post",
  path: "/v1/consents",
  summary: "Record consent evidence (append-only)",
  description:
    "Each call adds a record; nothing is ever changed. `withdrawn: true` records a " +
    "withdrawal. For each purpose the latest record (by `given_at`) holds: promotional " +
    "messages need marketing consent that holds (unless the tenant's setting is off).",
  security: [{ apiKey: [] }],
  request: {
    body: jsonBody(
      ConsentEvidenceBody.extend({
        phone: z.string().min(1).max(32),
        withdrawn: z.boolean().default(false),
      }),
    ),
  },
  responses: { 201: json(Consent, "Recorded"), ...problems(400, 401, 403, 415, 422) },
});

const listConsentsRoute = createRoute({
  method: "get",
  path: "/v1/consents/{phone}",
  summary: "A number's consent evidence, latest first",
  security: [{ apiKey: [] }],
  request: {
    params: PhoneParam,
  },
  responses: {
    200: json(
      z.object({
        phone: z.string(),
        marketing: z.boolean().openapi({ description: "Whether marketing consent holds" }),
        transactional: z.boolean(),
        data: z.array(Consent),
      }),
      "The evidence",
    ),
    ...problems(401, 403, 422),
  },
});

const eraseSubjectRoute = createRoute({
  method: "delete",
  path: "/v1/subjects/{phone}",
  summary: "Erase a person's personal data",
  description:
    "Erases what this tenant holds about the number: message numbers, bodies and metadata " +
    "(a message not yet sent then fails instead of going out), inbound texts, consent " +
    "evidence and webhook events about them. An opt-out stays, reduced to a keyed digest, so " +
    "it is still honoured; the compliance audit keeps digest-only records.",
  security: [{ apiKey: [] }],
  request: {
    params: PhoneParam,
  },
  responses: {
    200: json(
      z.object({
        messages: z.number().int(),
        inbound_messages: z.number().int(),
        consents: z.number().int(),
        webhook_events: z.number().int(),
        opt_out_kept: z.boolean(),
      }),
      "What was erased",
    ),
    ...problems(401, 403, 422),
  },
});

const ComplianceSettings = z
  .object({
    require_marketing_consent: z.boolean(),
    opt_out_footer: z.string(),
    quiet_hours: quietHoursPolicySchema.nullable(),
  })
  .openapi("ComplianceSettings");

const complianceSettingsRoute = createRoute({
  method: "put",
  path: "/v1/admin/tenants/{id}/compliance",
  summary: "A tenant's consent requirement, opt-out footer and quiet hours",
  description:
    `\`require_marketing_consent\` (default true): promotional messages need marketing ` +
    `consent on record. \`opt_out_footer\` (default "${DEFAULT_OPT_OUT_FOOTER}") ends every ` +
    "promotional message; null restores the default. `quiet_hours` is the tenant's own " +
    "quiet-hours document, on top of the deployment's (same shape as QUIET_HOURS_POLICY, " +
    'e.g. `{"transactional": {"start": "08:00", "end": "21:00"}}`); null removes it. ' +
    "Omitted fields stay as they are.",
  security: [{ adminToken: [] }],
  request: {
    params: z.object({ id: z.string().regex(/^ten_[0-9a-z]{26}$/i) }),
    body: jsonBody(
      z
        .object({
          require_marketing_consent: z.boolean().optional(),
          opt_out_footer: z.string().trim().min(1).max(120).nullable().optional(),
          quiet_hours: quietHoursPolicySchema.nullable().optional(),
        })
        .strict(),
    ),
  },
  responses: {
    200: json(ComplianceSettings, "The settings now"),
    ...problems(400, 401, 404, 415, 422),
  },
});

export function complianceRoutes(app: OpenAPIHono<AppEnv>) {
  app.openapi(recordConsentRoute, async (c) => {
    requireScope(c.var.principal, "settings:write");
    const body = c.req.valid("json");
    const { phone, withdrawn, ...evidence } = body;
    const consent = await recordConsent(c.var.services, c.var.principal.tenantId, {
      ...consentEvidence(evidence),
      phone,
      withdrawn,
    });
    return c.json(consent, 201);
  });

  app.openapi(listConsentsRoute, async (c) => {
    requireScope(c.var.principal, "settings:read");
    const consents = await listConsents(
      c.var.services,
      c.var.principal.tenantId,
      c.req.valid("param").phone,
    );
    return c.json(consents, 200);
  });

  app.openapi(eraseSubjectRoute, async (c) => {
    requireScope(c.var.principal, "settings:write");
    const phone = c.req.valid("param").phone;
    return c.json(await eraseSubject(c.var.services, c.var.principal.tenantId, phone), 200);
  });

  // Under /v1/admin/: the admin token is checked by adminRoutes' middleware (registered first).
  app.openapi(complianceSettingsRoute, async (c) => {
    const body = c.req.valid("json");
    const settings = await setTenantCompliance(c.var.services, c.req.valid("param").id, {
      requireMarketingConsent: body.require_marketing_consent,
      optOutFooter: body.opt_out_footer,
      quietHours: body.quiet_hours,
    });
    return c.json(settings, 200);
  });
}
