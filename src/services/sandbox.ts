import type { Services } from "../context";
import { createSandboxProvider } from "../providers/sandbox";
import type { Provider } from "../providers/types";
import { receiveReceipt } from "./status";

const LEDGER_TTL_SECONDS = 7 * 24 * 3600;
/** The sandbox inbox keeps what it "delivered" for an hour at most, 100 messages per number. */
const INBOX_TTL_SECONDS = 3600;
const INBOX_SIZE = 100;

/** Redis key of the sandbox's count of accepted requests for one message. */
export const sandboxLedgerKey = (messageId: string) => `sandbox:accepted:${messageId}`;

const inboxKey = (tenantId: string, digest: string) => `sandbox:inbox:${tenantId}:${digest}`;

interface InboxEntry {
  id: string;
  from: string | null;
  body: string;
  delivered_at: string;
}

/**
 * The sandbox wired to this invocation: its ledger lives in Redis, and its receipts arrive
 * after a delay through the same receipt service webhooks use. What it takes also lands in
 * the tenant's sandbox inbox (sealed), so a test key can read an OTP back.
 */
export function sandboxProvider(s: Services, tenantId?: string): Provider {
  return createSandboxProvider({
    ledger: {
      async recordAccepted(request) {
        const key = sandboxLedgerKey(request.messageId);
        const pipeline = s.redis.pipeline().incr(key).expire(key, LEDGER_TTL_SECONDS);
        if (tenantId) {
          const entry: InboxEntry = {
            id: request.messageId,
            from: request.sender?.value ?? null,
            body: request.body,
            delivered_at: s.now().toISOString(),
          };
          const inbox = inboxKey(tenantId, await s.pii.digest(request.to));
          pipeline
            .lpush(inbox, await s.pii.sealJson(tenantId, entry))
            .ltrim(inbox, 0, INBOX_SIZE - 1)
            .expire(inbox, INBOX_TTL_SECONDS);
        }
        const [count] = await pipeline.exec();
        return Number(count);
      },
    },
    emitReceipt(receipt) {
      s.background(async () => {
        await new Promise((resolve) => setTimeout(resolve, s.config.SANDBOX_RECEIPT_DELAY_MS));
        await receiveReceipt(s, { ...receipt, occurredAt: s.now() });
      });
    },
  });
}

/** GET /v1/sandbox/messages?to=: what the sandbox delivered to a number in the last hour. */
export async function sandboxInbox(s: Services, tenantId: string, e164: string) {
  const sealed = await s.redis.lrange<string>(inboxKey(tenantId, await s.pii.digest(e164)), 0, -1);
  const oldest = s.now().getTime() - INBOX_TTL_SECONDS * 1000;
  const entries = await Promise.all(
    sealed.map((entry) => s.pii.openJson<InboxEntry>(tenantId, String(entry))),
  );
  return entries.filter((e) => Date.parse(e.delivered_at) >= oldest);
}
