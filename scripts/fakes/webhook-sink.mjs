// Two fakes for customer webhooks, for the integration tests and local development:
//
// - a webhook sink: records every request (method, path, headers, body) like the fake
//   providers do (`GET /__fake/requests`), answers 200, or as told with the common control
//   endpoint (`PUT /__fake/behaviour {"behaviour": "outage"}` → 500, "throttled" → 429,
//   "bad_gateway", "hang"; `DELETE /__fake/behaviour` → 200 again). `?delay=MS` in a webhook
//   URL makes it answer that request MS later; `GET /__sink/in-flight?path=/p` tells how many
//   requests for a path are open now and the most there ever were at once.
// - a DNS-over-HTTPS resolver (JSON API, as cloudflare-dns.com answers it) whose records
//   tests program: `PUT /__dns/{name}` with `{"A": [...], "AAAA": [...], "CNAME": "other",
//   "Status": 2}` (any subset), `DELETE /__dns/{name}`. Unknown names are NXDOMAIN.
import { behaviourFor, startFakeServer, transportFailure } from "./common.mjs";

const JSON_HEADERS = { "content-type": "application/json" };

/** Records the resolver knows from the start (tests add their own names). */
export const DEFAULT_RECORDS = Object.freeze({
  "good.test": { A: ["93.184.216.34"], AAAA: ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"] },
  "evil.test": { A: ["127.0.0.1"] },
  "evil6.test": { AAAA: ["::1"] },
  "mixed.test": { A: ["93.184.216.34"], AAAA: ["fd00::1"] },
  "metadata.test": { A: ["169.254.169.254"] },
  "cname.test": { CNAME: "evil.test" },
  "servfail.test": { Status: 2 },
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startWebhookSink({ port = 0 } = {}) {
  const open = new Map();
  const most = new Map();
  return startFakeServer({
    name: "webhook-sink",
    port,
    handle: async ({ url }) => {
      if (url.pathname === "/__sink/in-flight") {
        const path = url.searchParams.get("path") ?? "";
        return {
          status: 200,
          headers: JSON_HEADERS,
          body: JSON.stringify({ open: open.get(path) ?? 0, max: most.get(path) ?? 0 }),
        };
      }
      const path = url.pathname;
      open.set(path, (open.get(path) ?? 0) + 1);
      most.set(path, Math.max(most.get(path) ?? 0, open.get(path)));
      try {
        const delay = Number(url.searchParams.get("delay") ?? 0);
        if (delay > 0) await sleep(delay);
        const ok = () => ({ status: 200, headers: JSON_HEADERS, body: '{"received":true}' });
        const behaviour = behaviourFor("");
        const failure = transportFailure(behaviour, ok);
        if (failure) return await failure;
        if (behaviour === "outage") {
          return { status: 500, headers: JSON_HEADERS, body: '{"error":"sink told to fail"}' };
        }
        if (behaviour === "throttled") {
          return { status: 429, headers: { ...JSON_HEADERS, "retry-after": "1" }, body: "{}" };
        }
        return ok();
      } finally {
        open.set(path, (open.get(path) ?? 1) - 1);
      }
    },
  });
}

function dohAnswer(records, name, type) {
  const code = type === "AAAA" ? 28 : 1;
  const question = [{ name, type: code }];
  const answer = [];
  let current = name;
  // Follow CNAMEs as a recursive resolver does, answering the chain and the final records.
  for (let hops = 0; hops < 8; hops++) {
    const entry = records.get(current.toLowerCase().replace(/\.$/, ""));
    if (!entry) return { Status: answer.length ? 0 : 3, Question: question, Answer: answer };
    if (entry.Status) return { Status: entry.Status, Question: question };
    if (entry.CNAME) {
      answer.push({ name: current, type: 5, TTL: 60, data: `${entry.CNAME}.` });
      current = entry.CNAME;
      continue;
    }
    for (const data of entry[type] ?? []) answer.push({ name: current, type: code, TTL: 60, data });
    return {
      Status: 0,
      TC: false,
      RD: true,
      RA: true,
      AD: false,
      CD: false,
      Question: question,
      Answer: answer,
    };
  }
  return { Status: 2, Question: question };
}

export async function startFakeDoh({ port = 0, records = DEFAULT_RECORDS } = {}) {
  const table = new Map(Object.entries(records));
  return startFakeServer({
    name: "doh",
    port,
    handle: ({ method, url, body }) => {
      const programmed = url.pathname.match(/^\/__dns\/([^/]+)$/);
      if (programmed) {
        const name = decodeURIComponent(programmed[1]).toLowerCase();
        if (method === "PUT") table.set(name, JSON.parse(body || "{}"));
        else if (method === "DELETE") table.delete(name);
        else return { status: 405, headers: { allow: "PUT, DELETE" } };
        return { status: 204 };
      }
      if (url.pathname !== "/dns-query" || method !== "GET") return { status: 404 };
      const name = url.searchParams.get("name");
      const type = url.searchParams.get("type") ?? "A";
      if (!name || !["A", "AAAA"].includes(type)) return { status: 400, body: "bad query" };
      return {
        status: 200,
        headers: { "content-type": "application/dns-json" },
        body: JSON.stringify(dohAnswer(table, name, type)),
      };
    },
  });
}

/** Both, and what the Worker needs to use them (the sink is allowlisted: it is loopback http). */
export async function startWebhookFakes() {
  const sink = await startWebhookSink();
  const doh = await startFakeDoh();
  return {
    sink,
    doh,
    workerEnv: {
      WEBHOOK_DOH_URL: `${doh.url}/dns-query`,
      WEBHOOK_ALLOWED_HOSTS: new URL(sink.url).host,
      WEBHOOK_SINK_URL: sink.url,
    },
    stop: () => Promise.all([sink.stop(), doh.stop()]),
  };
}
