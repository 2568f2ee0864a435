CREATE TABLE "consents" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"phone_e164" text NOT NULL,
	"purpose" text NOT NULL,
	"method" text NOT NULL,
	"withdrawn" boolean DEFAULT false NOT NULL,
	"given_at" timestamp with time zone NOT NULL,
	"ip" text,
	"user_agent" text,
	"evidence" text,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "opt_outs" ADD COLUMN "channels" text[] DEFAULT '{sms,email,voice,web,other}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "opt_outs" ADD COLUMN "reason" text;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "require_marketing_consent" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "opt_out_footer" text;--> statement-breakpoint
ALTER TABLE "consents" ADD CONSTRAINT "consents_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "consents_lookup_idx" ON "consents" USING btree ("tenant_id","phone_e164","purpose","given_at");--> statement-breakpoint
-- An opt-out may be narrowed to some channels (e.g. email only): the SMS guard of
-- drizzle/0005 now refuses a message only when the opt-out covers `sms`.
CREATE OR REPLACE FUNCTION refuse_opted_out_recipient() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT NEW.opt_out_exempt AND EXISTS (
    SELECT 1 FROM opt_outs
    WHERE tenant_id = NEW.tenant_id AND phone_e164 = NEW.to_e164 AND 'sms' = ANY (channels)
  ) THEN
    RAISE EXCEPTION 'recipient opted out' USING ERRCODE = 'P0001', HINT = 'recipient_opted_out';
  END IF;
  RETURN NEW;
END;
$$;
