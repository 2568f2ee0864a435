#!/usr/bin/env node
// `npm test`: typecheck, lint, then every test project against a fresh local
// stack (embedded Postgres, Redis, and the bridges the production drivers use).
// Nothing here needs a service on 5432 or 6379, or Docker, or a cloud account.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;

function run(command, args, env = process.env) {
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit", env });
  if (result.status !== 0) {
    console.error(`\n✖ ${command} ${args.join(" ")} failed`);
    process.exit(result.status ?? 1);
  }
}

// A fresh clone: install what the lockfile says before anything else.
if (!existsSync(join(root, "node_modules", ".package-lock.json"))) run("npm", ["ci"]);

run("npx", ["tsc", "--noEmit"]);
run("npx", ["biome", "check", "."]);

const { startStack } = await import("./stack/index.mjs");
const { startFakeProviders } = await import("./fakes/index.mjs");
const dataDir = mkdtempSync(join(tmpdir(), "sms-gateway-test-"));
const stack = await startStack({ dataDir, log: (line) => console.log(`[stack] ${line}`) });
// Fake providers (the outside world) for the Worker's live path.
const providers = await startFakeProviders();
// A webhook sink and a DNS-over-HTTPS fake for customer webhooks.
const webhooks = await (await import("./fakes/webhook-sink.mjs")).startWebhookFakes();
let status = 1;
try {
  // Async spawn: the bridges live in this process and must keep serving meanwhile.
  const vitest = spawn("npx", ["vitest", "run", ...process.argv.slice(2)], {
    cwd: root,
    stdio: "inherit",
    env: {
      ...process.env,
      TEST_DATABASE_URL: stack.databaseUrl,
      TEST_NEON_WS_PROXY: stack.neonWsProxy,
      TEST_REDIS_REST_URL: stack.redisRestUrl,
      TEST_REDIS_REST_TOKEN: stack.redisRestToken,
      TEST_PROVIDER_ENV: JSON.stringify(providers.workerEnv),
      TEST_WEBHOOK_ENV: JSON.stringify(webhooks.workerEnv),
    },
  });
  status = await new Promise((resolve) => vitest.on("exit", (code) => resolve(code ?? 1)));
} finally {
  await providers.stop();
  await webhooks.stop();
  await stack.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(status);
