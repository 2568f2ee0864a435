#!/usr/bin/env node
// `npm run db:migrate`: applies ./drizzle to $DATABASE_URL (for deploys; the dev
// stack and the tests migrate their own database at start).
import { migrate } from "./stack/migrate.mjs";

if (!process.env.DATABASE_URL) {
  console.error(
    "Set DATABASE_URL to the database to migrate (Neon: use the direct, unpooled URL).",
  );
  process.exit(2);
}
await migrate(process.env.DATABASE_URL);
console.log("Migrations applied.");
