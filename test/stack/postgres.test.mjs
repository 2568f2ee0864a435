import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startPostgres } from "../../scripts/stack/postgres.mjs";
import { tempDir } from "./helpers.mjs";

async function query(url, sql) {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

describe("startPostgres", () => {
  let temp;
  let dataDir;
  const running = [];
  const start = async () => {
    const postgres = await startPostgres({ dataDir, log: () => {} });
    running.push(postgres);
    return postgres;
  };
  const postmasterPid = async () =>
    Number.parseInt(await readFile(path.join(dataDir, "postmaster.pid"), "utf8"), 10);

  beforeAll(async () => {
    vi.stubEnv("DATABASE_URL", "");
    vi.stubEnv("PG_PORT", "");
    temp = await tempDir("postgres");
    dataDir = path.join(temp.dir, "pg");
  });
  afterAll(async () => {
    for (const postgres of running) await postgres.stop();
    await temp?.remove();
    vi.unstubAllEnvs();
  });

  it("initialises a new directory and serves sms_gateway on loopback with a password", async () => {
    const postgres = await start();
    const url = new URL(postgres.url);
    expect(url.hostname).toBe("127.0.0.1");
    expect(url.port).not.toBe("5432");
    expect(url.pathname).toBe("/sms_gateway");
    await query(postgres.url, "create table kept (id int)");

    const wrongPassword = postgres.url.replace(":postgres@", ":wrong@");
    await expect(query(wrongPassword, "select 1")).rejects.toThrow(/password authentication/);
    await postgres.stop();
    await postgres.stop();
  });

  it("starts again on the initialised directory, data intact", async () => {
    const postgres = await start();
    expect(await query(postgres.url, "select count(*)::int as n from kept")).toEqual([{ n: 0 }]);
    await postgres.stop();
  });

  it("refuses a directory that a running postmaster owns", async () => {
    await start();
    await expect(start()).rejects.toThrow(/already running/);
  });

  it("restarts after the postmaster was killed", async () => {
    const crashed = running.at(-1);
    process.kill(await postmasterPid(), "SIGKILL");
    await crashed.stop();

    const postgres = await start();
    expect(await query(postgres.url, "select count(*)::int as n from kept")).toEqual([{ n: 0 }]);
    await postgres.stop();
  });

  it("starts despite a postmaster.pid naming a live process that is not postgres", async () => {
    // This test process stands for an unrelated process that reused the pid after a crash.
    await writeFile(path.join(dataDir, "postmaster.pid"), `${process.pid}\n${dataDir}\n`);
    const postgres = await start();
    expect(await query(postgres.url, "select 1 as one")).toEqual([{ one: 1 }]);
    await postgres.stop();
  });

  it("uses DATABASE_URL when it is set, starting nothing", async () => {
    vi.stubEnv("DATABASE_URL", "postgres://somewhere.example/db");
    const postgres = await startPostgres({ dataDir: path.join(temp.dir, "unused"), log: () => {} });
    expect(postgres.url).toBe("postgres://somewhere.example/db");
    await postgres.stop();
    vi.stubEnv("DATABASE_URL", "");
  });
});
