#!/usr/bin/env node
// `npm run dev`: the whole gateway on this machine, no cloud account, no Docker.
// Starts the local stack (Postgres, Redis, the bridges the production drivers
// use), applies migrations, runs `wrangler dev`, fires the Cron handler every
// minute, and prints a ready-to-paste curl. Ctrl-C stops everything it started.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { newPiiKeys, startWranglerDev, waitForOk, writeEnvFile } from "./wrangler-dev.mjs";

const root = new URL("..", import.meta.url).pathname;
const local = join(root, ".local");
mkdirSync(local, { recursive: true });

if (!existsSync(join(root, "node_modules", ".package-lock.json"))) {
  spawnSync("npm", ["ci"], { cwd: root, stdio: "inherit" });
}

/** KEY=VALUE lines, as in .dev.vars; quotes around values are optional. */
function parseVars(text) {
  const vars = {};
  for (const line of text.split(/\r?\n/)) {
    const match = line.match(/^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/);
    if (match) vars[match[1]] = match[2].replace(/^(["'])(.*)\1$/, "$2");
  }
  return vars;
}

// Settings the Worker reads (see README "Configuration"); the environment overrides .dev.vars.
const SETTINGS = [
  "ADMIN_TOKEN",
  "DEFAULT_REGION",
  "SANDBOX_RECEIPT_DELAY_MS",
  "DISPATCH_MAX_ATTEMPTS",
  "SCHEDULER_BATCH_SIZE",
  "PROVIDER_TIMEOUT_MS",
  "OUTCOME_UNKNOWN_DEADLINE_S",
  "PUBLIC_BASE_URL",
  "ENCRYPTION_KEY",
  "PII_ENCRYPTION_KEYS",
  "PII_HMAC_KEYS",
  "BODY_RETENTION_DAYS",
  "QUIET_HOURS_POLICY",
  "ROUTING_POLICY",
  "PROVIDER_PRICES",
  "PROVIDERS_DISABLED",
  "FX_USD_RATES",
];
/** Provider credentials and base URLs: every variable with these prefixes. */
const SETTING_PREFIXES = ["TWILIO_", "AWS_", "AFRICASTALKING_"];
const isSetting = (name) =>
  SETTINGS.includes(name) || SETTING_PREFIXES.some((prefix) => name.startsWith(prefix));
const devVarsFile = join(root, ".dev.vars");
const fileVars = existsSync(devVarsFile) ? parseVars(readFileSync(devVarsFile, "utf8")) : {};
const vars = { ...fileVars };
for (const [name, value] of Object.entries(process.env))
  if (isSetting(name) && value) vars[name] = value;

// A generated admin token is kept in .local so the printed commands stay valid across restarts.
const tokenFile = join(local, "admin-token");
if (!vars.ADMIN_TOKEN) {
  if (!existsSync(tokenFile)) writeFileSync(tokenFile, randomBytes(24).toString("base64url"));
  vars.ADMIN_TOKEN = readFileSync(tokenFile, "utf8").trim();
}
// The keys of personal data at rest, generated once and kept: without them .local's data is lost.
const piiKeysFile = join(local, "pii-keys.json");
if (!vars.PII_ENCRYPTION_KEYS || !vars.PII_HMAC_KEYS) {
  if (!existsSync(piiKeysFile)) writeFileSync(piiKeysFile, JSON.stringify(newPiiKeys()));
  const keys = JSON.parse(readFileSync(piiKeysFile, "utf8"));
  vars.PII_ENCRYPTION_KEYS ||= keys.PII_ENCRYPTION_KEYS;
  vars.PII_HMAC_KEYS ||= keys.PII_HMAC_KEYS;
}
const port = Number(process.env.PORT ?? fileVars.PORT ?? 8787);
const base = `http://127.0.0.1:${port}`;

const { startStack } = await import("./stack/index.mjs");
const stack = await startStack({ dataDir: local, log: (line) => console.log(`[stack] ${line}`) });
Object.assign(vars, {
  DATABASE_URL: stack.databaseUrl,
  NEON_WS_PROXY: stack.neonWsProxy,
  UPSTASH_REDIS_REST_URL: stack.redisRestUrl,
  UPSTASH_REDIS_REST_TOKEN: stack.redisRestToken,
});
// FAKE_PROVIDERS=1: the four providers' fakes (as in the tests), so live keys work offline.
// They post their signed delivery callbacks to this gateway, as the real providers would.
const fakeProviders =
  process.env.FAKE_PROVIDERS === "1"
    ? await (await import("./fakes/index.mjs")).startFakeProviders({
        gatewayUrl: base,
        deliverCallbacks: true,
      })
    : undefined;
if (fakeProviders) Object.assign(vars, { PUBLIC_BASE_URL: base, ...fakeProviders.workerEnv });

// Given to wrangler as its only env file, so these merged values are the ones it uses.
const envFile = join(local, "dev.vars");
writeEnvFile(envFile, vars);
const wrangler = startWranglerDev({
  port,
  inspectorPort: Number(process.env.INSPECTOR_PORT ?? 9229),
  envFile,
  args: ["--test-scheduled", "--persist-to", join(local, "wrangler")],
});

let stopping = false;
async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  clearInterval(ticker);
  await wrangler.stop();
  await fakeProviders?.stop();
  await stack.stop();
  process.exit(code);
}
process.on("SIGINT", () => shutdown(0));
process.on("SIGTERM", () => shutdown(0));
wrangler.child.on("exit", (code) => {
  if (!stopping) {
    console.error(`wrangler dev exited (${code}); stopping the stack`);
    shutdown(code ?? 1);
  }
});

// wrangler dev does not fire Cron Triggers: drive the scheduled handler once a minute.
const ticker = setInterval(() => {
  fetch(`${base}/__scheduled?cron=*+*+*+*+*`).catch((error) =>
    console.error(`[tick] ${error.message}`),
  );
}, 60_000);

/** A dev tenant with a test key, created once and kept in .local (keys are shown only once). */
async function devTestKey() {
  const file = join(local, "dev-tenant.json");
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, "utf8"));
    const probe = await fetch(`${base}/v1/messages?limit=1`, {
      headers: { authorization: `Bearer ${saved.api_key.key}` },
    });
    if (probe.ok) return saved.api_key.key;
  }
  const response = await fetch(`${base}/v1/admin/tenants`, {
    method: "POST",
    headers: { authorization: `Bearer ${vars.ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "Local development" }),
  });
  if (response.status !== 201) throw new Error(`creating the dev tenant: ${await response.text()}`);
  const tenant = await response.json();
  writeFileSync(file, JSON.stringify(tenant, null, 2), { mode: 0o600 });
  return tenant.api_key.key;
}

try {
  await waitForOk(`${base}/healthz`);
  const key = await devTestKey();
  console.log(`
  ┌─ SMS gateway running ──────────────────────────────────────────
  │ Base URL     ${base}   (docs: ${base}/docs)
  │ Admin token  ${vars.ADMIN_TOKEN}
  │ Test key     ${key}
  │ Redis        ${stack.redisKind}    Data: .local/
  │ Providers    ${fakeProviders ? "fakes of all four (FAKE_PROVIDERS=1)" : "from your TWILIO_*, AWS_*, AFRICASTALKING_* settings"}
  │ Cron         the scheduled handler runs every minute
  └────────────────────────────────────────────────────────────────
  Send a message (test keys use the sandbox provider; it delivers in a moment):

  curl -s ${base}/v1/messages \\
    -H 'Authorization: Bearer ${key}' \\
    -H 'Content-Type: application/json' \\
    -d '{"to": "+14155550100", "body": "Hello from the edge"}'

  Then: curl -s ${base}/v1/messages/<id> -H 'Authorization: Bearer ${key}'
  Ctrl-C stops everything.
`);
} catch (error) {
  console.error(error.message);
  await shutdown(1);
}
