import type { Services } from "../context";
import { createSandboxProvider } from "../providers/sandbox";
import type { Provider } from "../providers/types";
import { receiveReceipt } from "./status";

const LEDGER_TTL_SECONDS = 7 * 24 * 3600;

/** Redis key of the sandbox's count of accepted requests for one message. */
export const sandboxLedgerKey = (messageId: string) => `sandbox:accepted:${messageId}`;

/**
 * The sandbox wired to this invocation: its ledger lives in Redis, and its
 * receipts arrive after a delay through the same receipt service webhooks use.
 */
export function sandboxProvider(s: Services): Provider {
  return createSandboxProvider({
    ledger: {
      async recordAccepted(messageId) {
        const key = sandboxLedgerKey(messageId);
        const [count] = await s.redis.pipeline().incr(key).expire(key, LEDGER_TTL_SECONDS).exec();
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
