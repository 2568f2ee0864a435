ALTER TABLE "messages" ADD COLUMN "spent_micros" bigint;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "reserved_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "budget" jsonb;