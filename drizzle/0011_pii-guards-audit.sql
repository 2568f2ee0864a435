-- The opt-out guard of drizzle/0005 and 0008, on digests: a message row carries its
-- recipient's digest under every configured HMAC key, so an opt-out recorded under an
-- older key still refuses it.
CREATE OR REPLACE FUNCTION refuse_opted_out_recipient() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT NEW.opt_out_exempt AND EXISTS (
    SELECT 1 FROM opt_outs
    WHERE tenant_id = NEW.tenant_id AND phone_digest = ANY (NEW.recipient_digests)
      AND 'sms' = ANY (channels)
  ) THEN
    RAISE EXCEPTION 'recipient opted out' USING ERRCODE = 'P0001', HINT = 'recipient_opted_out';
  END IF;
  RETURN NEW;
END;
$$;
--> statement-breakpoint
-- The compliance audit is append-only: no update, no delete before its 4 years are up.
CREATE FUNCTION compliance_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND OLD.occurred_at < now() - interval '4 years' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'compliance_audit is append-only' USING ERRCODE = 'P0001';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER compliance_audit_append_only BEFORE UPDATE OR DELETE ON compliance_audit
  FOR EACH ROW EXECUTE FUNCTION compliance_audit_append_only();
--> statement-breakpoint
CREATE TRIGGER compliance_audit_no_truncate BEFORE TRUNCATE ON compliance_audit
  FOR EACH STATEMENT EXECUTE FUNCTION compliance_audit_append_only();
--> statement-breakpoint
-- Opt-outs, opt-ins and narrowing, whatever the path (STOP, API, import, provider error),
-- are audited in the same transaction as the change itself.
CREATE FUNCTION audit_opt_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO compliance_audit (tenant_id, kind, subject_digest, detail, occurred_at)
    VALUES (OLD.tenant_id, 'opt_out.removed', OLD.phone_digest,
      jsonb_build_object('channels', OLD.channels), now());
    RETURN OLD;
  END IF;
  INSERT INTO compliance_audit (tenant_id, kind, subject_digest, detail, occurred_at)
  VALUES (NEW.tenant_id, CASE TG_OP WHEN 'INSERT' THEN 'opt_out.created' ELSE 'opt_out.updated' END,
    NEW.phone_digest, jsonb_build_object('channels', NEW.channels, 'source', NEW.source), now());
  RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER opt_outs_audit AFTER INSERT OR DELETE OR UPDATE OF channels ON opt_outs
  FOR EACH ROW EXECUTE FUNCTION audit_opt_out();
--> statement-breakpoint
CREATE FUNCTION audit_consent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO compliance_audit (tenant_id, kind, subject_digest, detail, occurred_at)
  VALUES (NEW.tenant_id, 'consent.recorded', NEW.phone_digest,
    jsonb_build_object('purpose', NEW.purpose, 'method', NEW.method,
      'withdrawn', NEW.withdrawn, 'given_at', NEW.given_at), now());
  RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER consents_audit AFTER INSERT ON consents
  FOR EACH ROW EXECUTE FUNCTION audit_consent();
--> statement-breakpoint
-- A message deferred by quiet hours, at acceptance or again at dispatch.
CREATE FUNCTION audit_deferral() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO compliance_audit (tenant_id, kind, subject_digest, message_id, detail, occurred_at)
  VALUES (NEW.tenant_id, 'send.deferred', NEW.recipient_digests[1], NEW.id,
    jsonb_build_object('type', NEW.type, 'scheduled_for', NEW.scheduled_for), now());
  RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER messages_audit_deferral AFTER INSERT OR UPDATE OF scheduled_for ON messages
  FOR EACH ROW WHEN (NEW.status = 'scheduled' AND NEW.status_reason = 'quiet hours')
  EXECUTE FUNCTION audit_deferral();
