import net from "node:net";
import { WebSocketServer } from "ws";

/*
 * WebSocket-to-TCP bridge for @neondatabase/serverless, which speaks the Postgres wire protocol
 * over a WebSocket to `ws://<wsProxy>?address=HOST:PORT`. Binary frames are piped both ways. Only
 * loopback addresses are allowed: this is a dev tool and must not become an open proxy.
 */

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

/** "HOST:PORT" (an IPv6 host may be bracketed) → { host, port }, or null unless it is loopback. */
function loopbackTarget(address) {
  const match = /^(.+):(\d{1,5})$/.exec(address ?? "");
  if (!match || !LOOPBACK.has(match[1])) return null;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return null;
  return { host: match[1].replace(/^\[(.*)\]$/, "$1"), port };
}

/**
 * @param {{ port?: number }} [options]
 * @returns {Promise<{ port: number, proxy: string, stop: () => Promise<void> }>}
 *   proxy: "127.0.0.1:PORT/v1", for `neonConfig.wsProxy = (host, port) => \`${proxy}?address=${host}:${port}\``
 */
export async function startWsBridge({ port = 0 } = {}) {
  const server = new WebSocketServer({ host: "127.0.0.1", port, path: "/v1" });
  await new Promise((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });

  server.on("connection", (ws, req) => {
    const address = new URL(req.url, "http://localhost").searchParams.get("address");
    const target = loopbackTarget(address);
    if (!target) {
      // 1008: policy violation.
      ws.close(1008, "only loopback addresses are allowed");
      return;
    }
    const socket = net.connect(target);
    socket.setNoDelay(true);
    // Frames that arrive while TCP is still connecting are queued by the socket itself.
    ws.on("message", (data) => socket.write(data));
    socket.on("data", (chunk) => ws.send(chunk));
    ws.on("close", () => socket.destroy());
    ws.on("error", () => socket.destroy());
    socket.on("close", () => ws.close());
    // 1011: internal error; the reason (at most 123 bytes) tells the client why.
    socket.on("error", (error) => ws.close(1011, error.message.slice(0, 120)));
  });

  return {
    port: server.address().port,
    proxy: `127.0.0.1:${server.address().port}/v1`,
    stop: () =>
      new Promise((resolve) => {
        for (const ws of server.clients) ws.terminate();
        server.close(() => resolve());
      }),
  };
}
