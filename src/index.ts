import { newApp } from "./app";
import { openScope } from "./context";
import { type Env, loadConfig, queuesOf } from "./env";
import { consumeJobs, type DispatchJob, QUEUE_RETRY_DELAY_S } from "./services/dispatch-queue";
import { runSchedulerTick } from "./services/scheduler";

const app = newApp();

export default {
  fetch: app.fetch,

  /** Cron Trigger: the scheduler tick. Its claims are judged at the tick's scheduled time. */
  async scheduled(controller, env, ctx) {
    // The tick's clock: its scheduled time, or the real time once that has passed (a tick is
    // never dispatched early; tests drive it with future times).
    const scope = openScope(
      loadConfig(env),
      { cron: controller.cron },
      () => new Date(Math.max(Date.now(), controller.scheduledTime)),
      queuesOf(env),
    );
    try {
      await runSchedulerTick(scope.services, new Date(controller.scheduledTime));
    } finally {
      ctx.waitUntil(scope.finished());
    }
  },

  /**
   * Queue consumer (both lanes): claims and sends the jobs' messages. A batch that ran is
   * acknowledged: a message not sent in time was given back to Postgres, where the scheduler
   * finds it; redelivering the job would only race with that. A batch that failed (Postgres
   * unreachable for the claim) is retried shortly: otherwise its messages would wait for the
   * scheduler's safety net (QUEUE_SAFETY_NET_MS). A retry never sends twice: the claim skips
   * what is leased, final, or has an attempt open.
   */
  async queue(batch, env, ctx) {
    const scope = openScope(loadConfig(env), { queue: batch.queue }, undefined, queuesOf(env));
    try {
      const sent = await consumeJobs(
        scope.services,
        batch.messages.map((m) => m.body),
      );
      scope.services.log.info("queue batch", {
        jobs: batch.messages.length,
        claimed: sent,
        ...scope.services.io,
      });
      batch.ackAll();
    } catch (error) {
      scope.services.log.error("queue batch failed", { error: String(error) });
      batch.retryAll({ delaySeconds: QUEUE_RETRY_DELAY_S });
    } finally {
      ctx.waitUntil(scope.finished());
    }
  },
} satisfies ExportedHandler<Env, DispatchJob>;
