// Load generator, run in its own process so it does not share an event loop
// with the local stack's bridges. Closed loop: `concurrency` clients each send
// the next request when the previous one answers, for `seconds`.
// Usage: node load.mjs '{"url":…,"headers":{…},"body":"…","expect":202,"concurrency":N,"seconds":S}'
const { url, headers, body, expect, concurrency, seconds } = JSON.parse(process.argv[2]);

const latencies = [];
const timings = new Map();
let errors = 0;
/** The first unexpected answer, so a failing target says why. */
let firstError = null;
const deadline = performance.now() + seconds * 1000;

async function client() {
  while (performance.now() < deadline) {
    const started = performance.now();
    try {
      const response = await fetch(url, { method: "POST", headers, body });
      const text = await response.text();
      if (response.status !== expect) {
        errors++;
        firstError ??= `HTTP ${response.status}: ${text.slice(0, 300)}`;
        continue;
      }
      latencies.push(performance.now() - started);
      const timing = response.headers.get("server-timing");
      if (timing) timings.set(timing, (timings.get(timing) ?? 0) + 1);
    } catch (error) {
      errors++;
      firstError ??= String(error);
    }
  }
}

const started = performance.now();
await Promise.all(Array.from({ length: concurrency }, client));
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
// NaN when nothing succeeded: the report then shows it instead of crashing.
const pct = (p) =>
  latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? Number.NaN;
console.log(
  JSON.stringify({
    accepted: latencies.length,
    errors,
    rps: latencies.length / elapsed,
    p50: pct(50),
    p99: pct(99),
    serverTiming: Object.fromEntries(timings),
    firstError,
  }),
);
