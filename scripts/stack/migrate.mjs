import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate as drizzleMigrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";

const DEFAULT_FOLDER = fileURLToPath(new URL("../../drizzle", import.meta.url));

/**
 * Applies the drizzle-kit SQL migrations that the database has not seen yet (drizzle records them
 * in drizzle.__drizzle_migrations, so running it again is a no-op).
 * @param {string} databaseUrl
 * @param {{ migrationsFolder?: string }} [options] defaults to the repository's ./drizzle
 * @returns {Promise<boolean>} false when the folder holds no migrations yet (no meta/_journal.json)
 */
export async function migrate(databaseUrl, { migrationsFolder = DEFAULT_FOLDER } = {}) {
  if (!existsSync(path.join(migrationsFolder, "meta", "_journal.json"))) return false;
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await drizzleMigrate(drizzle(client), { migrationsFolder });
  } finally {
    await client.end();
  }
  return true;
}
