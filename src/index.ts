import { newApp } from "./app";
import { openScope } from "./context";
import { type Env, loadConfig } from "./env";
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
    );
    try {
      await runSchedulerTick(scope.services, new Date(controller.scheduledTime));
    } finally {
      ctx.waitUntil(scope.finished());
    }
  },
} satisfies ExportedHandler<Env>;
