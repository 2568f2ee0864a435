-- Nothing may be sent to a person who opted out of a tenant's messages: the
-- database itself refuses the message row, whatever code path inserts it. The
-- gateway's one STOP confirmation is the only exemption.
CREATE FUNCTION refuse_opted_out_recipient() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT NEW.opt_out_exempt AND EXISTS (
    SELECT 1 FROM opt_outs WHERE tenant_id = NEW.tenant_id AND phone_e164 = NEW.to_e164
  ) THEN
    RAISE EXCEPTION 'recipient opted out' USING ERRCODE = 'P0001', HINT = 'recipient_opted_out';
  END IF;
  RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER messages_refuse_opted_out BEFORE INSERT ON messages
  FOR EACH ROW EXECUTE FUNCTION refuse_opted_out_recipient();
