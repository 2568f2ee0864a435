import { relations, sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

export const tenants = pgTable("tenants", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  /** The tenant's own routing policy document; the deployment's applies when null. */
  routingPolicy: jsonb("routing_policy"),
  /** Answer to HELP/INFO; a default applies when null. */
  helpText: text("help_text"),
  /** Confirmation sent after STOP when the provider does not answer keywords itself. */
  stopConfirmationText: text("stop_confirmation_text"),
  // --- compliance: consent and opt-out ---
  /** Promotional messages need marketing consent on record (POST /v1/consents). */
  requireMarketingConsent: boolean("require_marketing_consent").notNull().default(true),
  /** Appended to every promotional message; a default applies when null. */
  optOutFooter: text("opt_out_footer"),
  /** The tenant's quiet-hours policy, instead of the deployment's (QUIET_HOURS_POLICY). */
  quietHoursPolicy: jsonb("quiet_hours_policy"),
  /** The tenant's rate-limit tier and overrides (admin API); the deployment's default when null. */
  rateLimits: jsonb("rate_limits"),
  /** The tenant's content policy (spam patterns, link rules, length) over the deployment's. */
  contentPolicy: jsonb("content_policy"),
  /** The tenant's spend caps (`{"daily": "100.00", "monthly": "2000.00"}`); defaults when null. */
  budget: jsonb("budget"),
  /** Destination countries the tenant may send to; the deployment's list when null. */
  allowedCountries: text("allowed_countries").array(),
  // --- end compliance ---
  createdAt: ts("created_at").notNull(),
});

export const apiKeys = pgTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    /** SHA-256 of the key: keys are high-entropy, so a fast hash is enough. */
    hash: text("hash").notNull(),
    /** First characters of the key, to tell keys apart in listings. */
    prefix: text("prefix").notNull(),
    mode: text("mode", { enum: ["test", "live"] }).notNull(),
    scopes: text("scopes").array().notNull(),
    expiresAt: ts("expires_at"),
    revokedAt: ts("revoked_at"),
    createdAt: ts("created_at").notNull(),
  },
  (t) => [uniqueIndex("api_keys_hash_idx").on(t.hash), index("api_keys_tenant_idx").on(t.tenantId)],
);

export const messages = pgTable(
  "messages",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    /** The key that sent it; null for messages the gateway sends itself (a STOP confirmation). */
    apiKeyId: text("api_key_id"),
    mode: text("mode", { enum: ["test", "live"] }).notNull(),
    /** The recipient's number, sealed (src/lib/pii.ts); null once erased. */
    toSealed: text("to_sealed"),
    /**
     * Digests of the recipient's number under every configured HMAC key: how the opt-out
     * guard and lookups find it without the number in clear.
     */
    recipientDigests: text("recipient_digests").array().notNull(),
    country: text("country").notNull(),
    from: text("from_sender"),
    /** The body, sealed; null once erased (OTP when final, others after the retention). */
    bodySealed: text("body_sealed"),
    type: text("type", { enum: ["transactional", "promotional", "otp"] }).notNull(),
    encoding: text("encoding", { enum: ["GSM-7", "UCS-2"] }).notNull(),
    segments: integer("segments").notNull(),
    estimatedCostMicros: bigint("estimated_cost_micros", { mode: "number" }).notNull(),
    currency: text("currency").notNull(),
    metadata: jsonb("metadata").$type<Record<string, string>>(),
    status: text("status").notNull(),
    statusReason: text("status_reason"),
    provider: text("provider"),
    providerMessageId: text("provider_message_id"),
    /**
     * Where dispatch stands, apart from the public status: `pending` (claimable
     * once next_attempt_at passes), `claimed` (a worker holds the lease),
     * `unknown` (an attempt's outcome is unknown: never re-sent blindly), `done`.
     */
    dispatchState: text("dispatch_state", { enum: ["pending", "claimed", "unknown", "done"] })
      .notNull()
      .default("pending"),
    attemptCount: integer("attempt_count").notNull().default(0),
    nextAttemptAt: ts("next_attempt_at").notNull(),
    leaseUntil: ts("lease_until"),
    /** After this the message is worthless (e.g. an OTP): providers get it as validity / TTL. */
    deadlineAt: ts("deadline_at"),
    /** When a scheduled message (quiet hours, `send_at`) may go out. */
    scheduledFor: ts("scheduled_for"),
    /** The recipient's time zone the request gave, instead of the number's. */
    recipientTimeZone: text("recipient_time_zone"),
    /**
     * Set only by the gateway for the one STOP confirmation: the database refuses every
     * other message to an opted-out number (trigger in drizzle/0005).
     */
    optOutExempt: boolean("opt_out_exempt").notNull().default(false),
    /** India DLT registration for this message (entity and template ids), when required. */
    dlt: jsonb("dlt").$type<{ entityId: string; templateId: string }>(),
    /** A provider the request pinned (routing then uses only it). */
    pinnedProvider: text("pinned_provider"),
    /** Start of the current dispatch round: attempts since then are this round's (no provider twice). */
    roundStartedAt: ts("round_started_at").notNull(),
    /** Completed rounds that ended in a retry: drives the backoff. */
    retryRound: integer("retry_round").notNull().default(0),
    /** Budget: what this message counts against its tenant's caps (the reservation, then the price). */
    spentMicros: bigint("spent_micros", { mode: "number" }),
    /** When the budget was reserved (the period it counts in); null until dispatch. */
    reservedAt: ts("reserved_at"),
    /** Whether a failed receipt already triggered the one re-send through another provider. */
    resent: boolean("resent").notNull().default(false),
    /** An unknown outcome waits for a receipt until then, and then fails. */
    outcomeDeadlineAt: ts("outcome_deadline_at"),
    /** The bulk send it belongs to (POST /v1/messages/bulk), if any. */
    batchId: text("batch_id"),
    idempotencyKey: text("idempotency_key"),
    requestHash: text("request_hash"),
    /** The response first given for an idempotent request; null while it is in flight. */
    responseStatus: integer("response_status"),
    /** The response body, sealed (it carries the number). */
    responseSealed: text("response_sealed"),
    createdAt: ts("created_at").notNull(),
    updatedAt: ts("updated_at").notNull(),
    completedAt: ts("completed_at"),
  },
  (t) => [
    uniqueIndex("messages_idempotency_idx").on(t.tenantId, t.idempotencyKey),
    index("messages_tenant_list_idx").on(t.tenantId, t.id),
    index("messages_due_idx")
      .on(t.nextAttemptAt)
      .where(sql`dispatch_state in ('pending', 'claimed')`),
    index("messages_provider_id_idx").on(t.provider, t.providerMessageId),
    index("messages_recipient_idx").using("gin", t.recipientDigests),
    index("messages_body_retention_idx").on(t.completedAt).where(sql`body_sealed is not null`),
    // The scheduler's budget reconciliation reads this month's reservations every tick.
    index("messages_reserved_idx").on(t.reservedAt).where(sql`reserved_at is not null`),
    // A batch's progress (counts by status) and its cancellation.
    index("messages_batch_idx").on(t.batchId, t.status).where(sql`batch_id is not null`),
  ],
);

/**
 * A bulk send: its recipients' messages carry its id. The response (every recipient,
 * accepted or refused) is kept sealed for idempotent replays: it holds the numbers.
 */
export const batches = pgTable(
  "batches",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    apiKeyId: text("api_key_id").notNull(),
    mode: text("mode", { enum: ["test", "live"] }).notNull(),
    type: text("type", { enum: ["transactional", "promotional", "otp"] }).notNull(),
    /** Recipients in the request, and how many of them were accepted. */
    recipients: integer("recipients").notNull(),
    accepted: integer("accepted").notNull(),
    idempotencyKey: text("idempotency_key"),
    requestHash: text("request_hash"),
    /** Null once past the idempotency window (retention): it holds the numbers. */
    responseSealed: text("response_sealed"),
    canceledAt: ts("canceled_at"),
    createdAt: ts("created_at").notNull(),
  },
  (t) => [uniqueIndex("batches_idempotency_idx").on(t.tenantId, t.idempotencyKey)],
);

/** The tenant's sender register: what it may send from, per provider and country. */
export const senders = pgTable(
  "senders",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    provider: text("provider").notNull(),
    kind: text("kind", {
      enum: ["phone", "short_code", "alphanumeric", "messaging_service"],
    }).notNull(),
    value: text("value").notNull(),
    /** ISO country codes it may send to; empty means any. */
    countries: text("countries").array().notNull(),
    /**
     * Whether the provider itself answers STOP/HELP on this sender (Twilio Advanced
     * Opt-Out, End User Messaging): then the gateway sends no confirmation of its own.
     */
    providerAnswersKeywords: boolean("provider_answers_keywords").notNull().default(true),
    createdAt: ts("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("senders_tenant_value_idx").on(t.tenantId, t.provider, t.kind, t.value),
    // A number or short code belongs to one tenant: inbound messages find their tenant by it.
    uniqueIndex("senders_number_owner_idx")
      .on(t.provider, t.value)
      .where(sql`kind in ('phone', 'short_code')`),
  ],
);

/** A tenant's own provider credentials, AES-GCM encrypted; never returned by the API. */
export const providerCredentials = pgTable(
  "provider_credentials",
  {
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    provider: text("provider").notNull(),
    ciphertext: text("ciphertext").notNull(),
    updatedAt: ts("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.provider] })],
);

export const messageAttempts = pgTable(
  "message_attempts",
  {
    id: text("id").primaryKey(),
    messageId: text("message_id")
      .notNull()
      .references(() => messages.id),
    tenantId: text("tenant_id").notNull(),
    provider: text("provider").notNull(),
    startedAt: ts("started_at").notNull(),
    endedAt: ts("ended_at"),
    /** Null while the provider call is in flight (or its isolate died). */
    outcome: text("outcome"),
    providerMessageId: text("provider_message_id"),
    errorCode: text("error_code"),
    errorMessage: text("error_message"),
    costMicros: bigint("cost_micros", { mode: "number" }),
    currency: text("currency"),
    /** The accepted attempt whose failed receipt this attempt re-sends. */
    resendOf: text("resend_of"),
    /** The sender (number, short code, sender ID) this attempt sent from, when one was chosen. */
    sender: text("sender"),
  },
  (t) => [index("message_attempts_message_idx").on(t.messageId)],
);

export const messageEvents = pgTable(
  "message_events",
  {
    id: text("id").primaryKey(),
    messageId: text("message_id")
      .notNull()
      .references(() => messages.id),
    tenantId: text("tenant_id").notNull(),
    status: text("status").notNull(),
    /** False when the state machine ignored it (late, duplicate, out of order). */
    applied: boolean("applied").notNull(),
    source: text("source").notNull(),
    provider: text("provider"),
    providerStatus: text("provider_status"),
    errorCode: text("error_code"),
    /** The provider's identity of this report, so a redelivered webhook is recorded once. */
    providerEventId: text("provider_event_id"),
    occurredAt: ts("occurred_at").notNull(),
    receivedAt: ts("received_at").notNull(),
  },
  (t) => [
    index("message_events_message_idx").on(t.messageId, t.receivedAt),
    uniqueIndex("message_events_provider_event_idx").on(t.provider, t.providerEventId),
  ],
);

/** A receipt that matched no message: kept (the provider stops retrying) and flagged. */
export const unmatchedReceipts = pgTable(
  "unmatched_receipts",
  {
    id: text("id").primaryKey(),
    provider: text("provider").notNull(),
    providerMessageId: text("provider_message_id"),
    /** The message id the receipt claimed, when it carried one. */
    messageIdHint: text("message_id_hint"),
    providerEventId: text("provider_event_id"),
    status: text("status"),
    providerStatus: text("provider_status"),
    errorCode: text("error_code"),
    /** The provider's report as received, sealed (it carries numbers). */
    payloadSealed: text("payload_sealed").notNull(),
    receivedAt: ts("received_at").notNull(),
  },
  (t) => [
    uniqueIndex("unmatched_receipts_event_idx").on(t.provider, t.providerEventId),
    // Retention (src/services/retention.ts), every scheduler tick.
    index("unmatched_receipts_received_idx").on(t.receivedAt),
  ],
);

/** SMS received on one of a tenant's senders. */
export const inboundMessages = pgTable(
  "inbound_messages",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    provider: text("provider").notNull(),
    providerMessageId: text("provider_message_id").notNull(),
    /** The person who wrote, sealed; null once erased. */
    fromSealed: text("from_sealed"),
    /** The digest of their number (current HMAC key). */
    fromDigest: text("from_digest").notNull(),
    /** The text, sealed; null once erased or past the retention. */
    bodySealed: text("body_sealed"),
    /** The sender (our number, short code…) it was sent to. */
    to: text("to_sender").notNull(),
    /** The keyword it was read as: stop, start, help, or null. */
    keyword: text("keyword"),
    /** The latest outbound message to this person from this sender, when there is one. */
    inReplyTo: text("in_reply_to"),
    receivedAt: ts("received_at").notNull(),
  },
  (t) => [
    uniqueIndex("inbound_provider_id_idx").on(t.provider, t.providerMessageId),
    index("inbound_tenant_idx").on(t.tenantId, t.id),
    index("inbound_body_retention_idx").on(t.receivedAt).where(sql`body_sealed is not null`),
  ],
);

/** People who asked not to be contacted by a tenant (STOP, the API, a provider's opt-out list). */
export const optOuts = pgTable(
  "opt_outs",
  {
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    /**
     * The number's digest. A number opted out under an older HMAC key keeps that digest:
     * lookups match every configured key's digest.
     */
    phoneDigest: text("phone_digest").notNull(),
    /** The number, sealed, to list and export opt-outs; null once the person is erased. */
    phoneSealed: text("phone_sealed"),
    /** Where it came from: sms (a STOP reply), api, provider (an opted-out error), import, … */
    source: text("source").notNull(),
    /**
     * The channels it covers (sms, email, voice, web, other): all unless narrowed. The SMS
     * guard (trigger, drizzle/0008) refuses a message only when `sms` is among them.
     */
    channels: text("channels")
      .array()
      .notNull()
      .default(sql`'{sms,email,voice,web,other}'::text[]`),
    reason: text("reason"),
    createdAt: ts("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.phoneDigest] })],
);

/**
 * Consent evidence, append-only: a withdrawal is a new row with `withdrawn` set, and the
 * latest row (by `given_at`) for a number and purpose is what holds.
 */
export const consents = pgTable(
  "consents",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    phoneDigest: text("phone_digest").notNull(),
    phoneSealed: text("phone_sealed"),
    purpose: text("purpose", { enum: ["marketing", "transactional"] }).notNull(),
    method: text("method", { enum: ["web", "sms", "voice", "paper", "other"] }).notNull(),
    withdrawn: boolean("withdrawn").notNull().default(false),
    givenAt: ts("given_at").notNull(),
    /** `{ ip, user_agent, evidence }`, sealed: evidence is personal data too. */
    evidenceSealed: text("evidence_sealed"),
    createdAt: ts("created_at").notNull(),
  },
  (t) => [index("consents_lookup_idx").on(t.tenantId, t.phoneDigest, t.purpose, t.givenAt)],
);

/** A tenant's endpoints for signed event webhooks. */
export const webhookEndpoints = pgTable(
  "webhook_endpoints",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    url: text("url").notNull(),
    eventTypes: text("event_types").array().notNull(),
    /** The Standard Webhooks signing secret (whsec_…), AES-GCM sealed. */
    secretCiphertext: text("secret_ciphertext").notNull(),
    status: text("status", { enum: ["active", "disabled"] }).notNull(),
    disabledReason: text("disabled_reason"),
    /** Deliveries in a row that ended as dead letters; resets on success. */
    consecutiveFailures: integer("consecutive_failures").notNull().default(0),
    createdAt: ts("created_at").notNull(),
  },
  (t) => [index("webhook_endpoints_tenant_idx").on(t.tenantId)],
);

/** One event for one endpoint: persisted before delivery, retried, then a dead letter. */
export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    /** Also the `webhook-id` header: stable across retries, for the receiver's deduplication. */
    id: text("id").primaryKey(),
    endpointId: text("endpoint_id")
      .notNull()
      .references(() => webhookEndpoints.id),
    tenantId: text("tenant_id").notNull(),
    eventType: text("event_type").notNull(),
    /** The event's own id (`evt_…`), shared by its deliveries to several endpoints. */
    eventId: text("event_id").notNull(),
    /** `{ id, type, created_at, data }`, sealed: events carry numbers and bodies. */
    payloadSealed: text("payload_sealed").notNull(),
    /** The digest of the person the event is about, so erasure finds it. */
    subjectDigest: text("subject_digest"),
    status: text("status", { enum: ["pending", "delivering", "delivered", "dead"] }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: ts("next_attempt_at").notNull(),
    leaseUntil: ts("lease_until"),
    lastError: text("last_error"),
    createdAt: ts("created_at").notNull(),
    deliveredAt: ts("delivered_at"),
  },
  (t) => [
    index("webhook_deliveries_due_idx")
      .on(t.nextAttemptAt)
      .where(sql`status in ('pending', 'delivering')`),
    index("webhook_deliveries_endpoint_idx").on(t.endpointId, t.createdAt),
    index("webhook_deliveries_finished_idx")
      .on(t.createdAt)
      .where(sql`status in ('delivered', 'dead')`),
  ],
);

/** A tenant's message templates: `{{variable}}` bodies with per-locale variants. */
export const templates = pgTable(
  "templates",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    name: text("name").notNull(),
    body: text("body").notNull(),
    localeVariants: jsonb("locale_variants").$type<Record<string, string>>(),
    type: text("type", { enum: ["transactional", "promotional", "otp"] }).notNull(),
    maxSegments: integer("max_segments"),
    /** Declared maximum length of each variable, for the worst-case segment check. */
    variableLengths: jsonb("variable_lengths").$type<Record<string, number>>(),
    dltTemplateId: text("dlt_template_id"),
    createdAt: ts("created_at").notNull(),
    updatedAt: ts("updated_at").notNull(),
  },
  (t) => [uniqueIndex("templates_tenant_name_idx").on(t.tenantId, t.name)],
);

/**
 * Number and prefix blocklists, global (no tenant) or per tenant, kept here and cached in
 * Redis sets (src/services/blocklist.ts). A number is held as its digest (and sealed for
 * listing); a prefix ("+1900") in clear: it names a range, not a person.
 */
export const blocklistEntries = pgTable(
  "blocklist_entries",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id"),
    kind: text("kind", { enum: ["number", "prefix"] }).notNull(),
    value: text("value").notNull(),
    valueSealed: text("value_sealed"),
    reason: text("reason"),
    createdAt: ts("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("blocklist_entries_value_idx").on(
      sql`coalesce(${t.tenantId}, '')`,
      t.kind,
      t.value,
    ),
  ],
);

/**
 * Compliance records (consent, opt-outs and opt-ins, blocked sends, deferrals, erasures),
 * append-only and kept 4 years: written by triggers (drizzle/0011) and by the services,
 * never updated; deleted only past the retention. No personal data: the subject is a digest.
 */
export const complianceAudit = pgTable(
  "compliance_audit",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    tenantId: text("tenant_id").notNull(),
    kind: text("kind").notNull(),
    subjectDigest: text("subject_digest"),
    messageId: text("message_id"),
    detail: jsonb("detail").$type<Record<string, unknown>>(),
    occurredAt: ts("occurred_at").notNull(),
  },
  (t) => [index("compliance_audit_tenant_idx").on(t.tenantId, t.occurredAt)],
);

/**
 * Opt-outs and opt-ins still to be pushed to a provider's own list (End User Messaging, SNS):
 * written with the local record, removed once the provider has it, retried by the scheduler.
 */
export const providerOptOutSync = pgTable(
  "provider_opt_out_sync",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    provider: text("provider").notNull(),
    action: text("action", { enum: ["opt_out", "opt_in"] }).notNull(),
    phoneSealed: text("phone_sealed").notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: ts("next_attempt_at").notNull(),
    lastError: text("last_error"),
    createdAt: ts("created_at").notNull(),
  },
  (t) => [index("provider_opt_out_sync_due_idx").on(t.nextAttemptAt)],
);

export type MessageRow = typeof messages.$inferSelect;
export type AttemptRow = typeof messageAttempts.$inferSelect;
export type EventRow = typeof messageEvents.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type SenderRow = typeof senders.$inferSelect;

export const messagesRelations = relations(messages, ({ many }) => ({
  attempts: many(messageAttempts),
  events: many(messageEvents),
}));

export const messageAttemptsRelations = relations(messageAttempts, ({ one }) => ({
  message: one(messages, { fields: [messageAttempts.messageId], references: [messages.id] }),
}));

export const messageEventsRelations = relations(messageEvents, ({ one }) => ({
  message: one(messages, { fields: [messageEvents.messageId], references: [messages.id] }),
}));
