-- Numbers and bodies are no longer stored in clear (see src/lib/pii.ts): the clear-text
-- columns go. Only pre-release local databases ever held them, and they cannot be sealed
-- here (the keys are Worker secrets), so rather than silently drop anyone's numbers,
-- opt-outs or queued messages, this refuses a database that holds such rows.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM messages) OR EXISTS (SELECT 1 FROM opt_outs)
    OR EXISTS (SELECT 1 FROM consents) OR EXISTS (SELECT 1 FROM inbound_messages)
    OR EXISTS (SELECT 1 FROM webhook_deliveries) OR EXISTS (SELECT 1 FROM unmatched_receipts) THEN
    RAISE EXCEPTION 'this database holds phone numbers in clear from a pre-release build'
      USING HINT = 'start from an empty database (for npm run dev: delete .local/)';
  END IF;
END $$;
--> statement-breakpoint
DROP INDEX "consents_lookup_idx";--> statement-breakpoint
ALTER TABLE "opt_outs" DROP CONSTRAINT "opt_outs_tenant_id_phone_e164_pk";--> statement-breakpoint
ALTER TABLE "consents" DROP COLUMN "phone_e164";--> statement-breakpoint
ALTER TABLE "consents" DROP COLUMN "ip";--> statement-breakpoint
ALTER TABLE "consents" DROP COLUMN "user_agent";--> statement-breakpoint
ALTER TABLE "consents" DROP COLUMN "evidence";--> statement-breakpoint
ALTER TABLE "inbound_messages" DROP COLUMN "from_e164";--> statement-breakpoint
ALTER TABLE "inbound_messages" DROP COLUMN "body";--> statement-breakpoint
ALTER TABLE "messages" DROP COLUMN "to_e164";--> statement-breakpoint
ALTER TABLE "messages" DROP COLUMN "body";--> statement-breakpoint
ALTER TABLE "messages" DROP COLUMN "response_body";--> statement-breakpoint
ALTER TABLE "opt_outs" DROP COLUMN "phone_e164";--> statement-breakpoint
ALTER TABLE "unmatched_receipts" DROP COLUMN "payload";--> statement-breakpoint
ALTER TABLE "webhook_deliveries" DROP COLUMN "payload";