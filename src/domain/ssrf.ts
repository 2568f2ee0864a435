/**
 * Where a customer webhook may point: pure checks, no I/O. A webhook URL is
 * chosen by the tenant and called by the gateway, so without these checks it is
 * a way to make the gateway call its own network (server-side request forgery):
 * loopback, private ranges, the cloud metadata service, the gateway itself.
 *
 * Hostnames are judged here by name only; `src/webhooks/resolve-host.ts`
 * resolves them and judges every address with `classifyAddress`.
 */

export type UrlCheck =
  | {
      ok: true;
      /** The hostname as the URL parser normalized it (IPv6 without brackets). */
      host: string;
      /** The host is an IP address: nothing to resolve. */
      literal: boolean;
      /** Let through by the tests-and-development allowlist: not resolved, not judged. */
      allowlisted: boolean;
    }
  | { ok: false; reason: string };

export interface UrlPolicy {
  /** This gateway's own hostnames: a webhook must never call back into the gateway. */
  selfHosts?: readonly string[];
  /**
   * `host:port` pairs let through whatever they are (plain http, loopback): for the
   * tests' local sink and local development only, never in production.
   */
  allowedHosts?: readonly string[];
}

// ---------------------------------------------------------------------------
// IPv4

/**
 * IPv4 the way the WHATWG URL parser (and inet_aton) reads a host: 1 to 4 dot-separated
 * parts, each decimal, `0x` hex or `0`-prefixed octal, the last filling the remaining
 * bytes (`127.1`, `0x7f.1`, `0177.0.0.1`, `2130706433`). Null if it is not an IPv4 address.
 */
export function parseIPv4(text: string): number | null {
  const parts = text.split(".");
  if (parts.length > 1 && parts.at(-1) === "") parts.pop();
  if (parts.length === 0 || parts.length > 4) return null;
  const numbers: number[] = [];
  for (const part of parts) {
    let value: number;
    if (/^0[xX][0-9a-fA-F]*$/.test(part)) value = part.length === 2 ? 0 : Number.parseInt(part, 16);
    else if (/^0[0-7]+$/.test(part)) value = Number.parseInt(part.slice(1), 8);
    else if (/^(0|[1-9][0-9]*)$/.test(part)) value = Number(part);
    else return null;
    if (!Number.isSafeInteger(value)) return null;
    numbers.push(value);
  }
  const last = numbers.pop() as number;
  if (numbers.some((n) => n > 255)) return null;
  if (last >= 256 ** (4 - numbers.length)) return null;
  let address = last;
  for (const [i, n] of numbers.entries()) address += n * 256 ** (3 - i);
  return address;
}

/** Whether the URL parser would read this host as IPv4: its last label is numeric. */
const looksLikeIPv4 = (host: string) => {
  const labels = host.split(".");
  if (labels.length > 1 && labels.at(-1) === "") labels.pop();
  return /^(0[xX][0-9a-fA-F]*|[0-9]+)$/.test(labels.at(-1) ?? "");
};

const formatIPv4 = (a: number) => [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join(".");

const v4 = (cidr: string): [number, number] => {
  const [base, bits] = cidr.split("/");
  const mask = Number(bits) === 0 ? 0 : (0xffffffff << (32 - Number(bits))) >>> 0;
  return [((parseIPv4(base as string) as number) & mask) >>> 0, mask];
};

/** First match wins, so the specific entries (metadata) come before their ranges. */
const IPV4_REFUSED: [range: [number, number], reason: string][] = [
  [v4("0.0.0.0/32"), "unspecified address"],
  [v4("0.0.0.0/8"), "'this network' address (reserved)"],
  [v4("10.0.0.0/8"), "private address (RFC 1918)"],
  [v4("100.100.100.200/32"), "cloud metadata address"],
  [v4("100.64.0.0/10"), "carrier-grade NAT address (RFC 6598)"],
  [v4("127.0.0.0/8"), "loopback address"],
  [v4("169.254.169.254/32"), "cloud metadata address"],
  [v4("169.254.0.0/16"), "link-local address"],
  [v4("172.16.0.0/12"), "private address (RFC 1918)"],
  [v4("192.0.0.0/24"), "reserved address (IETF protocol assignments)"],
  [v4("192.0.2.0/24"), "documentation address (reserved)"],
  [v4("192.31.196.0/24"), "reserved address (AS112)"],
  [v4("192.52.193.0/24"), "reserved address (AMT)"],
  [v4("192.88.99.0/24"), "reserved address (6to4 relay anycast)"],
  [v4("192.168.0.0/16"), "private address (RFC 1918)"],
  [v4("192.175.48.0/24"), "reserved address (AS112)"],
  [v4("198.18.0.0/15"), "benchmarking address (reserved)"],
  [v4("198.51.100.0/24"), "documentation address (reserved)"],
  [v4("203.0.113.0/24"), "documentation address (reserved)"],
  [v4("224.0.0.0/4"), "multicast address"],
  [v4("255.255.255.255/32"), "broadcast address"],
  [v4("240.0.0.0/4"), "reserved address (240.0.0.0/4)"],
];

/** Why an IPv4 address (as a 32-bit number) must not be called, or null if it is public. */
export function classifyIPv4(address: number): string | null {
  for (const [[base, mask], reason] of IPV4_REFUSED) {
    if ((address & mask) >>> 0 === base) return reason;
  }
  return null;
}

// ---------------------------------------------------------------------------
// IPv6

/** Eight 16-bit groups, or null. Accepts `::` compression and a dotted IPv4 tail. */
export function parseIPv6(text: string): number[] | null {
  let s = text;
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  if (s.includes("%") || !/^[0-9a-fA-F:.]+$/.test(s)) return null;
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const groupsOf = (part: string): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    const pieces = part.split(":");
    for (const [i, piece] of pieces.entries()) {
      if (piece.includes(".")) {
        // A dotted IPv4 tail, strict dotted-quad, only as the last piece.
        if (i !== pieces.length - 1 || !/^\d{1,3}(\.\d{1,3}){3}$/.test(piece)) return null;
        const bytes = piece.split(".").map(Number);
        if (bytes.some((b) => b > 255)) return null;
        const [a, b, c, d] = bytes as [number, number, number, number];
        out.push((a << 8) | b, (c << 8) | d);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return null;
        out.push(Number.parseInt(piece, 16));
      }
    }
    return out;
  };
  const head = groupsOf(halves[0] as string);
  const tail = halves.length === 2 ? groupsOf(halves[1] as string) : [];
  if (!head || !tail) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return null;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

const embeddedV4 = (g: number[], from: number) =>
  ((((g[from] ?? 0) << 16) >>> 0) + (g[from + 1] ?? 0)) >>> 0;

const prefixIs = (g: number[], prefix: number[]) => prefix.every((p, i) => g[i] === p);

/** Why an IPv6 address (eight groups) must not be called, or null if it is public. */
export function classifyIPv6(g: number[]): string | null {
  const zeros = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeros(8)) return "unspecified address";
  if (zeros(7) && g[7] === 1) return "loopback address";
  // ::ffff:a.b.c.d — the IPv4 address itself is what is reached.
  if (zeros(5) && g[5] === 0xffff) {
    const inner = embeddedV4(g, 6);
    const reason = classifyIPv4(inner);
    return reason && `IPv4-mapped ${formatIPv4(inner)}: ${reason}`;
  }
  // ::a.b.c.d (deprecated IPv4-compatible): no legitimate use, refused whatever it embeds.
  if (zeros(6)) {
    const inner = embeddedV4(g, 6);
    const reason = classifyIPv4(inner);
    return `IPv4-compatible IPv6 address (deprecated)${reason ? ` of ${formatIPv4(inner)}: ${reason}` : ""}`;
  }
  // 64:ff9b::/96 — NAT64 reaches the embedded IPv4 address.
  if (prefixIs(g, [0x64, 0xff9b, 0, 0, 0, 0])) {
    const inner = embeddedV4(g, 6);
    const reason = classifyIPv4(inner);
    return reason && `NAT64 of ${formatIPv4(inner)}: ${reason}`;
  }
  if (prefixIs(g, [0x64, 0xff9b, 1])) return "local-use NAT64 address (RFC 8215)";
  // 2002::/16 — 6to4 reaches the IPv4 address in bits 16–48.
  if (g[0] === 0x2002) {
    const inner = embeddedV4(g, 1);
    const reason = classifyIPv4(inner);
    return reason && `6to4 address of ${formatIPv4(inner)}: ${reason}`;
  }
  const first = g[0] as number;
  if (first === 0x2001 && (g[1] as number) === 0) return "Teredo tunnel address";
  if (first === 0x2001 && (g[1] as number) === 0x0db8) return "documentation address (reserved)";
  if (first === 0x2001 && (g[1] as number) < 0x200) {
    return "reserved address (IETF protocol assignments)";
  }
  if (first === 0x3fff && ((g[1] as number) & 0xf000) === 0) {
    return "documentation address (reserved)";
  }
  if (prefixIs(g, [0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x254])) return "cloud metadata address";
  if ((first & 0xfe00) === 0xfc00) return "unique-local address (fc00::/7)";
  if ((first & 0xffc0) === 0xfe80) return "link-local address (fe80::/10)";
  if ((first & 0xffc0) === 0xfec0) return "site-local address (deprecated)";
  if ((first & 0xff00) === 0xff00) return "multicast address";
  // Only 2000::/3 is global unicast; everything else is reserved or special.
  if ((first & 0xe000) !== 0x2000) return "reserved address (outside 2000::/3)";
  return null;
}

/**
 * Why an address (IPv4 dotted or IPv6 text, as DNS answers give them) must not be
 * called, or null when it is a public address. Unparseable text is refused.
 */
export function classifyAddress(address: string): string | null {
  if (address.includes(":")) {
    const groups = parseIPv6(address);
    return groups ? classifyIPv6(groups) : "not an IP address";
  }
  const v4address = parseIPv4(address);
  return v4address === null ? "not an IP address" : classifyIPv4(v4address);
}

// ---------------------------------------------------------------------------
// Hostnames and URLs

/** Names that reach the cloud provider's instance metadata service. */
const METADATA_NAMES = new Set([
  "metadata",
  "metadata.google.internal",
  "metadata.goog",
  "instance-data",
  "instance-data.ec2.internal",
  "metadata.azure.internal",
]);

/** Suffixes that never name a public host (RFC 6761, RFC 6762, RFC 8375, ICANN .internal). */
const PRIVATE_SUFFIXES: [suffix: string, reason: string][] = [
  ["localhost", "localhost"],
  ["local", "mDNS name (.local)"],
  ["internal", "private-use name (.internal)"],
  ["localdomain", "local name (.localdomain)"],
  ["home.arpa", "home network name (.home.arpa)"],
  ["arpa", "infrastructure name (.arpa)"],
  ["onion", "Tor onion name (.onion)"],
];

const hostPort = (url: URL) =>
  `${url.hostname}:${url.port || (url.protocol === "https:" ? "443" : "80")}`.toLowerCase();

/**
 * Judges a host by itself: an IP literal by its address (in every encoding the URL
 * parser accepts), a name by the names that are never public. Names that pass still
 * have to be resolved and their addresses judged.
 */
export function classifyHost(
  hostname: string,
  selfHosts: readonly string[] = [],
): { ok: true; host: string; literal: boolean } | { ok: false; reason: string } {
  let host = hostname.toLowerCase();
  if (host.startsWith("[")) {
    const groups = parseIPv6(host);
    if (!groups) return { ok: false, reason: `${hostname} is not a valid IPv6 address` };
    const reason = classifyIPv6(groups);
    return reason
      ? { ok: false, reason: `${hostname}: ${reason}` }
      : { ok: true, host: host.slice(1, -1), literal: true };
  }
  host = host.replace(/\.+$/, "");
  if (host === "") return { ok: false, reason: "the URL has no host" };
  if (host.includes(":")) {
    const groups = parseIPv6(host);
    if (!groups) return { ok: false, reason: `${hostname} is not a valid host` };
    const reason = classifyIPv6(groups);
    return reason
      ? { ok: false, reason: `${hostname}: ${reason}` }
      : { ok: true, host, literal: true };
  }
  if (looksLikeIPv4(host)) {
    const address = parseIPv4(host);
    if (address === null) return { ok: false, reason: `${hostname} is not a valid IPv4 address` };
    const reason = classifyIPv4(address);
    const dotted = formatIPv4(address);
    const shown = dotted === host ? host : `${hostname} (${dotted})`;
    return reason
      ? { ok: false, reason: `${shown}: ${reason}` }
      : { ok: true, host: dotted, literal: true };
  }
  if (METADATA_NAMES.has(host)) {
    return { ok: false, reason: `${hostname} is a cloud metadata hostname` };
  }
  for (const [suffix, reason] of PRIVATE_SUFFIXES) {
    if (host === suffix || host.endsWith(`.${suffix}`)) {
      return { ok: false, reason: `${hostname}: ${reason}, not a public host` };
    }
  }
  if (!host.includes(".")) {
    return { ok: false, reason: `${hostname} is a single-label name, not a public host` };
  }
  if (selfHosts.some((self) => self.toLowerCase().replace(/\.+$/, "") === host)) {
    return { ok: false, reason: `${hostname} is this gateway's own host` };
  }
  return { ok: true, host, literal: false };
}

/**
 * Whether a webhook URL may be called: https only, no credentials in the URL, and a
 * host that `classifyHost` accepts. Parse with the WHATWG parser (as fetch does), so
 * every encoded IPv4 form (`2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`) is judged as
 * the address fetch would reach.
 */
export function checkUrl(raw: string, policy: UrlPolicy = {}): UrlCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "not a valid absolute URL" };
  }
  if (url.username || url.password) {
    return { ok: false, reason: "credentials (userinfo) in the URL are not allowed" };
  }
  const allowed = (policy.allowedHosts ?? []).map((h) => h.trim().toLowerCase());
  if ((url.protocol === "https:" || url.protocol === "http:") && allowed.includes(hostPort(url))) {
    return { ok: true, host: url.hostname, literal: false, allowlisted: true };
  }
  if (url.protocol !== "https:") {
    return { ok: false, reason: `only https URLs are allowed, not ${url.protocol.slice(0, -1)}` };
  }
  const host = classifyHost(url.hostname, policy.selfHosts);
  return host.ok ? { ...host, allowlisted: false } : host;
}
