import { checkUrl, classifyAddress, type UrlPolicy } from "../domain/ssrf";

/*
 * The network half of the webhook SSRF guard: resolve a webhook's hostname with DNS over
 * HTTPS (the JSON API: https://developers.cloudflare.com/1.1.1.1/encryption/dns-over-https/
 * make-api-requests/dns-json/) and refuse it when ANY of its A or AAAA addresses is not a
 * public one. Run at registration and again before every delivery, since DNS can change.
 *
 * What it cannot close: fetch() resolves the name again on its own, so a name that answers
 * differently to two lookups a few milliseconds apart (DNS rebinding) could still slip
 * through; Workers cannot pin fetch to an address. On Cloudflare's network the Worker's
 * fetch cannot reach private networks anyway; this guard is what protects any other host.
 */

export interface TargetPolicy extends UrlPolicy {
  /** The DoH JSON endpoint, e.g. https://cloudflare-dns.com/dns-query. */
  dohUrl: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export type TargetCheck =
  | { ok: true; host: string; addresses: string[] }
  /** `unsafe`: the URL or an address is refused; otherwise the lookup itself failed. */
  | { ok: false; reason: string; unsafe: boolean };

const RECORD_TYPES = { A: 1, AAAA: 28 } as const;
const DEFAULT_TIMEOUT_MS = 3000;

interface DohAnswer {
  Status?: number;
  Answer?: { name?: string; type?: number; data?: string }[];
}

/** DNS RCODE names, for the reasons people read. */
const RCODES: Record<number, string> = { 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED" };

async function lookup(
  host: string,
  type: keyof typeof RECORD_TYPES,
  policy: TargetPolicy,
): Promise<{ addresses: string[] } | { error: string }> {
  const url = new URL(policy.dohUrl);
  url.searchParams.set("name", host);
  url.searchParams.set("type", type);
  let response: Response;
  try {
    response = await (policy.fetch ?? fetch)(url, {
      headers: { accept: "application/dns-json" },
      signal: AbortSignal.timeout(policy.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
  } catch (error) {
    return { error: `DNS lookup of ${host} failed: ${String(error)}` };
  }
  if (!response.ok) {
    await response.body?.cancel();
    return { error: `DNS lookup of ${host} failed: resolver answered HTTP ${response.status}` };
  }
  let body: DohAnswer;
  try {
    body = (await response.json()) as DohAnswer;
  } catch {
    return { error: `DNS lookup of ${host} failed: the resolver's answer is not JSON` };
  }
  // NXDOMAIN for one type is NXDOMAIN for all: the caller reports "does not resolve".
  if (body.Status === 3) return { addresses: [] };
  if (body.Status !== 0) {
    const rcode = RCODES[body.Status ?? -1] ?? `status ${body.Status}`;
    return { error: `DNS lookup of ${host} failed: ${rcode}` };
  }
  const addresses = (body.Answer ?? [])
    .filter((record) => record.type === RECORD_TYPES[type] && typeof record.data === "string")
    .map((record) => record.data as string);
  return { addresses };
}

/** Resolves a hostname's A and AAAA records; refuses it when any address is not public. */
export async function resolvePublicHost(host: string, policy: TargetPolicy): Promise<TargetCheck> {
  const [a, aaaa] = await Promise.all([lookup(host, "A", policy), lookup(host, "AAAA", policy)]);
  // Judge what did resolve before giving up on a failed half: an unsafe address is the
  // stronger finding.
  const addresses = [
    ...("addresses" in a ? a.addresses : []),
    ...("addresses" in aaaa ? aaaa.addresses : []),
  ];
  for (const address of addresses) {
    const reason = classifyAddress(address);
    if (reason) {
      return { ok: false, unsafe: true, reason: `${host} resolves to ${address} (${reason})` };
    }
  }
  if ("error" in a) return { ok: false, unsafe: false, reason: a.error };
  if ("error" in aaaa) return { ok: false, unsafe: false, reason: aaaa.error };
  if (addresses.length === 0) {
    return { ok: false, unsafe: false, reason: `${host} does not resolve (no A or AAAA record)` };
  }
  return { ok: true, host, addresses };
}

/**
 * The whole check for one webhook URL: the pure URL and host rules, then, for a name,
 * resolution with every address judged. IP literals need no lookup; allowlisted
 * `host:port` pairs (tests and local development) are neither judged nor resolved.
 */
export async function checkWebhookTarget(url: string, policy: TargetPolicy): Promise<TargetCheck> {
  const parsed = checkUrl(url, policy);
  if (!parsed.ok) return { ok: false, unsafe: true, reason: parsed.reason };
  if (parsed.allowlisted || parsed.literal) {
    return { ok: true, host: parsed.host, addresses: parsed.literal ? [parsed.host] : [] };
  }
  return resolvePublicHost(parsed.host, policy);
}
