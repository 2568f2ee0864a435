import { defineWorkersProject } from "@cloudflare/vitest-pool-workers/config";
import { defineConfig } from "vitest/config";

/**
 * Four projects: `unit` (pure domain code, Node), `contract` (provider clients
 * against fake provider servers, Node), `stack` (the local stack's bridges, Node) and `integration` (the Worker in workerd against the local
 * stack). `npm test` (scripts/test.mjs) starts the stack and passes its
 * addresses in the environment; the integration project reads them here.
 */
const baseBindings = () => ({
  DATABASE_URL: process.env.TEST_DATABASE_URL ?? "",
  NEON_WS_PROXY: process.env.TEST_NEON_WS_PROXY ?? "",
  UPSTASH_REDIS_REST_URL: process.env.TEST_REDIS_REST_URL ?? "",
  UPSTASH_REDIS_REST_TOKEN: process.env.TEST_REDIS_REST_TOKEN ?? "",
  ADMIN_TOKEN: "test-admin-token-0123456789",
  SANDBOX_RECEIPT_DELAY_MS: "50",
  // Short, so a hanging fake provider does not slow the suite down.
  PROVIDER_TIMEOUT_MS: "1000",
  PUBLIC_BASE_URL: "https://gateway.test",
  ENCRYPTION_KEY: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
  // Two keys each, as during a rotation: the first seals and writes digests, both are read.
  // Limits far above what the suite sends; test/integration/rate-limits.test.ts sets its own per
  // tenant (and checks the shipped defaults).
  RATE_LIMIT_POLICY: JSON.stringify({
    defaultTier: "enterprise",
    tiers: { enterprise: { perMinute: 1_000_000 } },
    perDestination: { perHour: 1_000_000 },
    otpPerDestination: { perHour: 1_000_000 },
    perCountry: { perHour: 1_000_000 },
    perType: { promotional: { perHour: 1_000_000 } },
    perEndUser: { perHour: 1_000_000 },
    pumping: { maxPerBucket: 1_000_000 },
  }),
  // Fast enough not to slow the suite, but one sender at 5 parts/s: the send-rate test
  // (test/integration/bulk.test.ts) counts its calls per second.
  SEND_RATE_POLICY: JSON.stringify({
    perSender: 1000,
    defaultPerProvider: 10_000,
    senders: { "+15005550142": 5 },
  }),
  PII_ENCRYPTION_KEYS:
    "k2:MjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjI=,k1:MTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTE=",
  PII_HMAC_KEYS:
    "h2:aGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGg=,h1:Z2dnZ2dnZ2dnZ2dnZ2dnZ2dnZ2dnZ2dnZ2dnZ2dnZ2c=",
});

/** Plus the credentials and base URLs of the fake providers started by scripts/test.mjs. */
const stackBindings = () => ({
  ...baseBindings(),
  ...JSON.parse(process.env.TEST_PROVIDER_ENV ?? "{}"),
  ...JSON.parse(process.env.TEST_WEBHOOK_ENV ?? "{}"),
});

/** The Worker in workerd, one test file at a time (the tests share one database). */
const workersProject = (name: string, bindings: Record<string, string>) =>
  defineWorkersProject({
    test: {
      name,
      include: [`test/${name}/**/*.test.ts`],
      testTimeout: 30_000,
      poolOptions: {
        workers: {
          main: "./src/index.ts",
          // The scheduler claims globally: files must not run side by side.
          singleWorker: true,
          isolatedStorage: false,
          wrangler: { configPath: "./wrangler.toml" },
          miniflare: { bindings },
        },
      },
    },
  });

export default defineConfig({
  test: {
    projects: [
      {
        test: { name: "unit", environment: "node", include: ["test/unit/**/*.test.ts"] },
      },
      {
        test: {
          name: "contract",
          environment: "node",
          include: ["test/contract/**/*.test.{ts,mjs}"],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "stack",
          environment: "node",
          include: ["test/stack/**/*.test.{ts,mjs}"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      // The same Worker with no provider credentials at all: live keys have nowhere to send.
      workersProject("integration-bare", baseBindings()),
      workersProject("integration", stackBindings()),
    ],
  },
});
