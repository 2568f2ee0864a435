CREATE TABLE "provider_credentials" (
	"tenant_id" text NOT NULL,
	"provider" text NOT NULL,
	"ciphertext" text NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "provider_credentials_tenant_id_provider_pk" PRIMARY KEY("tenant_id","provider")
);
--> statement-breakpoint
CREATE TABLE "senders" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"provider" text NOT NULL,
	"kind" text NOT NULL,
	"value" text NOT NULL,
	"countries" text[] NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "deadline_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "pinned_provider" text;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "round_started_at" timestamp with time zone;--> statement-breakpoint
-- Hand-edited: existing messages start their round at creation.
UPDATE "messages" SET "round_started_at" = "created_at";--> statement-breakpoint
ALTER TABLE "messages" ALTER COLUMN "round_started_at" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "retry_round" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "outcome_deadline_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "routing_policy" jsonb;--> statement-breakpoint
ALTER TABLE "provider_credentials" ADD CONSTRAINT "provider_credentials_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "senders" ADD CONSTRAINT "senders_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "senders_tenant_value_idx" ON "senders" USING btree ("tenant_id","provider","kind","value");--> statement-breakpoint
CREATE UNIQUE INDEX "senders_number_owner_idx" ON "senders" USING btree ("provider","value") WHERE kind in ('phone', 'short_code');