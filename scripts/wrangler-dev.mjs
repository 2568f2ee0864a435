// Runs `wrangler dev` as a child process for the dev stack and the benchmark.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";

const root = new URL("..", import.meta.url).pathname;

/**
 * Single quotes keep a value literal in dotenv (a regex's backslashes, a JSON
 * document); a value that holds one falls back to double quotes.
 */
const quote = (value) => (value.includes("'") ? JSON.stringify(value) : `'${value}'`);

/** Writes vars as an env file for wrangler, readable only by us. */
/**
 * Fresh keyrings for personal data at rest (see src/lib/pii.ts): one AES-256 key, one HMAC key.
 * @returns {{ PII_ENCRYPTION_KEYS: string, PII_HMAC_KEYS: string }}
 */
export function newPiiKeys() {
  return {
    PII_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString("base64")}`,
    PII_HMAC_KEYS: `h1:${randomBytes(32).toString("base64")}`,
  };
}

export function writeEnvFile(file, vars) {
  const lines = Object.entries(vars).map(([k, v]) => `${k}=${quote(String(v))}`);
  writeFileSync(file, `${lines.join("\n")}\n`, { mode: 0o600 });
}

/**
 * @param {{ port: number, inspectorPort: number, envFile: string, config?: string, args?: string[], quiet?: boolean }} options
 * @returns {{ child: import("node:child_process").ChildProcess, stop: () => Promise<void> }}
 */
export function startWranglerDev({
  port,
  inspectorPort,
  envFile,
  config,
  args = [],
  quiet = false,
}) {
  const child = spawn(
    "npx",
    [
      "wrangler",
      "dev",
      ...(config ? ["--config", config] : []),
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      // Each instance needs its own devtools port (the default 9229 is shared).
      "--inspector-port",
      String(inspectorPort),
      "--env-file",
      envFile,
      "--show-interactive-dev-session=false",
      ...args,
    ],
    { cwd: root, stdio: ["ignore", quiet ? "ignore" : "inherit", "inherit"], detached: true },
  );
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    try {
      // wrangler runs workerd as its own child: signal the whole process group.
      process.kill(-child.pid, "SIGTERM");
    } catch {}
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
  };
  return { child, stop };
}

/** Polls `url` until it answers 2xx. */
export async function waitForOk(url, { attempts = 600, intervalMs = 200 } = {}) {
  for (let i = 0; i < attempts; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`${url} did not answer`);
}
