// The Worker's own footprint, read from /proc (Linux): the workerd processes that a
// `wrangler dev` started, their resident memory and CPU time. Not a Workers API: the local
// runtime's process is the closest measure of what an invocation costs.
import { readdirSync, readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100;

function stat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name is in parentheses and may hold spaces: fields follow the last ")".
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return {
      ppid: Number(fields[1]),
      cpuTicks: Number(fields[11]) + Number(fields[12]),
      comm: text.slice(text.indexOf("(") + 1, text.lastIndexOf(")")),
    };
  } catch {
    return null;
  }
}

function rssKb(pid) {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** The workerd processes under `rootPid`. */
export function workerdPids(rootPid) {
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(entry);
    if (!s) continue;
    children.set(s.ppid, [...(children.get(s.ppid) ?? []), Number(entry)]);
  }
  const found = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    const pid = queue.shift();
    for (const child of children.get(pid) ?? []) {
      if (stat(child)?.comm.startsWith("workerd")) found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** CPU time (ms) the processes used so far. */
export const cpuMs = (pids) =>
  pids.reduce((sum, pid) => sum + (stat(pid)?.cpuTicks ?? 0), 0) * (1000 / TICKS_PER_SECOND);

/** Samples the processes' resident memory every `everyMs` until `stop()`: the peak, in MB. */
export function sampleMemory(pids, everyMs = 25) {
  let peak = 0;
  const read = () => {
    peak = Math.max(
      peak,
      pids.reduce((sum, pid) => sum + rssKb(pid), 0),
    );
  };
  read();
  const timer = setInterval(read, everyMs);
  return {
    stop() {
      clearInterval(timer);
      read();
      return peak / 1024;
    },
  };
}
