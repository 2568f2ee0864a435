import { describe, expect, it } from "vitest";
import {
  type ContentOptions,
  type ContentPolicy,
  type ContentRule,
  checkContent,
  contentPolicySchema,
  DEFAULT_CONTENT_POLICY,
  truncateToSegments,
  URL_SHORTENERS,
} from "../../src/domain/content-rules";
import { analyzeBody } from "../../src/domain/encoding";
import { mulberry32 } from "./seeded-random";

const a = (n: number) => "a".repeat(n);
const zhe = (n: number) => "ж".repeat(n); // 1 UTF-16 unit, forces UCS-2
const EMOJI = "😀"; // surrogate pair

const policy = (override: Partial<ContentPolicy> = {}): ContentPolicy => ({
  ...DEFAULT_CONTENT_POLICY,
  ...override,
});

function violationOf(
  body: string,
  override: Partial<ContentPolicy> = {},
  options?: ContentOptions,
) {
  const result = checkContent(body, policy(override), options);
  return result.ok ? undefined : result.violation;
}

describe("contentPolicySchema", () => {
  it("accepts an empty override and a full one", () => {
    expect(contentPolicySchema.parse({})).toEqual({});
    const full = {
      maxChars: 320,
      maxSegments: 2,
      maxUrls: 0,
      blockShorteners: false,
      spamPatterns: ["free\\s+money", "\\bwin(ner)?\\b", "\\p{Emoji_Presentation}{5}"],
    };
    expect(contentPolicySchema.parse(full)).toEqual(full);
  });

  it.each([
    ["an unknown field", { maxLinks: 1 }],
    ["maxChars above the providers' 1,600", { maxChars: 1601 }],
    ["maxChars 0", { maxChars: 0 }],
    ["fractional maxSegments", { maxSegments: 1.5 }],
    ["maxSegments 0", { maxSegments: 0 }],
    ["negative maxUrls", { maxUrls: -1 }],
    ["a non-boolean blockShorteners", { blockShorteners: "yes" }],
    ["an invalid regex", { spamPatterns: ["(unclosed"] }],
    ["a regex invalid in unicode mode", { spamPatterns: ["\\-"] }],
    ["a pattern matching the empty body", { spamPatterns: ["x*"] }],
    ["an empty pattern", { spamPatterns: [""] }],
    ["a pattern over 200 characters", { spamPatterns: [a(201)] }],
    ["51 patterns", { spamPatterns: Array.from({ length: 51 }, (_, i) => `p${i}`) }],
  ])("rejects %s", (_name, override) => {
    expect(contentPolicySchema.safeParse(override).success).toBe(false);
  });

  it("accepts 50 patterns of 200 characters", () => {
    const spamPatterns = Array.from({ length: 50 }, (_, i) => `${i}`.padEnd(200, "x"));
    expect(contentPolicySchema.safeParse({ spamPatterns }).success).toBe(true);
  });
});

interface ViolationCase {
  name: string;
  body: string;
  override?: Partial<ContentPolicy>;
  options?: ContentOptions;
  rule: ContentRule;
  offending: string;
}

const violationCases: ViolationCase[] = [
  // control_characters: the first offender, as code point and character index
  { name: "BEL", body: "Hi\u0007there", rule: "control_characters", offending: "U+0007 at 2" },
  { name: "NUL", body: "\u0000", rule: "control_characters", offending: "U+0000 at 0" },
  { name: "TAB", body: "a\tb", rule: "control_characters", offending: "U+0009 at 1" },
  { name: "form feed", body: "a\fb", rule: "control_characters", offending: "U+000C at 1" },
  { name: "raw ESC", body: "\u001b[31m", rule: "control_characters", offending: "U+001B at 0" },
  { name: "DEL", body: "x\u007f", rule: "control_characters", offending: "U+007F at 1" },
  { name: "C1 control", body: "x\u0085", rule: "control_characters", offending: "U+0085 at 1" },
  {
    name: "zero-width space",
    body: "fr\u200bee",
    rule: "control_characters",
    offending: "U+200B at 2",
  },
  {
    name: "ZWNJ in Latin text",
    body: "fr\u200cee",
    rule: "control_characters",
    offending: "U+200C at 2",
  },
  {
    name: "ZWJ in Latin text",
    body: "fr\u200dee",
    rule: "control_characters",
    offending: "U+200D at 2",
  },
  {
    name: "ZWJ at the end",
    body: `${EMOJI}\u200d`,
    rule: "control_characters",
    offending: "U+200D at 1",
  },
  { name: "LRM", body: "a\u200eb", rule: "control_characters", offending: "U+200E at 1" },
  { name: "RLO", body: "\u202egnp.exe", rule: "control_characters", offending: "U+202E at 0" },
  { name: "RLI", body: "a\u2067b", rule: "control_characters", offending: "U+2067 at 1" },
  { name: "BOM", body: "\ufeffHi", rule: "control_characters", offending: "U+FEFF at 0" },
  {
    name: "index counts an emoji as one character",
    body: `${EMOJI}${EMOJI}\u0007`,
    rule: "control_characters",
    offending: "U+0007 at 2",
  },
  {
    name: "the first of several offenders",
    body: "a\u200bb\u0007",
    rule: "control_characters",
    offending: "U+200B at 1",
  },

  // too_many_urls: the first link over the limit
  {
    name: "three links, two allowed",
    body: "https://a.example.com/1 and www.b.org and c.net/x",
    rule: "too_many_urls",
    offending: "c.net/x",
  },
  {
    name: "one link when none are allowed",
    body: "Pay at https://pay.example.com/i/123.",
    override: { maxUrls: 0 },
    rule: "too_many_urls",
    offending: "https://pay.example.com/i/123",
  },

  // url_shortener: the shortened link
  {
    name: "bit.ly",
    body: "Claim: https://bit.ly/3xYz",
    rule: "url_shortener",
    offending: "https://bit.ly/3xYz",
  },
  {
    name: "bare shortener",
    body: "see tinyurl.com/abc!",
    rule: "url_shortener",
    offending: "tinyurl.com/abc",
  },
  { name: "upper case", body: "HTTP://T.CO/x", rule: "url_shortener", offending: "HTTP://T.CO/x" },
  {
    name: "upper-case bare with a path",
    body: "BIT.LY/abc",
    rule: "url_shortener",
    offending: "BIT.LY/abc",
  },
  { name: "subdomain", body: "www.bit.ly/x", rule: "url_shortener", offending: "www.bit.ly/x" },
  {
    name: "host after user info",
    body: "https://example.com@rb.gy/x",
    rule: "url_shortener",
    offending: "https://example.com@rb.gy/x",
  },
  {
    name: "a later link",
    body: "example.com then lnkd.in/abc",
    rule: "url_shortener",
    offending: "lnkd.in/abc",
  },

  // spam_pattern: the matched text
  {
    name: "case-insensitive match",
    body: "You are a WINNER, reply now",
    override: { spamPatterns: ["\\bwinner\\b"] },
    rule: "spam_pattern",
    offending: "WINNER",
  },
  {
    name: "the first pattern that matches",
    body: "Free money! Act now",
    override: { spamPatterns: ["lottery", "act\\s+now", "free\\s+money"] },
    rule: "spam_pattern",
    offending: "Act now",
  },

  // length
  {
    name: "more characters than maxChars",
    body: a(1601),
    rule: "body_too_long",
    offending: "1601 characters",
  },
  {
    name: "maxChars counts an emoji once",
    body: EMOJI.repeat(11),
    override: { maxChars: 10, maxSegments: 99 },
    rule: "body_too_long",
    offending: "11 characters",
  },
  {
    name: "more segments than the policy allows",
    body: a(307),
    override: { maxSegments: 2 },
    rule: "too_many_segments",
    offending: "3 segments (GSM-7)",
  },
  {
    name: "an escape char at a boundary costs the extra segment",
    body: `${a(152)}€${a(152)}`,
    override: { maxSegments: 2 },
    rule: "too_many_segments",
    offending: "3 segments (GSM-7)",
  },
  {
    name: "more segments than the request allows",
    body: zhe(71),
    options: { maxSegments: 1 },
    rule: "too_many_segments",
    offending: "2 segments (UCS-2)",
  },
  {
    name: "the request cannot raise the policy's limit",
    body: a(161),
    override: { maxSegments: 1 },
    options: { maxSegments: 5 },
    rule: "too_many_segments",
    offending: "2 segments (GSM-7)",
  },

  // order: the first rule wins
  {
    name: "control characters before links",
    body: "\u0007 bit.ly/x",
    rule: "control_characters",
    offending: "U+0007 at 0",
  },
  {
    name: "link count before shorteners",
    body: "bit.ly/1 bit.ly/2 bit.ly/3",
    rule: "too_many_urls",
    offending: "bit.ly/3",
  },
  {
    name: "shorteners before spam",
    body: "win at bit.ly/x",
    override: { spamPatterns: ["win"] },
    rule: "url_shortener",
    offending: "bit.ly/x",
  },
  {
    name: "spam before length, even when truncating",
    body: `${a(400)} free money`,
    override: { spamPatterns: ["free money"], maxSegments: 1 },
    options: { truncate: true },
    rule: "spam_pattern",
    offending: "free money",
  },
  {
    name: "smart encoding first: a hidden character no longer hides the spam",
    body: "fr\u200bee money",
    override: { spamPatterns: ["free money"] },
    options: { smartEncoding: true },
    rule: "spam_pattern",
    offending: "free money",
  },
];

describe("checkContent violations", () => {
  it.each(violationCases)("$rule: $name", ({ body, override, options, rule, offending }) => {
    const violation = violationOf(body, override, options);
    expect(violation).toMatchObject({ rule, offending });
    expect(violation?.message).toEqual(expect.any(String));
  });
});

describe("checkContent accepts", () => {
  it.each([
    ["plain text", "Your code is 123456"],
    ["line breaks", "line 1\nline 2\r\nline 3"],
    ["emoji ZWJ sequences", "👩‍💻 🏳️‍🌈 👨🏽‍🦰 🏃‍♂️"],
    ["ZWNJ in Persian", "می‌خواهم"],
    ["ZWJ in Devanagari", "क्‍ष"],
    ["an e-mail address", "Write to help@example.com or a.b@c.org"],
    ["a missing space after a full stop", "Thanks.It was great.So long"],
    ["numbers, abbreviations and file names", "v1.2 is 3.14 e.g. report.pdf at 5 p.m."],
    ["a longer word starting with a TLD", "example.community"],
    ["two links, the default limit", "https://a.example.com and b.example.org/x"],
    ["a shortener-like suffix", "https://notbit.ly/x and mybit.ly"],
    ["a shortener as a path", "https://example.com/bit.ly/x"],
    ["a shortener in user info", "https://bit.ly@example.com/x"],
  ])("%s", (_name, body) => {
    expect(checkContent(body, DEFAULT_CONTENT_POLICY)).toEqual({
      ok: true,
      body,
      truncated: false,
      droppedSegments: 0,
      replacements: [],
      segmentsSaved: 0,
    });
  });

  it("shorteners when blockShorteners is off", () => {
    expect(checkContent("https://bit.ly/x", policy({ blockShorteners: false })).ok).toBe(true);
  });

  it("exactly maxUrls links", () => {
    expect(checkContent("a.com b.com", policy({ maxUrls: 2 })).ok).toBe(true);
  });

  it("exactly maxChars characters and maxSegments segments", () => {
    expect(checkContent(a(306), policy({ maxChars: 306, maxSegments: 2 })).ok).toBe(true);
  });

  it("a body that spam patterns do not match", () => {
    expect(checkContent("Meeting at 5", policy({ spamPatterns: ["free money"] })).ok).toBe(true);
  });
});

describe("what counts as a link", () => {
  // With maxUrls 0, the first link found is the offending part.
  it.each([
    [
      "https URL, trailing full stop trimmed",
      "Go to https://example.com/a.",
      "https://example.com/a",
    ],
    ["http URL with query", "http://example.com/?a=1&b=2, then", "http://example.com/?a=1&b=2"],
    ["www without scheme", "see www.Example.org!", "www.Example.org"],
    ["bare domain with path and query", "go to example.com/path?x=1, ok", "example.com/path?x=1"],
    ["bare domain with port", "sub.example.co.uk:8443/x", "sub.example.co.uk:8443/x"],
    ["closing parenthesis around the link trimmed", "(see x.com)", "x.com"],
    [
      "parenthesis inside the link kept",
      "wiki: https://en.wikipedia.org/wiki/Mercury_(planet)",
      "https://en.wikipedia.org/wiki/Mercury_(planet)",
    ],
    ["after a comma", "Hi,bit.ly/x", "bit.ly/x"],
    ["IP literal with scheme", "http://[::1]:80/x", "http://[::1]:80/x"],
    ["IDN with scheme", "https://пример.рф/путь", "https://пример.рф/путь"],
    ["lower-case English-word TLD", "ok.no", "ok.no"],
  ])("%s", (_name, body, link) => {
    expect(violationOf(body, { maxUrls: 0 })).toMatchObject({
      rule: "too_many_urls",
      offending: link,
    });
  });

  it.each([
    ["no TLD", "localhost:8080"],
    ["IDN without scheme", "пример.рф"],
    ["upper-case TLD without a path", "Done.No problem"],
  ])("not %s", (_name, body) => {
    expect(checkContent(body, policy({ maxUrls: 0 })).ok).toBe(true);
  });

  it("every shortener in the list is recognised bare, with a scheme and on a subdomain", () => {
    for (const host of URL_SHORTENERS) {
      for (const link of [
        `${host}/abc`,
        `https://${host}/abc`,
        `https://go.${host.toUpperCase()}/abc`,
      ]) {
        expect(violationOf(`Tap ${link} now`)).toEqual({
          rule: "url_shortener",
          message: expect.any(String),
          offending: link,
        });
      }
    }
  });
});

describe("checkContent with smart encoding", () => {
  it("reports replacements and the segments they save", () => {
    const body = `“Sale” — 20% off… ${a(130)}`;
    expect(analyzeBody(body).segments).toBe(3);
    const result = checkContent(body, DEFAULT_CONTENT_POLICY, { smartEncoding: true });
    expect(result).toEqual({
      ok: true,
      body: `"Sale" - 20% off... ${a(130)}`,
      truncated: false,
      droppedSegments: 0,
      replacements: [
        { from: "“", to: '"', count: 1 },
        { from: "”", to: '"', count: 1 },
        { from: "—", to: "-", count: 1 },
        { from: "…", to: "...", count: 1 },
      ],
      segmentsSaved: 2,
    });
  });

  it("turns TABs into spaces instead of rejecting them, even at a cost", () => {
    const result = checkContent("\t".repeat(50), DEFAULT_CONTENT_POLICY, { smartEncoding: true });
    // 50 UCS-2 units fit one segment; 350 spaces need three.
    expect(result).toMatchObject({ ok: true, body: " ".repeat(350), segmentsSaved: -2 });
  });

  it("counts the limits on the encoded body", () => {
    const body = `${a(150)}’`; // UCS-2: 3 segments; GSM-7: 1
    expect(violationOf(body, { maxSegments: 1 })?.rule).toBe("too_many_segments");
    expect(checkContent(body, policy({ maxSegments: 1 }), { smartEncoding: true }).ok).toBe(true);
  });

  it("is off unless asked", () => {
    expect(checkContent("“Hi”", DEFAULT_CONTENT_POLICY)).toMatchObject({
      ok: true,
      body: "“Hi”",
      replacements: [],
      segmentsSaved: 0,
    });
  });
});

interface TruncationCase {
  name: string;
  body: string;
  maxSegments: number;
  expected: string;
}

const truncationCases: TruncationCase[] = [
  {
    name: "GSM-7 to 1 segment uses the single capacity",
    body: a(400),
    maxSegments: 1,
    expected: a(160),
  },
  { name: "GSM-7 to 2 segments", body: a(400), maxSegments: 2, expected: a(306) },
  {
    name: "€ straddling the single-message end",
    body: `${a(159)}€${a(50)}`,
    maxSegments: 1,
    expected: a(159),
  },
  {
    name: "€ ending the single message exactly",
    body: `${a(158)}€${a(50)}`,
    maxSegments: 1,
    expected: `${a(158)}€`,
  },
  {
    name: "€ straddling segment 1 moves whole to segment 2",
    body: `${a(152)}€${a(300)}`,
    maxSegments: 2,
    expected: `${a(152)}€${a(151)}`,
  },
  {
    name: "{ straddling the end of segment 2",
    body: `${a(305)}{${a(10)}`,
    maxSegments: 2,
    expected: a(305),
  },
  {
    name: "[ ending segment 2 exactly",
    body: `${a(304)}[${a(10)}`,
    maxSegments: 2,
    expected: `${a(304)}[`,
  },
  { name: "UCS-2 to 1 segment", body: zhe(200), maxSegments: 1, expected: zhe(70) },
  { name: "UCS-2 to 2 segments", body: zhe(200), maxSegments: 2, expected: zhe(134) },
  {
    name: "emoji straddling the single-message end",
    body: `${zhe(69)}${EMOJI}${zhe(5)}`,
    maxSegments: 1,
    expected: zhe(69),
  },
  {
    name: "emoji straddling segment 1 moves whole to segment 2",
    body: `${zhe(66)}${EMOJI}${zhe(100)}`,
    maxSegments: 2,
    expected: `${zhe(66)}${EMOJI}${zhe(65)}`,
  },
  { name: "emoji only", body: EMOJI.repeat(100), maxSegments: 3, expected: EMOJI.repeat(99) },
  {
    name: "a GSM-7 prefix before the first UCS-2 character fits more",
    body: `${a(200)}ж`,
    maxSegments: 1,
    expected: a(160),
  },
];

describe("truncateToSegments", () => {
  it.each(truncationCases)("$name", ({ body, maxSegments, expected }) => {
    const result = truncateToSegments(body, maxSegments);
    expect(result).toEqual({ body: expected, truncated: true });
    expect(analyzeBody(result.body).segments).toBeLessThanOrEqual(maxSegments);
  });

  it("leaves a body that fits alone", () => {
    expect(truncateToSegments(a(306), 2)).toEqual({ body: a(306), truncated: false });
    expect(truncateToSegments("", 1)).toEqual({ body: "", truncated: false });
  });
});

describe("checkContent with truncate", () => {
  it("cuts to the segment limit and reports the dropped segments", () => {
    const result = checkContent(a(1000), policy({ maxSegments: 3 }), { truncate: true });
    expect(result).toEqual({
      ok: true,
      body: a(459),
      truncated: true,
      droppedSegments: 4,
      replacements: [],
      segmentsSaved: 0,
    });
  });

  it("cuts to the request's lower limit", () => {
    const result = checkContent(a(1000), DEFAULT_CONTENT_POLICY, {
      truncate: true,
      maxSegments: 1,
    });
    expect(result).toMatchObject({ ok: true, body: a(160), truncated: true, droppedSegments: 6 });
  });

  it("cuts to maxChars, counting an emoji as one character", () => {
    const result = checkContent(EMOJI.repeat(50), policy({ maxChars: 20 }), { truncate: true });
    // 20 emoji are 40 UTF-16 units: one segment instead of 50 emoji's two.
    expect(result).toMatchObject({
      ok: true,
      body: EMOJI.repeat(20),
      truncated: true,
      droppedSegments: 1,
    });
  });

  it("cuts to maxChars then to segments, whichever is shorter", () => {
    const result = checkContent(a(1000), policy({ maxChars: 200, maxSegments: 1 }), {
      truncate: true,
    });
    expect(result).toMatchObject({ ok: true, body: a(160), truncated: true });
  });

  it("reports no truncation when the body fits", () => {
    expect(checkContent("Hi", DEFAULT_CONTENT_POLICY, { truncate: true })).toMatchObject({
      ok: true,
      body: "Hi",
      truncated: false,
      droppedSegments: 0,
    });
  });

  it("truncates the smart-encoded body", () => {
    const result = checkContent(`“${a(200)}”`, policy({ maxSegments: 1 }), {
      truncate: true,
      smartEncoding: true,
    });
    expect(result).toMatchObject({
      ok: true,
      body: `"${a(159)}`,
      truncated: true,
      segmentsSaved: 2,
    });
  });
});

// Property-style check over seeded random bodies.

// Weighted towards plain GSM-7 so that many bodies stay GSM-7 and escapes land on boundaries.
const ALPHABET = [..."abcdefghij ", ..."€{}[]^|~\\", "ç", "ж", EMOJI, "🇰🇪"];

function randomBody(next: () => number): string {
  const gsmOnly = next() < 0.5;
  const alphabet = gsmOnly ? ALPHABET.slice(0, 20) : ALPHABET;
  const length = Math.floor(next() * 700);
  let body = "";
  for (let i = 0; i < length; i++) body += alphabet[Math.floor(next() * alphabet.length)];
  return body;
}

const segmentsOf = (text: string) => analyzeBody(text).segments;

describe("truncation on random bodies", () => {
  const next = mulberry32(20250807);
  const samples = Array.from({ length: 300 }, () => ({
    body: randomBody(next),
    maxSegments: 1 + Math.floor(next() * 5),
    maxChars: 50 + Math.floor(next() * 600),
  }));

  it("yields the longest prefix within the limit", () => {
    for (const { body, maxSegments } of samples) {
      const { body: cut, truncated } = truncateToSegments(body, maxSegments);
      const chars = Array.from(body);
      const kept = Array.from(cut).length;
      expect(body.startsWith(cut)).toBe(true);
      expect(truncated).toBe(cut !== body);
      expect(segmentsOf(cut)).toBeLessThanOrEqual(maxSegments);
      // Maximal: one more character would not fit.
      if (truncated)
        expect(segmentsOf(chars.slice(0, kept + 1).join(""))).toBeGreaterThan(maxSegments);
    }
  });

  it("agrees with a brute-force scan over every prefix", () => {
    for (const { body, maxSegments } of samples.slice(0, 60)) {
      const chars = Array.from(body);
      let longest = 0;
      for (let n = 0; n <= chars.length; n++) {
        if (segmentsOf(chars.slice(0, n).join("")) <= maxSegments) longest = n;
      }
      expect(truncateToSegments(body, maxSegments).body).toBe(chars.slice(0, longest).join(""));
    }
  });

  it("keeps checkContent within maxChars and the segment limit", () => {
    for (const { body, maxSegments, maxChars } of samples) {
      const result = checkContent(body, policy({ maxChars, maxSegments }), { truncate: true });
      if (!result.ok) throw new Error(`unexpected violation ${result.violation.rule}`);
      expect(body.startsWith(result.body)).toBe(true);
      expect(Array.from(result.body).length).toBeLessThanOrEqual(maxChars);
      expect(segmentsOf(result.body)).toBeLessThanOrEqual(maxSegments);
      expect(result.droppedSegments).toBe(segmentsOf(body) - segmentsOf(result.body));
    }
  });
});
