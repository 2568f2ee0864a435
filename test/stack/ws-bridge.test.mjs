import { neonConfig, Pool } from "@neondatabase/serverless";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { startPostgres } from "../../scripts/stack/postgres.mjs";
import { startWsBridge } from "../../scripts/stack/ws-bridge.mjs";
import { tempDir } from "./helpers.mjs";

/** Resolves with the close code once the bridge closes a raw WebSocket. */
function closeCode(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once("close", (code) => resolve(code));
    ws.once("error", reject);
  });
}

describe("Neon serverless driver through the WebSocket bridge", () => {
  let temp;
  let postgres;
  let bridge;
  let pool;

  beforeAll(async () => {
    // The embedded PostgreSQL with password auth, even where a DATABASE_URL is configured.
    vi.stubEnv("DATABASE_URL", "");
    vi.stubEnv("PG_PORT", "");
    temp = await tempDir("ws-bridge");
    postgres = await startPostgres({ dataDir: `${temp.dir}/pg`, log: () => {} });
    bridge = await startWsBridge();
    // What the Worker sets, with production's pipelined cleartext password.
    neonConfig.webSocketConstructor = WebSocket;
    neonConfig.wsProxy = (host, port) => `${bridge.proxy}?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineConnect = "password";
    pool = new Pool({ connectionString: postgres.url });
  });
  afterAll(async () => {
    await pool?.end();
    await bridge?.stop();
    await postgres?.stop();
    await temp?.remove();
    vi.unstubAllEnvs();
  });

  it("runs select 1", async () => {
    const { rows } = await pool.query("select 1 as one");
    expect(rows).toEqual([{ one: 1 }]);
  });

  it("runs a parameterized query", async () => {
    const { rows } = await pool.query("select $1::int + $2::int as sum, $3::text as text", [
      2,
      40,
      "Jambo 🌍",
    ]);
    expect(rows).toEqual([{ sum: 42, text: "Jambo 🌍" }]);
  });

  it("serves two concurrent clients on separate connections", async () => {
    const clients = await Promise.all([pool.connect(), pool.connect()]);
    try {
      const results = await Promise.all(
        clients.map((client) => client.query("select pg_backend_pid() as pid, pg_sleep(0.05)")),
      );
      const [first, second] = results.map(({ rows }) => rows[0].pid);
      expect(first).not.toBe(second);
    } finally {
      for (const client of clients) client.release();
    }
  });

  it("refuses addresses that are not loopback", async () => {
    const bridgeUrl = `ws://${bridge.proxy}`;
    expect(await closeCode(`${bridgeUrl}?address=10.1.2.3:5432`)).toBe(1008);
    expect(await closeCode(`${bridgeUrl}?address=example.com:5432`)).toBe(1008);
    expect(await closeCode(bridgeUrl)).toBe(1008);

    const elsewhere = new Pool({ connectionString: postgres.url.replace("127.0.0.1", "10.1.2.3") });
    await expect(elsewhere.query("select 1")).rejects.toThrow();
    await elsewhere.end().catch(() => {});
  });

  it("closes the WebSocket when the TCP side fails", async () => {
    // Port 1 on loopback: connection refused.
    expect(await closeCode(`ws://${bridge.proxy}?address=127.0.0.1:1`)).toBe(1011);
  });

  it("drops open connections on stop", async () => {
    const other = await startWsBridge();
    const ws = new WebSocket(`ws://${other.proxy}?address=${new URL(postgres.url).host}`);
    await new Promise((resolve) => ws.once("open", resolve));
    const closed = new Promise((resolve) => ws.once("close", resolve));
    await other.stop();
    await closed;
    expect(ws.readyState).toBe(WebSocket.CLOSED);
  });
});
