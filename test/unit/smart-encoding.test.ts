import { describe, expect, it } from "vitest";
import { analyzeBody } from "../../src/domain/encoding";
import { smartEncode } from "../../src/domain/smart-encoding";

const GSM_TEXT =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà" +
  "\f^{}\\[~]|€";

describe("smartEncode replacements", () => {
  it.each([
    [
      "curly double quotes",
      "“Hi”",
      '"Hi"',
      [
        ["“", '"', 1],
        ["”", '"', 1],
      ],
    ],
    ["curly apostrophe", "it’s", "it's", [["’", "'", 1]]],
    [
      "guillemets",
      "«oui»",
      '"oui"',
      [
        ["«", '"', 1],
        ["»", '"', 1],
      ],
    ],
    [
      "en and em dash",
      "9–5 — daily",
      "9-5 - daily",
      [
        ["–", "-", 1],
        ["—", "-", 1],
      ],
    ],
    ["ellipsis becomes three dots", "wait…", "wait...", [["…", "...", 1]]],
    ["bullet", "• one", "- one", [["•", "-", 1]]],
    ["NBSP becomes two spaces", "10\u00a0kg", "10  kg", [["\u00a0", "  ", 1]]],
    ["TAB becomes seven spaces", "a\tb", "a       b", [["\t", "       ", 1]]],
    ["zero-width space is dropped", "fr\u200bee", "free", [["\u200b", "", 1]]],
    ["BOM is dropped", "\ufeffHi", "Hi", [["\ufeff", "", 1]]],
    [
      "fullwidth letters and digits",
      "ＳＭＳ１",
      "SMS1",
      [
        ["Ｓ", "S", 2],
        ["Ｍ", "M", 1],
        ["１", "1", 1],
      ],
    ],
    [
      "small capitals",
      "ᴀʙᴄ",
      "ABC",
      [
        ["ᴀ", "A", 1],
        ["ʙ", "B", 1],
        ["ᴄ", "C", 1],
      ],
    ],
    ["vulgar fraction", "½ off", "1/2 off", [["½", "1/2", 1]]],
    ["double exclamation", "Go‼", "Go!!", [["‼", "!!", 1]]],
    [
      "fullwidth brace becomes a GSM extension char",
      "｛x｝",
      "{x}",
      [
        ["｛", "{", 1],
        ["｝", "}", 1],
      ],
    ],
    ["backtick", "`ls`", "'ls'", [["`", "'", 2]]],
    [
      "single angle quotes become the sign they look like",
      "‹a›",
      "<a>",
      [
        ["‹", "<", 1],
        ["›", ">", 1],
      ],
    ],
  ] as const)("%s", (_name, body, expected, replacements) => {
    const result = smartEncode(body);
    expect(result.body).toBe(expected);
    expect(result.replacements).toEqual(
      replacements.map(([from, to, count]) => ({ from, to, count })),
    );
    expect(analyzeBody(result.body).encoding).toBe("GSM-7");
  });

  it("lists replacements in order of first occurrence, with counts", () => {
    const result = smartEncode("‘a’ — “b” ‘c’…");
    expect(result.body).toBe("'a' - \"b\" 'c'...");
    expect(result.replacements).toEqual([
      { from: "‘", to: "'", count: 2 },
      { from: "’", to: "'", count: 2 },
      { from: "—", to: "-", count: 1 },
      { from: "“", to: '"', count: 1 },
      { from: "”", to: '"', count: 1 },
      { from: "…", to: "...", count: 1 },
    ]);
  });

  it("saves segments: a stray curly apostrophe no longer forces UCS-2", () => {
    const body = `We’re open today from 9 to 5. ${"x".repeat(120)}`;
    expect(analyzeBody(body)).toMatchObject({ encoding: "UCS-2", segments: 3 });
    const result = smartEncode(body);
    expect(analyzeBody(result.body)).toMatchObject({ encoding: "GSM-7", segments: 1 });
  });
});

describe("smartEncode leaves a body alone", () => {
  it.each([
    ["plain ASCII", "Hello, world! Your code is 123456."],
    ["the whole GSM-7 alphabet, extension table included", GSM_TEXT],
    ["empty", ""],
  ])("%s", (_name, body) => {
    expect(smartEncode(body)).toEqual({ body, replacements: [] });
  });

  it.each([
    ["an emoji", "“Hi” 😀"],
    ["Cyrillic", "“Привет”"],
    ["a lowercase ç", "“garçon”"],
  ])("when %s keeps it UCS-2 anyway (all or nothing, like Twilio)", (_name, body) => {
    expect(smartEncode(body)).toEqual({ body, replacements: [] });
  });
});

describe("the replacement table", () => {
  const bmp = Array.from({ length: 0x10000 }, (_, cp) => cp)
    .filter((cp) => cp < 0xd800 || cp > 0xdfff)
    .map((cp) => String.fromCharCode(cp));

  it("never touches a GSM-7 character", () => {
    const gsm = bmp.filter((char) => analyzeBody(char).encoding === "GSM-7");
    expect(gsm).toHaveLength([...GSM_TEXT].length);
    for (const char of gsm) expect(smartEncode(char).body).toBe(char);
  });

  it("replaces Twilio's 270 characters, each with GSM-7 text", () => {
    const replaced = bmp.filter((char) => smartEncode(char).body !== char);
    expect(replaced).toHaveLength(270);
    for (const char of replaced) {
      expect(analyzeBody(char).encoding).toBe("UCS-2");
      expect(analyzeBody(smartEncode(char).body).encoding).toBe("GSM-7");
    }
  });
});
