import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import worker from "../../src/index";
import type { DispatchJob } from "../../src/services/dispatch-queue";

/** Runs the Worker's queue handler on one job, as Cloudflare would, with these bindings. */
async function deliver(bindings: Env) {
  const batch = createMessageBatch<DispatchJob>("sms-dispatch-bulk", [
    // An id no message has: the claim finds nothing to send.
    {
      id: "job-1",
      timestamp: new Date(),
      attempts: 1,
      body: { ids: ["msg_00000000000000000000000000"] },
    },
  ]);
  const ctx = createExecutionContext();
  await worker.queue(batch, bindings, ctx);
  return getQueueResult(batch, ctx);
}

describe("the queue consumer", () => {
  it("acknowledges a batch it ran", async () => {
    const result = await deliver(env as unknown as Env);
    expect(result.ackAll).toBe(true);
    expect(result.retryBatch.retry).toBe(false);
  });

  it("has a batch delivered again shortly when it could not claim (Postgres unreachable)", async () => {
    const unreachable = {
      ...(env as unknown as Env),
      DATABASE_URL: "postgres://gateway:secret@127.0.0.1:9/gateway",
    };
    const result = await deliver(unreachable);
    expect(result.ackAll).toBe(false);
    // (The local runtime reports the retry, not its delay: QUEUE_RETRY_DELAY_S.)
    expect(result.retryBatch.retry).toBe(true);
  });
});
