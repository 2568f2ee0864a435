import { describe, expect, it } from "vitest";
import { analyzeBody, type Encoding, splitSegments } from "../../src/domain/encoding";
import { mulberry32 } from "./seeded-random";

// Independent of the implementation's tables on purpose.
const EXTENSION_CHARS = ["\f", "^", "{", "}", "\\", "[", "~", "]", "|", "€"];
const GSM_BASIC_SAMPLE =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

const a = (n: number) => "a".repeat(n);
const zhe = (n: number) => "ж".repeat(n); // Cyrillic: 1 UTF-16 unit, forces UCS-2
const EMOJI = "😀"; // surrogate pair: 2 UTF-16 units

interface Case {
  name: string;
  body: string;
  encoding: Encoding;
  units: number;
  segments: number;
}

const cases: Case[] = [
  { name: "empty body", body: "", encoding: "GSM-7", units: 0, segments: 0 },
  { name: "plain GSM", body: "Hello world", encoding: "GSM-7", units: 11, segments: 1 },
  { name: "whole basic table", body: GSM_BASIC_SAMPLE, encoding: "GSM-7", units: 127, segments: 1 },
  ...EXTENSION_CHARS.map((char) => ({
    name: `extension char ${JSON.stringify(char)} counts 2`,
    body: char,
    encoding: "GSM-7" as const,
    units: 2,
    segments: 1,
  })),
  {
    name: "all extension chars",
    body: EXTENSION_CHARS.join(""),
    encoding: "GSM-7",
    units: 20,
    segments: 1,
  },
  { name: "euro sign in text", body: "Price: 5€", encoding: "GSM-7", units: 10, segments: 1 },
  { name: "newline and CR", body: "line1\nline2\r\n", encoding: "GSM-7", units: 13, segments: 1 },
  { name: "uppercase Ç is GSM", body: "Ça va", encoding: "GSM-7", units: 5, segments: 1 },
  { name: "lowercase ç forces UCS-2", body: "garçon", encoding: "UCS-2", units: 6, segments: 1 },
  {
    name: "Greek capitals in the table",
    body: "ΔΦΓΛΩΠΨΣΘΞ",
    encoding: "GSM-7",
    units: 10,
    segments: 1,
  },
  {
    name: "Greek capital alpha is not in the table",
    body: "Α",
    encoding: "UCS-2",
    units: 1,
    segments: 1,
  },
  { name: "Greek lowercase", body: "αβγ", encoding: "UCS-2", units: 3, segments: 1 },
  { name: "$ and ¤ are both GSM", body: "$¤", encoding: "GSM-7", units: 2, segments: 1 },
  { name: "backtick is not GSM", body: "`", encoding: "UCS-2", units: 1, segments: 1 },
  { name: "tab is not GSM", body: "a\tb", encoding: "UCS-2", units: 3, segments: 1 },
  { name: "curly apostrophe is not GSM", body: "it’s", encoding: "UCS-2", units: 4, segments: 1 },
  { name: "raw ESC is not a character", body: "\u001b", encoding: "UCS-2", units: 1, segments: 1 },
  { name: "160 GSM chars", body: a(160), encoding: "GSM-7", units: 160, segments: 1 },
  { name: "161 GSM chars", body: a(161), encoding: "GSM-7", units: 161, segments: 2 },
  { name: "306 GSM chars", body: a(306), encoding: "GSM-7", units: 306, segments: 2 },
  { name: "307 GSM chars", body: a(307), encoding: "GSM-7", units: 307, segments: 3 },
  {
    name: "80 euros fill one message",
    body: "€".repeat(80),
    encoding: "GSM-7",
    units: 160,
    segments: 1,
  },
  // 76 euros per part: a 77th would need septets 153-154.
  { name: "81 euros", body: "€".repeat(81), encoding: "GSM-7", units: 162, segments: 2 },
  {
    name: "153 + € fits a single message",
    body: `${a(153)}€`,
    encoding: "GSM-7",
    units: 155,
    segments: 1,
  },
  {
    name: "€ at septet 153 moves to the next part and costs an extra segment",
    body: `${a(152)}€${a(152)}`,
    encoding: "GSM-7",
    units: 306,
    segments: 3,
  },
  { name: "70 UCS-2 units", body: zhe(70), encoding: "UCS-2", units: 70, segments: 1 },
  { name: "71 UCS-2 units", body: zhe(71), encoding: "UCS-2", units: 71, segments: 2 },
  { name: "134 UCS-2 units", body: zhe(134), encoding: "UCS-2", units: 134, segments: 2 },
  { name: "135 UCS-2 units", body: zhe(135), encoding: "UCS-2", units: 135, segments: 3 },
  {
    name: "emoji ending exactly at 70",
    body: `${zhe(68)}${EMOJI}`,
    encoding: "UCS-2",
    units: 70,
    segments: 1,
  },
  {
    name: "emoji straddling unit 67 moves to the next part and costs an extra segment",
    body: `${zhe(66)}${EMOJI}${zhe(66)}`,
    encoding: "UCS-2",
    units: 134,
    segments: 3,
  },
  { name: "single emoji", body: EMOJI, encoding: "UCS-2", units: 2, segments: 1 },
  {
    name: "35 emoji fill one message",
    body: EMOJI.repeat(35),
    encoding: "UCS-2",
    units: 70,
    segments: 1,
  },
  { name: "36 emoji", body: EMOJI.repeat(36), encoding: "UCS-2", units: 72, segments: 2 },
  // 33 emoji (66 units) per part, never 33.5.
  { name: "67 emoji", body: EMOJI.repeat(67), encoding: "UCS-2", units: 134, segments: 3 },
  {
    name: "GSM text with one emoji",
    body: `Hi ${EMOJI}`,
    encoding: "UCS-2",
    units: 5,
    segments: 1,
  },
];

describe("analyzeBody", () => {
  it.each(cases)("$name", ({ body, encoding, units, segments }) => {
    const analysis = analyzeBody(body);
    expect(analysis).toMatchObject({ encoding, units, segments });
    expect(splitSegments(body)).toHaveLength(segments);
  });

  it.each([
    ["single GSM-7", a(10), 160],
    ["concatenated GSM-7", a(161), 153],
    ["single UCS-2", zhe(10), 70],
    ["concatenated UCS-2", zhe(71), 67],
    ["empty", "", 160],
  ])("reports the per-segment capacity for %s", (_name, body, perSegment) => {
    expect(analyzeBody(body).perSegment).toBe(perSegment);
  });
});

describe("splitSegments", () => {
  it("returns the whole body when it fits one message", () => {
    expect(splitSegments("Hello")).toEqual(["Hello"]);
  });

  it("returns no parts for an empty body", () => {
    expect(splitSegments("")).toEqual([]);
  });

  it("moves an extension char that does not fit to the next part", () => {
    expect(splitSegments(`${a(152)}€${a(152)}`)).toEqual([a(152), `€${a(151)}`, "a"]);
  });

  it("keeps a surrogate pair together", () => {
    expect(splitSegments(`${zhe(66)}${EMOJI}${zhe(66)}`)).toEqual([
      zhe(66),
      `${EMOJI}${zhe(65)}`,
      "ж",
    ]);
  });
});

// Property-style check over seeded random bodies.

const GSM_ALPHABET = [...GSM_BASIC_SAMPLE, ...EXTENSION_CHARS];
const MIXED_ALPHABET = [...GSM_ALPHABET, "ç", "ж", "α", EMOJI, "🇰🇪", "’"];

function randomBody(next: () => number, alphabet: string[]): string {
  const length = Math.floor(next() * 400);
  let body = "";
  for (let i = 0; i < length; i++) body += alphabet[Math.floor(next() * alphabet.length)];
  return body;
}

function costOf(char: string, encoding: Encoding): number {
  if (encoding === "UCS-2") return char.length;
  return EXTENSION_CHARS.includes(char) ? 2 : 1;
}

function unitsOf(text: string, encoding: Encoding): number {
  let units = 0;
  for (const char of text) units += costOf(char, encoding);
  return units;
}

describe("splitSegments on random bodies", () => {
  const next = mulberry32(20240601);
  const bodies = Array.from({ length: 1000 }, (_, i) =>
    randomBody(next, i % 2 === 0 ? GSM_ALPHABET : MIXED_ALPHABET),
  );

  it("covers both encodings and multi-part bodies", () => {
    const analyses = bodies.map(analyzeBody);
    expect(analyses.some((x) => x.encoding === "GSM-7" && x.segments > 2)).toBe(true);
    expect(analyses.some((x) => x.encoding === "UCS-2" && x.segments > 2)).toBe(true);
  });

  it("packs every body into parts that rejoin, fit, and are as full as possible", () => {
    for (const body of bodies) {
      const { encoding, segments, units } = analyzeBody(body);
      const parts = splitSegments(body);
      expect(parts.join("")).toBe(body);
      expect(parts).toHaveLength(segments);
      expect(parts.reduce((sum, part) => sum + unitsOf(part, encoding), 0)).toBe(units);

      const limit =
        parts.length > 1 ? (encoding === "GSM-7" ? 153 : 67) : encoding === "GSM-7" ? 160 : 70;
      parts.forEach((part, i) => {
        expect(part).not.toBe("");
        expect(unitsOf(part, encoding)).toBeLessThanOrEqual(limit);
        // A part only ends early when the next character would not fit.
        const following = parts[i + 1];
        if (following !== undefined) {
          const [firstChar = ""] = following;
          expect(unitsOf(part, encoding) + costOf(firstChar, encoding)).toBeGreaterThan(limit);
          // No surrogate pair is cut.
          expect(part.at(-1)).not.toMatch(/[\uD800-\uDBFF]/);
        }
      });
    }
  });
});
