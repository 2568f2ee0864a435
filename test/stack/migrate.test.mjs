import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { migrate } from "../../scripts/stack/migrate.mjs";
import { startPostgres } from "../../scripts/stack/postgres.mjs";
import { tempDir } from "./helpers.mjs";

/** A drizzle-kit style migrations folder with one migration of two statements. */
async function writeMigrations(folder) {
  await mkdir(path.join(folder, "meta"), { recursive: true });
  const journal = {
    version: "7",
    dialect: "postgresql",
    entries: [{ idx: 0, version: "7", when: 1700000000000, tag: "0000_init", breakpoints: true }],
  };
  await writeFile(path.join(folder, "meta", "_journal.json"), JSON.stringify(journal));
  await writeFile(
    path.join(folder, "0000_init.sql"),
    [
      'CREATE TABLE "probe" ("id" serial PRIMARY KEY, "note" text NOT NULL);',
      "--> statement-breakpoint",
      'INSERT INTO "probe" ("note") VALUES (\'seeded\');',
    ].join("\n"),
  );
}

describe("migrate", () => {
  let temp;
  let postgres;

  beforeAll(async () => {
    vi.stubEnv("DATABASE_URL", "");
    vi.stubEnv("PG_PORT", "");
    temp = await tempDir("migrate");
    postgres = await startPostgres({ dataDir: path.join(temp.dir, "pg"), log: () => {} });
  });
  afterAll(async () => {
    await postgres?.stop();
    await temp?.remove();
    vi.unstubAllEnvs();
  });

  const query = async (sql) => {
    const client = new pg.Client(postgres.url);
    await client.connect();
    try {
      return (await client.query(sql)).rows;
    } finally {
      await client.end();
    }
  };

  it("applies the migrations once, however often it runs", async () => {
    const migrationsFolder = path.join(temp.dir, "drizzle");
    await writeMigrations(migrationsFolder);

    expect(await migrate(postgres.url, { migrationsFolder })).toBe(true);
    expect(await migrate(postgres.url, { migrationsFolder })).toBe(true);

    expect(await query('select note from "probe"')).toEqual([{ note: "seeded" }]);
    const applied = await query("select count(*)::int as n from drizzle.__drizzle_migrations");
    expect(applied).toEqual([{ n: 1 }]);
  });

  it("does nothing when there are no migrations yet", async () => {
    const migrationsFolder = path.join(temp.dir, "missing");
    expect(await migrate(postgres.url, { migrationsFolder })).toBe(false);
  });
});
