// `npm run bench`, part 3: bulk sends. One request of 10,000 recipients (acceptance), next to
// its floor (the same drivers inserting 10,000 rows with one `unnest` statement), and the
// dispatch that follows through the queues to the sandbox and the fake providers, with the
// workerd process's CPU time and peak memory.
import { cpuMs, sampleMemory, workerdPids } from "./process-stats.mjs";

/** Distinct, valid UK mobiles (+447400…) and Kenyan ones (+2547…: Africa's Talking). */
const ukMobiles = (count, from) =>
  Array.from({ length: count }, (_, i) => `+447400${String(from + i).padStart(6, "0")}`);
const kenyanMobiles = (count, from) =>
  Array.from({ length: count }, (_, i) => `+25473${String(from + i).padStart(7, "0")}`);

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function benchBulk({ appUrl, floorUrl, appPid, testKey, liveKey, log }) {
  const pids = workerdPids(appPid);
  const auth = (key) => ({ authorization: `Bearer ${key}`, "content-type": "application/json" });
  const post = async (url, key, body) => {
    const started = performance.now();
    const response = await fetch(url, { method: "POST", headers: auth(key), body });
    const text = await response.text();
    if (response.status !== 202)
      throw new Error(`${url}: HTTP ${response.status} ${text.slice(0, 300)}`);
    return { ms: performance.now() - started, body: JSON.parse(text), response };
  };

  const n = 10_000;
  const runs = 3;
  const floor = [];
  for (let run = 0; run < runs; run++) {
    floor.push((await post(`${floorUrl}bulk?n=${n}`, "", "")).ms);
  }
  const accept = [];
  let timing = "";
  let acceptCpu = Number.POSITIVE_INFINITY;
  let acceptPeak = 0;
  const idleRss = sampleMemory(pids).stop();
  for (let run = 0; run < runs; run++) {
    const body = JSON.stringify({
      recipients: ukMobiles(n, run * n).map((to) => ({ to })),
      body: "Your statement is ready",
      // Scheduled a day ahead: this measures acceptance alone (canceled right after).
      send_at: new Date(Date.now() + 86_400_000).toISOString(),
    });
    const memory = sampleMemory(pids);
    const cpuBefore = cpuMs(pids);
    const result = await post(`${appUrl}/v1/messages/bulk`, testKey, body);
    acceptCpu = Math.min(acceptCpu, cpuMs(pids) - cpuBefore);
    acceptPeak = Math.max(acceptPeak, memory.stop());
    accept.push(result.ms);
    timing = result.response.headers.get("server-timing") ?? "";
    if (result.body.accepted !== n) throw new Error(`accepted ${result.body.accepted} of ${n}`);
    await fetch(`${appUrl}/v1/batches/${result.body.id}/cancel`, {
      method: "POST",
      headers: { authorization: `Bearer ${testKey}` },
    });
  }

  /** Sends one batch and waits until every message was handed to its provider. */
  async function dispatch(key, to, body) {
    const memory = sampleMemory(pids);
    const cpuBefore = cpuMs(pids);
    const started = performance.now();
    const { body: batch } = await post(
      `${appUrl}/v1/messages/bulk`,
      key,
      JSON.stringify({ recipients: to.map((number) => ({ to: number })), body }),
    );
    for (;;) {
      const response = await fetch(`${appUrl}/v1/batches/${batch.id}`, {
        headers: { authorization: `Bearer ${key}` },
      });
      const progress = await response.json();
      if (progress.dispatched >= batch.accepted) break;
      await sleep(100);
    }
    const seconds = (performance.now() - started) / 1000;
    return {
      count: batch.accepted,
      perSecond: batch.accepted / seconds,
      seconds,
      cpuMsPerMessage: (cpuMs(pids) - cpuBefore) / batch.accepted,
      peakMb: memory.stop(),
    };
  }
  const m = 2_000;
  log(`bulk: dispatching ${m} messages each through the sandbox, AWS and Africa's Talking fakes`);
  const sandbox = await dispatch(testKey, ukMobiles(m, 900_000), "Sandbox bulk");
  const aws = await dispatch(liveKey, ukMobiles(m, 910_000), "Live bulk via the cheapest route");
  const africasTalking = await dispatch(liveKey, kenyanMobiles(m, 1_000_000), "Habari");

  const f = median(floor);
  const a = median(accept);
  const row = (name, d) =>
    `| ${name.padEnd(44)} | ${String(d.count).padStart(6)} | ${d.perSecond.toFixed(0).padStart(7)} | ${d.cpuMsPerMessage.toFixed(2).padStart(9)} | ${d.peakMb.toFixed(0).padStart(8)} |`;
  return `
Bulk acceptance: one POST /v1/messages/bulk of ${n.toLocaleString("en")} recipients (median of ${runs}):
  floor (same drivers, one unnest INSERT of ${n} ids): ${f.toFixed(0)} ms
  POST /v1/messages/bulk (202):                        ${a.toFixed(0)} ms = ${(n / (a / 1000)).toFixed(0)} recipients/s (floor ${(n / (f / 1000)).toFixed(0)} rows/s)
  workerd CPU for one request: ${acceptCpu.toFixed(0)} ms (least of ${runs}); resident memory ${idleRss.toFixed(0)} MB idle, peak ${acceptPeak.toFixed(0)} MB
  round trips: ${timing}

Bulk dispatch through the queues, from the request until every message was handed to its provider:
| ${"target".padEnd(44)} | msgs   | msgs/s  | CPU ms/msg | peak MB  |
|${"-".repeat(46)}|-------:|--------:|----------:|---------:|
${row("sandbox (test key)", sandbox)}
${row("live, UK numbers → cheapest fake (AWS)", aws)}
${row("live, Kenyan numbers → Africa's Talking fake", africasTalking)}`;
}
