/**
 * Content rules for an outgoing message body: hidden characters, links, spam patterns, length.
 *
 * Pure: the policy comes from the caller (validated with `contentPolicySchema` and merged over
 * DEFAULT_CONTENT_POLICY). Rules run in a fixed order on the body that would be sent (after
 * smart encoding, when asked), and the first violation wins, so a rejection names one rule.
 */
import { z } from "zod";
import { analyzeBody } from "./encoding";
import { type Replacement, smartEncode } from "./smart-encoding";

export interface ContentPolicy {
  /** Characters are code points, so an emoji counts once. */
  maxChars: number;
  maxSegments: number;
  maxUrls: number;
  blockShorteners: boolean;
  /** Regular expression sources, matched case-insensitively (flags "iu"). */
  spamPatterns: readonly string[];
}

/** 1,600 characters is Twilio's and AWS's body limit (reference/providers.md §1.1, §4.2). */
const PROVIDER_MAX_CHARS = 1600;

export const DEFAULT_CONTENT_POLICY: ContentPolicy = Object.freeze({
  maxChars: PROVIDER_MAX_CHARS,
  maxSegments: 10,
  maxUrls: 2,
  blockShorteners: true,
  spamPatterns: Object.freeze([]),
});

/**
 * "u" so that patterns can use \p{…} and "." spans a whole emoji; "i" as documented. The same
 * flags are used to validate and to match, so a pattern that passed validation always compiles.
 */
function compilePattern(source: string): RegExp {
  return new RegExp(source, "iu");
}

const spamPatternSchema = z
  .string()
  .min(1)
  .max(200)
  .superRefine((source, ctx) => {
    let pattern: RegExp;
    try {
      pattern = compilePattern(source);
    } catch (error) {
      ctx.addIssue({
        code: "custom",
        message: `is not a valid regular expression: ${(error as Error).message}`,
      });
      return;
    }
    // Such a pattern matches every body, which is never what the author meant.
    if (pattern.test("")) ctx.addIssue({ code: "custom", message: "matches an empty body" });
  });

/** A partial override of DEFAULT_CONTENT_POLICY; absent fields keep their default. */
export const contentPolicySchema = z.strictObject({
  maxChars: z.int().min(1).max(PROVIDER_MAX_CHARS).optional(),
  maxSegments: z.int().min(1).optional(),
  maxUrls: z.int().min(0).optional(),
  blockShorteners: z.boolean().optional(),
  spamPatterns: z.array(spamPatternSchema).max(50).optional(),
});
export type ContentPolicyDocument = z.infer<typeof contentPolicySchema>;

/**
 * Public link shorteners. Carriers filter messages that hide their destination behind one
 * (CTIA and the US 10DLC rules ask senders to use a branded domain instead). Brand-owned short
 * domains such as youtu.be or amzn.to are not in the list: they only lead to their brand.
 */
export const URL_SHORTENERS: readonly string[] = Object.freeze([
  "bit.ly",
  "bitly.com",
  "j.mp",
  "bit.do",
  "tinyurl.com",
  "tiny.cc",
  "t.co",
  "goo.gl",
  "ow.ly",
  "is.gd",
  "v.gd",
  "buff.ly",
  "rebrand.ly",
  "cutt.ly",
  "shorturl.at",
  "rb.gy",
  "bl.ink",
  "s.id",
  "t.ly",
  "lnkd.in",
  "short.gy",
  "snip.ly",
  "adf.ly",
  "shorte.st",
  "clck.ru",
  "qrco.de",
  "t2m.io",
  "dlvr.it",
]);

export type ContentRule =
  | "body_too_long"
  | "too_many_segments"
  | "control_characters"
  | "too_many_urls"
  | "url_shortener"
  | "spam_pattern";

export interface ContentViolation {
  rule: ContentRule;
  message: string;
  /** The offending part of the body (e.g. the URL, the matched text, a description like "U+0007 at 12"). */
  offending: string;
}

export interface ContentOptions {
  /** Lowers the policy's segment limit for this message; never raises it. */
  maxSegments?: number;
  /** Cut an over-long body instead of rejecting it. */
  truncate?: boolean;
  smartEncoding?: boolean;
}

export type ContentResult =
  | {
      ok: true;
      body: string;
      truncated: boolean;
      /** Segments cut off by truncation. */
      droppedSegments: number;
      replacements: Replacement[];
      /**
       * Segments before smart encoding minus after; negative when the replacements lengthen the
       * body more than leaving UCS-2 saves (each TAB becomes 7 spaces).
       */
      segmentsSaved: number;
    }
  | { ok: false; violation: ContentViolation };

// ---------------------------------------------------------------------------------------------
// Control and invisible characters

/**
 * Zero-width characters and bidi controls render as nothing (or reorder text), which lets spam
 * slip past pattern filters ("fr\u200Bee") or disguise a link; C0/C1 controls have no business in
 * a text message. LF and CR are ordinary line breaks.
 */
function isHiddenCharacter(codePoint: number): boolean {
  return (
    (codePoint <= 0x1f && codePoint !== 0x0a && codePoint !== 0x0d) ||
    (codePoint >= 0x7f && codePoint <= 0x9f) ||
    (codePoint >= 0x200b && codePoint <= 0x200f) ||
    (codePoint >= 0x202a && codePoint <= 0x202e) ||
    (codePoint >= 0x2066 && codePoint <= 0x2069) ||
    codePoint === 0xfeff
  );
}

const ZWNJ = "\u200c";
const ZWJ = "\u200d";
const EMOJI_BEFORE_ZWJ = /^(?:\p{Extended_Pictographic}|\p{Emoji_Modifier}|\u{fe0f})$/u;
const EMOJI_AFTER_ZWJ = /^\p{Extended_Pictographic}$/u;
const NON_LATIN_LETTER = /^(?!\p{Script=Latin})[\p{L}\p{M}]$/u;

/**
 * The joiners are not always hidden tricks: ZWJ glues emoji sequences (👩‍💻, 🏳️‍🌈), and ZWJ/ZWNJ
 * shape Persian and Indic words. Those uses are allowed; a joiner inside Latin text or at an edge
 * is not.
 */
function isLegitimateJoiner(
  char: string,
  before: string | undefined,
  after: string | undefined,
): boolean {
  if (before === undefined || after === undefined) return false;
  if (char === ZWJ && EMOJI_BEFORE_ZWJ.test(before) && EMOJI_AFTER_ZWJ.test(after)) return true;
  return NON_LATIN_LETTER.test(before) && NON_LATIN_LETTER.test(after);
}

function findHiddenCharacter(chars: readonly string[]): ContentViolation | undefined {
  for (const [index, char] of chars.entries()) {
    const codePoint = char.codePointAt(0) ?? 0;
    if (!isHiddenCharacter(codePoint)) continue;
    if (
      (char === ZWJ || char === ZWNJ) &&
      isLegitimateJoiner(char, chars[index - 1], chars[index + 1])
    ) {
      continue;
    }
    const name = `U+${codePoint.toString(16).toUpperCase().padStart(4, "0")}`;
    return {
      rule: "control_characters",
      message: `The body contains a control or invisible formatting character (${name}).`,
      // Index in characters (code points), like maxChars.
      offending: `${name} at ${index}`,
    };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Links

/**
 * TLDs a bare domain ("example.com/path", no scheme, no www.) must end with to count as a link:
 * the common generic and country ones, plus every shortener's, so "bit.ly/x" is always caught.
 */
const BARE_DOMAIN_TLDS = [
  ...new Set([
    ..."com net org edu gov info biz io co me app dev xyz site online shop store link click top club live vip pro tv ws cc ly gl gd gy ink id in at de uk us ca au fr es it nl eu ch be se no pl ru br mx jp cn kr za ng ke gh ug tz rw ae sa tk ml ga cf gq".split(
      " ",
    ),
    ...URL_SHORTENERS.map((host) => host.slice(host.lastIndexOf(".") + 1)),
  ]),
];

/**
 * What counts as a link, the way phones linkify text:
 * - anything starting with http:// or https://, up to whitespace;
 * - anything starting with www.;
 * - a bare ASCII domain ending in one of BARE_DOMAIN_TLDS, optionally with a port, path, query
 *   or fragment. Names in other scripts (IDNs) are not recognised without a scheme.
 * Never counted: e-mail addresses (a match cannot start right after "@", a letter, a digit, "."
 * or "-"), and trailing sentence punctuation.
 */
const URL_PATTERN = new RegExp(
  String.raw`(?<![\p{L}\p{N}@._-])(?:` +
    String.raw`https?://[\p{L}\p{N}\[][^\s<>"]*` +
    String.raw`|www\.[\p{L}\p{N}][^\s<>"]*` +
    String.raw`|(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?<tld>${BARE_DOMAIN_TLDS.join("|")})` +
    String.raw`(?![\p{L}\p{N}_-])(?<rest>[:/?#][^\s<>"]*)?` +
    ")",
  "giu",
);

const TRAILING_PUNCTUATION = /[.,;:!?'"]+$/;

const countOf = (text: string, char: string) => text.split(char).length - 1;

/**
 * Removes sentence punctuation after a link, and a ")" that closes text around it ("(see
 * x.com)"), but not one that belongs to the link ("wiki/Mercury_(planet)").
 */
function trimLink(link: string): string {
  let trimmed = link.replace(TRAILING_PUNCTUATION, "");
  while (trimmed.endsWith(")") && countOf(trimmed, ")") > countOf(trimmed, "(")) {
    trimmed = trimmed.slice(0, -1).replace(TRAILING_PUNCTUATION, "");
  }
  return trimmed;
}

function findLinks(text: string): string[] {
  const links: string[] = [];
  for (const match of text.matchAll(URL_PATTERN)) {
    const { tld, rest } = match.groups ?? {};
    // "Thanks.It was fun" is a missing space, not a link to thanks.it: without a scheme, an
    // upper-case TLD counts only when a path follows (people do type "BIT.LY/abc").
    if (tld !== undefined && tld !== tld.toLowerCase() && !rest?.startsWith("/")) continue;
    links.push(trimLink(match[0]));
  }
  return links;
}

/** Host of a link as found by findLinks: without scheme, user info, port and trailing dot. */
function hostOf(link: string): string {
  const authority = link.replace(/^https?:\/\//i, "").split(/[/?#\\]/, 1)[0] ?? "";
  const host = authority.slice(authority.lastIndexOf("@") + 1).replace(/:\d*$/, "");
  return host.toLowerCase().replace(/\.$/, "");
}

function isShortener(host: string): boolean {
  return URL_SHORTENERS.some((shortener) => host === shortener || host.endsWith(`.${shortener}`));
}

function findLinkViolation(text: string, policy: ContentPolicy): ContentViolation | undefined {
  const links = findLinks(text);
  const extra = links[policy.maxUrls];
  if (extra !== undefined) {
    return {
      rule: "too_many_urls",
      message: `The body contains ${links.length} links; at most ${policy.maxUrls} are allowed.`,
      offending: extra,
    };
  }
  if (!policy.blockShorteners) return undefined;
  const shortened = links.find((link) => isShortener(hostOf(link)));
  if (shortened === undefined) return undefined;
  return {
    rule: "url_shortener",
    message: "Links through public URL shorteners are filtered by carriers; use the full link.",
    offending: shortened,
  };
}

// ---------------------------------------------------------------------------------------------
// Spam patterns

function findSpam(text: string, patterns: readonly string[]): ContentViolation | undefined {
  for (const source of patterns) {
    const match = compilePattern(source).exec(text);
    if (match !== null) {
      return {
        rule: "spam_pattern",
        message: "The body matches a blocked content pattern.",
        offending: match[0],
      };
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Length

/**
 * The longest prefix of `body`, in whole characters, that is sent in at most `maxSegments`
 * segments. As analyzeBody counts them: an escaped GSM-7 character or a surrogate pair is never
 * split, and one segment holds the single-message capacity (160/70) while each of several holds
 * the concatenated one (153/67).
 *
 * Binary search over prefix lengths, judged by analyzeBody itself so the result can never
 * disagree with the segment count. That is sound because the count never decreases as a prefix
 * grows: within one encoding, packing is greedy; and when a longer prefix switches from GSM-7 to
 * UCS-2, UCS-2 needs at least as many segments for the shorter part already (a GSM-7 part holds
 * at least 76 characters, a UCS-2 part at most 67).
 */
export function truncateToSegments(
  body: string,
  maxSegments: number,
): { body: string; truncated: boolean } {
  if (analyzeBody(body).segments <= maxSegments) return { body, truncated: false };
  const chars = Array.from(body);
  // Invariant: the first `fits` characters fit, the first `tooMany` do not.
  let fits = 0;
  let tooMany = chars.length;
  while (tooMany - fits > 1) {
    const middle = (fits + tooMany) >>> 1;
    if (analyzeBody(chars.slice(0, middle).join("")).segments <= maxSegments) fits = middle;
    else tooMany = middle;
  }
  return { body: chars.slice(0, fits).join(""), truncated: true };
}

// ---------------------------------------------------------------------------------------------

/**
 * Order: smart encoding (when asked), control characters, link count, shorteners, spam
 * patterns, then length. Length comes last because it is the only rule truncation can fix; the
 * other rules judge the whole body, so nothing hidden in the part that truncation drops is let
 * through.
 */
export function checkContent(
  body: string,
  policy: ContentPolicy,
  options: ContentOptions = {},
): ContentResult {
  const encoded = options.smartEncoding ? smartEncode(body) : { body, replacements: [] };
  const text = encoded.body;
  const analysis = analyzeBody(text);
  const segmentsSaved = options.smartEncoding ? analyzeBody(body).segments - analysis.segments : 0;
  const chars = Array.from(text);

  const violation =
    findHiddenCharacter(chars) ??
    findLinkViolation(text, policy) ??
    findSpam(text, policy.spamPatterns);
  if (violation !== undefined) return { ok: false, violation };

  const maxSegments = Math.min(options.maxSegments ?? policy.maxSegments, policy.maxSegments);
  const ok = { ok: true as const, replacements: encoded.replacements, segmentsSaved };
  if (options.truncate) {
    const cut = truncateToSegments(chars.slice(0, policy.maxChars).join(""), maxSegments);
    const truncated = cut.body.length < text.length;
    const droppedSegments = analysis.segments - analyzeBody(cut.body).segments;
    return { ...ok, body: cut.body, truncated, droppedSegments };
  }
  if (chars.length > policy.maxChars) {
    return {
      ok: false,
      violation: {
        rule: "body_too_long",
        message: `The body has ${chars.length} characters; at most ${policy.maxChars} are allowed.`,
        offending: `${chars.length} characters`,
      },
    };
  }
  if (analysis.segments > maxSegments) {
    return {
      ok: false,
      violation: {
        rule: "too_many_segments",
        message: `The body needs ${analysis.segments} segments; at most ${maxSegments} are allowed.`,
        offending: `${analysis.segments} segments (${analysis.encoding})`,
      },
    };
  }
  return { ...ok, body: text, truncated: false, droppedSegments: 0 };
}
