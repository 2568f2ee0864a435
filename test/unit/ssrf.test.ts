import { describe, expect, it } from "vitest";
import {
  checkUrl,
  classifyAddress,
  classifyHost,
  parseIPv4,
  parseIPv6,
} from "../../src/domain/ssrf";

const policy = { selfHosts: ["gateway.example.com"] };

/** [url, a word the refusal's reason must contain] */
const REFUSED_URLS: [string, string][] = [
  // scheme and userinfo
  ["http://example.com/hook", "https"],
  ["ftp://example.com/hook", "https"],
  ["ws://example.com/hook", "https"],
  ["file:///etc/passwd", "https"],
  ["javascript:alert(1)", "https"],
  ["https://user:pass@example.com/hook", "userinfo"],
  ["https://user@example.com/hook", "userinfo"],
  ["https://:pass@example.com/hook", "userinfo"],
  ["not a url", "valid"],
  ["/relative/path", "valid"],
  // IPv4 literals, every class
  ["https://127.0.0.1/", "loopback"],
  ["https://127.255.255.254/", "loopback"],
  ["https://0.0.0.0/", "unspecified"],
  ["https://0.1.2.3/", "this network"],
  ["https://10.0.0.1/", "private"],
  ["https://10.255.255.255/", "private"],
  ["https://172.16.0.1/", "private"],
  ["https://172.31.255.255/", "private"],
  ["https://192.168.1.1/", "private"],
  ["https://100.64.0.1/", "carrier-grade NAT"],
  ["https://100.127.255.255/", "carrier-grade NAT"],
  ["https://169.254.0.1/", "link-local"],
  ["https://169.254.169.254/latest/meta-data/", "metadata"],
  ["https://100.100.100.200/", "metadata"],
  ["https://192.0.0.192/", "reserved"],
  ["https://192.0.2.1/", "documentation"],
  ["https://198.51.100.7/", "documentation"],
  ["https://203.0.113.9/", "documentation"],
  ["https://198.18.0.1/", "benchmarking"],
  ["https://192.88.99.1/", "6to4 relay"],
  ["https://224.0.0.1/", "multicast"],
  ["https://239.255.255.250/", "multicast"],
  ["https://240.0.0.1/", "reserved"],
  ["https://255.255.255.255/", "broadcast"],
  // encoded IPv4 forms the URL parser accepts
  ["https://2130706433/", "loopback"],
  ["https://0x7f000001/", "loopback"],
  ["https://0x7f.1/", "loopback"],
  ["https://0177.0.0.1/", "loopback"],
  ["https://0177.1/", "loopback"],
  ["https://127.1/", "loopback"],
  ["https://127.0.1/", "loopback"],
  ["https://0x7F.0x0.0x0.0x1/", "loopback"],
  ["https://017700000001/", "loopback"],
  ["https://0/", "unspecified"],
  ["https://0x0/", "unspecified"],
  ["https://3232235777/", "private"], // 192.168.1.1
  ["https://0xa9fea9fe/", "metadata"], // 169.254.169.254
  ["https://0251.0376.0251.0376/", "metadata"],
  ["https://127.0.0.1./", "loopback"],
  ["https://%31%32%37.0.0.1/", "loopback"], // percent-encoded host
  ["https://127。0。0。1/", "loopback"], // ideographic full stops
  ["https://１２７.0.0.1/", "loopback"], // full-width digits
  // IPv6 literals
  ["https://[::1]/", "loopback"],
  ["https://[0:0:0:0:0:0:0:1]/", "loopback"],
  ["https://[::]/", "unspecified"],
  ["https://[::ffff:127.0.0.1]/", "loopback"],
  ["https://[::ffff:7f00:1]/", "loopback"],
  ["https://[::ffff:10.1.2.3]/", "private"],
  ["https://[::ffff:169.254.169.254]/", "metadata"],
  ["https://[0:0:0:0:0:ffff:192.168.0.1]/", "private"],
  ["https://[::127.0.0.1]/", "IPv4-compatible"],
  ["https://[::8.8.8.8]/", "IPv4-compatible"],
  ["https://[64:ff9b::127.0.0.1]/", "NAT64"],
  ["https://[64:ff9b::a00:1]/", "NAT64"],
  ["https://[64:ff9b::169.254.169.254]/", "metadata"],
  ["https://[64:ff9b:1::1]/", "NAT64"],
  ["https://[2002:7f00:1::]/", "6to4"],
  ["https://[2002:c0a8:101::1]/", "6to4"],
  ["https://[fc00::1]/", "unique-local"],
  ["https://[fd12:3456:789a::1]/", "unique-local"],
  ["https://[fd00:ec2::254]/", "metadata"],
  ["https://[fe80::1]/", "link-local"],
  ["https://[febf:ffff::1]/", "link-local"],
  ["https://[fec0::1]/", "site-local"],
  ["https://[ff02::1]/", "multicast"],
  ["https://[ff05::1:3]/", "multicast"],
  ["https://[2001:db8::1]/", "documentation"],
  ["https://[3fff::1]/", "documentation"],
  ["https://[2001::1]/", "Teredo"],
  ["https://[2001:10::1]/", "reserved"],
  ["https://[100::1]/", "reserved"],
  ["https://[::ffff:0:7f00:1]/", "reserved"],
  ["https://[5f00::1]/", "reserved"],
  // names
  ["https://localhost/", "localhost"],
  ["https://LOCALHOST/", "localhost"],
  ["https://localhost./", "localhost"],
  ["https://api.localhost/", "localhost"],
  ["https://a.b.localhost:8443/", "localhost"],
  ["https://metadata.google.internal/computeMetadata/v1/", "metadata"],
  ["https://metadata.google.internal./", "metadata"],
  ["https://metadata/", "metadata"],
  ["https://instance-data.ec2.internal/", "metadata"],
  ["https://service.internal/", ".internal"],
  ["https://printer.local/", ".local"],
  ["https://router.home.arpa/", ".home.arpa"],
  ["https://1.0.0.127.in-addr.arpa/", ".arpa"],
  ["https://box.localdomain/", ".localdomain"],
  ["https://hidden.onion/", ".onion"],
  ["https://intranet/", "single-label"],
  ["https://gateway.example.com/hooks", "own host"],
  ["https://GATEWAY.example.com./hooks", "own host"],
];

const ALLOWED_URLS: [string, string][] = [
  ["https://example.com/hook", "example.com"],
  ["https://hooks.example.com:8443/path?q=1", "hooks.example.com"],
  ["https://EXAMPLE.com./hook", "example.com"],
  ["https://93.184.216.34/hook", "93.184.216.34"],
  ["https://8.8.8.8/", "8.8.8.8"],
  ["https://0x5db8d822/", "93.184.216.34"],
  ["https://1.1.1.1/", "1.1.1.1"],
  ["https://172.32.0.1/", "172.32.0.1"], // just past 172.16/12
  ["https://100.128.0.1/", "100.128.0.1"], // just past 100.64/10
  ["https://192.169.0.1/", "192.169.0.1"],
  ["https://[2606:4700:4700::1111]/", "2606:4700:4700::1111"],
  ["https://[2001:4860:4860::8888]/", "2001:4860:4860::8888"],
  ["https://[::ffff:8.8.8.8]/", "::ffff:808:808"], // mapped public v4 reaches 8.8.8.8
  ["https://[64:ff9b::8.8.8.8]/", "64:ff9b::808:808"], // NAT64 of a public v4
  ["https://[2002:808:808::1]/", "2002:808:808::1"], // 6to4 of a public v4
  ["https://bücher.example/", "xn--bcher-kva.example"],
  ["https://localhost.example.com/", "localhost.example.com"],
  ["https://gateway.example.com.evil.com/", "gateway.example.com.evil.com"],
];

describe("checkUrl refuses", () => {
  it.each(REFUSED_URLS)("%s (%s)", (url, word) => {
    const check = checkUrl(url, policy);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.reason.toLowerCase()).toContain(word.toLowerCase());
  });
});

describe("checkUrl allows public hosts", () => {
  it.each(ALLOWED_URLS)("%s", (url, host) => {
    const check = checkUrl(url, policy);
    expect(check).toMatchObject({ ok: true, host, allowlisted: false });
  });

  it("marks IP literals as needing no lookup, names as needing one", () => {
    expect(checkUrl("https://8.8.8.8/")).toMatchObject({ ok: true, literal: true });
    expect(checkUrl("https://example.com/")).toMatchObject({ ok: true, literal: false });
  });
});

describe("the WHATWG URL parser normalizes the encoded forms we judge", () => {
  it.each([
    ["http://2130706433/", "127.0.0.1"],
    ["http://0x7f.1/", "127.0.0.1"],
    ["http://0177.0.0.1/", "127.0.0.1"],
    ["http://127.1/", "127.0.0.1"],
    ["http://[::ffff:127.0.0.1]/", "[::ffff:7f00:1]"],
    ["http://[64:ff9b::10.0.0.1]/", "[64:ff9b::a00:1]"],
  ])("%s → %s", (url, hostname) => {
    expect(new URL(url).hostname).toBe(hostname);
  });

  it("rejects what is not a valid IPv4 address", () => {
    expect(() => new URL("http://1.2.3.256/")).toThrow();
    expect(checkUrl("https://1.2.3.256/").ok).toBe(false);
  });
});

describe("the allowlist (tests and local development only)", () => {
  const dev = { allowedHosts: ["127.0.0.1:8787", "localhost:3000", "[::1]:9000"] };

  it.each([
    "http://127.0.0.1:8787/sink",
    "https://127.0.0.1:8787/sink",
    "http://localhost:3000/x",
    "http://[::1]:9000/",
  ])("lets %s through", (url) => {
    expect(checkUrl(url, dev)).toMatchObject({ ok: true, allowlisted: true });
  });

  it.each([
    "http://127.0.0.1:8788/",
    "http://127.0.0.1/",
    "http://localhost:3001/",
    "https://localhost/",
  ])("is exact about host and port: %s is refused", (url) => {
    expect(checkUrl(url, dev).ok).toBe(false);
  });

  it("never lets credentials through", () => {
    expect(checkUrl("http://u:p@127.0.0.1:8787/", dev).ok).toBe(false);
  });
});

describe("classifyHost without the URL parser (defence in depth)", () => {
  it.each([
    ["2130706433", "loopback"],
    ["0x7f.1", "loopback"],
    ["0177.0.0.1", "loopback"],
    ["127.1", "loopback"],
    ["0x7f.0.0.1.", "loopback"],
    ["::ffff:127.0.0.1", "loopback"],
    ["[::1]", "loopback"],
    ["1.2.3.256", "not a valid"],
    ["08.0.0.1", "not a valid"],
    ["0x1.0x2.0x3.0x4.5", "not a valid"],
  ])("%s", (host, word) => {
    const check = classifyHost(host);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.reason).toContain(word);
  });
});

describe("classifyAddress (DNS answers)", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["10.20.30.40", "private"],
    ["172.20.0.1", "private"],
    ["192.168.0.10", "private"],
    ["100.64.1.1", "carrier-grade NAT"],
    ["169.254.169.254", "metadata"],
    ["169.254.1.1", "link-local"],
    ["0.0.0.0", "unspecified"],
    ["224.0.0.251", "multicast"],
    ["::1", "loopback"],
    ["::", "unspecified"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:a9fe:a9fe", "metadata"],
    ["64:ff9b::192.168.1.1", "private"],
    ["fd00::1", "unique-local"],
    ["fe80::abcd", "link-local"],
    ["ff02::fb", "multicast"],
    ["not-an-ip", "not an IP"],
    ["", "not an IP"],
  ])("%s is refused (%s)", (address, word) => {
    expect(classifyAddress(address)).toContain(word);
  });

  it.each([
    "93.184.216.34",
    "8.8.8.8",
    "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
    "2a00:1450:4001:82b::200e",
  ])("%s is public", (address) => {
    expect(classifyAddress(address)).toBeNull();
  });
});

describe("address parsers", () => {
  it("parses every IPv4 form to the same number", () => {
    for (const form of ["127.0.0.1", "2130706433", "0x7f000001", "0x7f.1", "0177.0.0.1", "127.1"]) {
      expect(parseIPv4(form)).toBe(0x7f000001);
    }
    expect(parseIPv4("256.0.0.1")).toBeNull();
    expect(parseIPv4("1.2.3.4.5")).toBeNull();
    expect(parseIPv4("4294967296")).toBeNull();
    expect(parseIPv4("example.com")).toBeNull();
  });

  it("parses IPv6 with compression and a dotted tail", () => {
    expect(parseIPv6("::1")).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    expect(parseIPv6("[::ffff:1.2.3.4]")).toEqual([0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]);
    expect(parseIPv6("2001:db8::")).toEqual([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]);
    expect(parseIPv6("1:2:3:4:5:6:7:8")).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const bad of ["1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "fe80::1%eth0", "::g", ":::"]) {
      expect(parseIPv6(bad)).toBeNull();
    }
  });
});
