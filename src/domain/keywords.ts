/**
 * STOP/START/HELP keywords in an inbound SMS.
 *
 * Keywords (providers.md §1.9, §3.5, §4.4): STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT,
 * REVOKE, OPTOUT/OPT OUT/OPT-OUT, REMOVE, ARRET, TD → stop; START, UNSTOP, YES → start;
 * HELP, INFO → help.
 *
 * The rule, in plain words:
 *
 * 1. Normalize: fold compatibility forms and accents (ＳＴＯＰ → stop, ARRÊT → arret), lower
 *    case, drop apostrophes (don't → dont), turn every other character that is not a letter or
 *    a digit (punctuation, emoji, newlines) into a space, collapse spaces. "OPT OUT" becomes
 *    the single word "optout".
 * 2. If what is left is exactly one keyword, that is the answer ("Stop.", "  HELP\n", "yes!").
 *    This is the providers' own rule (Twilio matches the full body), with punctuation forgiven.
 * 3. Otherwise only an unambiguous opt-out word may lead: stop, stopall, unsubscribe, optout,
 *    quit, remove. The message is a stop when it is, word for word:
 *      optional polite opener (please, kindly, hi, I want to…)
 *      + a leading opt-out word
 *      + optional tail made only of filler and target words (please, me, now, all, texting,
 *        messages, this number, thanks…, or opt-out words again: "stop stop stop"),
 *    with at most MAX_EXTRA_WORDS words besides the keyword. One word outside these lists and
 *    it is an ordinary sentence: "Don't stop the deliveries", "I can't stop laughing".
 * 4. Everything else is no keyword. CANCEL, END, REVOKE, ARRET and TD only count alone: they
 *    are ordinary words ("I want to cancel my order", "When does the sale end?"). START, UNSTOP,
 *    YES, HELP and INFO also only count alone: they are too common in normal replies ("Yes I
 *    will be there at 5"), and a wrong opt-in or a canned help reply is worse than none.
 *    "info about my order please?" is therefore not HELP: it is a question for a person, and
 *    the program's help text would not answer it; the message still reaches the tenant.
 *
 * Why lean towards stop only for the opt-out words: a missed opt-out means texting someone who
 * asked us not to (the FCC counts "stop", "quit", "end", "revoke", "opt out", "cancel",
 * "unsubscribe" replies as revocation); a false one silences a recipient who can text START.
 * Ambiguous messages are left to the tenant, who sees every inbound message.
 */

export type Keyword = "stop" | "start" | "help";

/** Whole-message keywords, after normalization. */
const WHOLE_MESSAGE: Readonly<Record<string, Keyword>> = {
  stop: "stop",
  stopall: "stop",
  unsubscribe: "stop",
  cancel: "stop",
  end: "stop",
  quit: "stop",
  revoke: "stop",
  optout: "stop",
  remove: "stop", // AWS (US/CA)
  arret: "stop", // AWS (CA French)
  td: "stop", // AWS (CA)
  start: "start",
  unstop: "start",
  yes: "start",
  help: "help",
  info: "help",
};

/** Opt-out words that mean opt-out even with a polite opener or a short tail. */
const LEADING_STOP = new Set(["stop", "stopall", "unsubscribe", "optout", "quit", "remove"]);

/**
 * What may come before a leading opt-out word ("please stop", "I want to unsubscribe"): polite
 * words, and a few whole phrases. "I" alone is not one: "I quit" is news, not a request.
 */
const OPENERS: readonly (readonly string[])[] = [
  ...["please", "pls", "plz", "kindly", "just", "ok", "okay", "hi", "hello", "hey"].map((w) => [w]),
  ["i", "want", "to"],
  ["i", "wanna"],
  ["i", "would", "like", "to"],
  ["id", "like", "to"],
];

/** Words that may follow a leading opt-out word ("stop texting me now please"). */
const TAIL = new Set([
  // polite or filler
  ...["please", "pls", "plz", "now", "asap", "immediately", "already", "right", "away"],
  ...["thanks", "thank", "you", "thx", "ty", "ok", "okay", "all", "it", "for", "good"],
  ...["forever", "permanently"],
  // who and what
  ...["me", "us", "this", "these", "that", "the", "them", "your", "from", "to", "number"],
  ...["list", "sender", "subscription"],
  ...["texting", "text", "texts", "txt", "txts", "messaging", "message", "messages", "msg"],
  ...["msgs", "sms", "sending", "send", "spam", "spamming", "contacting"],
  ...["notifications", "alerts", "reminders", "promotions", "promos", "ads", "marketing"],
  // the opt-out words again ("stop stop stop", "unsubscribe stop")
  ...LEADING_STOP,
]);

/** Words besides the keyword itself, opener and tail together: keeps the tail short. */
export const MAX_EXTRA_WORDS = 8;

/** Step 1 of the rule: the words of a message, normalized. */
export function normalizeForKeywords(body: string): string[] {
  const text = body
    .normalize("NFKD")
    .replace(/\p{M}/gu, "") // accents, after NFKD split them off
    .toLowerCase()
    .replace(/['’‘ʼ`´]/gu, "") // don't → dont
    .replace(/\p{Cf}/gu, "") // zero-width and other invisible format characters
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim()
    .replace(/\bopt out\b/g, "optout");
  return text === "" ? [] : text.split(" ");
}

export function detectKeyword(body: string): Keyword | null {
  const words = normalizeForKeywords(body);
  if (words.length === 1) {
    const word = words[0] ?? "";
    return Object.hasOwn(WHOLE_MESSAGE, word) ? (WHOLE_MESSAGE[word] ?? null) : null;
  }
  if (words.length < 2 || words.length > MAX_EXTRA_WORDS + 1) return null;

  let i = 0;
  for (let opener = openerAt(words, i); opener > 0; opener = openerAt(words, i)) i += opener;
  if (!LEADING_STOP.has(words[i] ?? "")) return null;
  return words.slice(i + 1).every((w) => TAIL.has(w)) ? "stop" : null;
}

/** Length of the opener phrase starting at `i`, or 0. */
function openerAt(words: readonly string[], i: number): number {
  const phrase = OPENERS.find((p) => p.every((w, k) => words[i + k] === w));
  return phrase?.length ?? 0;
}
