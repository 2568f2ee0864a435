/**
 * SMS encoding detection and segmentation (GSM 03.38 / 3GPP TS 23.038).
 *
 * Providers bill per segment, so the segment count must match what the network will actually
 * send. That is why segments are counted by packing characters the way handsets and SMSCs do,
 * rather than by dividing a length: an escaped GSM-7 character or a UTF-16 surrogate pair is
 * never split across two segments, which can cost one extra segment at a boundary.
 *
 * No transliteration happens here: a single character outside the GSM-7 tables (a curly quote,
 * a lowercase "ç", an emoji) switches the whole message to UCS-2.
 */

export type Encoding = "GSM-7" | "UCS-2";

export interface BodyAnalysis {
  encoding: Encoding;
  /** Number of SMS parts the body is sent as; 0 for an empty body. */
  segments: number;
  /** Septets for GSM-7 (escaped characters count 2), UTF-16 code units for UCS-2. */
  units: number;
  /** Capacity of each segment in `units`: the single-message limit unless the body is split. */
  perSegment: number;
}

/** GSM 03.38 default alphabet, in code-point order 0x00-0x7F, minus 0x1B (ESC is not a character). */
const GSM7_BASIC_CHARS =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ" +
  " !\"#¤%&'()*+,-./0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§" +
  "¿abcdefghijklmnopqrstuvwxyzäöñüà";

/** Characters reachable through the ESC prefix of the extension table; each costs 2 septets. */
const GSM7_EXTENSION_CHARS = "\f^{}\\[~]|€";

const GSM7_BASIC = new Set(GSM7_BASIC_CHARS);
const GSM7_EXTENSION = new Set(GSM7_EXTENSION_CHARS);

/**
 * Capacities per encoding. Once a message is split, each part carries a 6-octet user data
 * header (UDH) for reassembly, which eats 7 septets (GSM-7) or 3 UTF-16 units (UCS-2).
 */
const LIMITS: Record<Encoding, { single: number; concatenated: number }> = {
  "GSM-7": { single: 160, concatenated: 153 },
  "UCS-2": { single: 70, concatenated: 67 },
};

function isGsm7(body: string): boolean {
  for (const char of body) {
    if (!GSM7_BASIC.has(char) && !GSM7_EXTENSION.has(char)) return false;
  }
  return true;
}

/**
 * Cost of one code point in the chosen encoding. In UCS-2 an astral code point (emoji) is a
 * surrogate pair, i.e. 2 units; iterating by code point keeps the pair together.
 */
function unitsOf(char: string, encoding: Encoding): number {
  if (encoding === "UCS-2") return char.length;
  return GSM7_EXTENSION.has(char) ? 2 : 1;
}

function detectEncoding(body: string): Encoding {
  return isGsm7(body) ? "GSM-7" : "UCS-2";
}

function countUnits(body: string, encoding: Encoding): number {
  let units = 0;
  for (const char of body) units += unitsOf(char, encoding);
  return units;
}

function pack(body: string, encoding: Encoding, capacity: number): string[] {
  const parts: string[] = [];
  let current = "";
  let used = 0;
  for (const char of body) {
    const cost = unitsOf(char, encoding);
    // An indivisible character that does not fit moves whole to the next segment,
    // leaving the remaining units of this one unused.
    if (used + cost > capacity) {
      parts.push(current);
      current = "";
      used = 0;
    }
    current += char;
    used += cost;
  }
  if (current !== "") parts.push(current);
  return parts;
}

interface SegmentPlan extends BodyAnalysis {
  parts: string[];
}

/**
 * Single source for both exports, so the reported segment count always equals the number of
 * parts. An empty body yields no parts (0 segments): the API rejects empty messages anyway,
 * and "nothing to send" is the honest count.
 */
function planSegments(body: string): SegmentPlan {
  const encoding = detectEncoding(body);
  const units = countUnits(body, encoding);
  const limits = LIMITS[encoding];
  if (units <= limits.single) {
    const parts = body === "" ? [] : [body];
    return { encoding, units, perSegment: limits.single, segments: parts.length, parts };
  }
  const parts = pack(body, encoding, limits.concatenated);
  return { encoding, units, perSegment: limits.concatenated, segments: parts.length, parts };
}

/** The parts a body is sent as, in order; joining them gives the body back. */
export function splitSegments(body: string): string[] {
  return planSegments(body).parts;
}

export function analyzeBody(body: string): BodyAnalysis {
  const { encoding, segments, units, perSegment } = planSegments(body);
  return { encoding, segments, units, perSegment };
}
