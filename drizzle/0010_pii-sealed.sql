CREATE TABLE "compliance_audit" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "compliance_audit_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"tenant_id" text NOT NULL,
	"kind" text NOT NULL,
	"subject_digest" text,
	"message_id" text,
	"detail" jsonb,
	"occurred_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "provider_opt_out_sync" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"provider" text NOT NULL,
	"action" text NOT NULL,
	"phone_sealed" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone NOT NULL,
	"last_error" text,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "consents" ADD COLUMN "phone_digest" text NOT NULL;--> statement-breakpoint
ALTER TABLE "consents" ADD COLUMN "phone_sealed" text;--> statement-breakpoint
ALTER TABLE "consents" ADD COLUMN "evidence_sealed" text;--> statement-breakpoint
ALTER TABLE "inbound_messages" ADD COLUMN "from_sealed" text;--> statement-breakpoint
ALTER TABLE "inbound_messages" ADD COLUMN "from_digest" text NOT NULL;--> statement-breakpoint
ALTER TABLE "inbound_messages" ADD COLUMN "body_sealed" text;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "to_sealed" text;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "recipient_digests" text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "body_sealed" text;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "response_sealed" text;--> statement-breakpoint
ALTER TABLE "opt_outs" ADD COLUMN "phone_digest" text NOT NULL;--> statement-breakpoint
ALTER TABLE "opt_outs" ADD COLUMN "phone_sealed" text;--> statement-breakpoint
ALTER TABLE "opt_outs" ADD CONSTRAINT "opt_outs_tenant_id_phone_digest_pk" PRIMARY KEY("tenant_id","phone_digest");--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "quiet_hours_policy" jsonb;--> statement-breakpoint
ALTER TABLE "unmatched_receipts" ADD COLUMN "payload_sealed" text NOT NULL;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "event_id" text NOT NULL;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "payload_sealed" text NOT NULL;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "subject_digest" text;--> statement-breakpoint
CREATE INDEX "compliance_audit_tenant_idx" ON "compliance_audit" USING btree ("tenant_id","occurred_at");--> statement-breakpoint
CREATE INDEX "provider_opt_out_sync_due_idx" ON "provider_opt_out_sync" USING btree ("next_attempt_at");--> statement-breakpoint
CREATE INDEX "consents_lookup_idx" ON "consents" USING btree ("tenant_id","phone_digest","purpose","given_at");--> statement-breakpoint
CREATE INDEX "messages_recipient_idx" ON "messages" USING gin ("recipient_digests");--> statement-breakpoint
CREATE INDEX "messages_body_retention_idx" ON "messages" USING btree ("completed_at") WHERE body_sealed is not null;