import { describe, expect, it } from "vitest";
import { detectKeyword, type Keyword, normalizeForKeywords } from "../../src/domain/keywords";

// Real-looking replies to a business text, and what the gateway must read in them.
const REPLIES: [body: string, expected: Keyword | null][] = [
  // --- stop: the providers' keywords as the whole message ---
  ["STOP", "stop"],
  ["stop", "stop"],
  ["Stop", "stop"],
  ["sToP", "stop"],
  ["  STOP  ", "stop"],
  ["\nSTOP\n", "stop"],
  ["\tstop\r\n", "stop"],
  ["STOPALL", "stop"],
  ["Unsubscribe", "stop"],
  ["UNSUBSCRIBE.", "stop"],
  ["cancel", "stop"],
  ["CANCEL!", "stop"],
  ["End", "stop"],
  ["end.", "stop"],
  ["QUIT", "stop"],
  ["Revoke", "stop"],
  ["OPTOUT", "stop"],
  ["opt out", "stop"],
  ["Opt-Out", "stop"],
  ["OPT-OUT", "stop"],
  ["opt_out", "stop"],
  ["ARRET", "stop"],
  ["Arrêt", "stop"],
  ["remove", "stop"],
  ["TD", "stop"],
  // --- stop: punctuation, Unicode punctuation, emoji, odd characters ---
  ["Stop.", "stop"],
  ["STOP!!", "stop"],
  ["STOP!!!!!!", "stop"],
  ["stop?", "stop"],
  ["'stop'", "stop"],
  ['"STOP"', "stop"],
  ["STOP。", "stop"],
  ["Stop…", "stop"],
  ["¡STOP!", "stop"],
  ["«stop»", "stop"],
  ["Stop 🛑", "stop"],
  ["🛑🛑 STOP 🛑🛑", "stop"],
  ["STOP 😡", "stop"],
  ["ＳＴＯＰ", "stop"],
  ["S\u200BTOP", "stop"],
  ["***STOP***", "stop"],
  ["-stop-", "stop"],
  // --- stop: the common forms exact matching misses ---
  ["stop please", "stop"],
  ["STOP PLEASE", "stop"],
  ["Please stop", "stop"],
  ["please stop!", "stop"],
  ["Pls stop", "stop"],
  ["Kindly stop", "stop"],
  ["STOP texting me", "stop"],
  ["Stop texting me!!", "stop"],
  ["stop stop stop", "stop"],
  ["STOP. STOP. STOP.", "stop"],
  ["unsubscribe me", "stop"],
  ["Unsubscribe me please", "stop"],
  ["STOP ALL", "stop"],
  ["stop all messages", "stop"],
  ["Stop sending me these messages", "stop"],
  ["stop sending messages to this number", "stop"],
  ["Stop it", "stop"],
  ["stop now", "stop"],
  ["STOP NOW!!!", "stop"],
  ["stop, thanks", "stop"],
  ["Stop thank you", "stop"],
  ["Stop for good", "stop"],
  ["stop spamming me", "stop"],
  ["stop the spam", "stop"],
  ["Please stop texting me.", "stop"],
  ["Hi, please stop sending me messages", "stop"],
  ["Opt out please", "stop"],
  ["opt-out me", "stop"],
  ["I want to unsubscribe", "stop"],
  ["I would like to unsubscribe from this list", "stop"],
  ["Remove me from your list", "stop"],
  ["remove me", "stop"],
  ["quit texting me", "stop"],
  ["STOP\nSTOP", "stop"],
  ["stop\n\nthanks", "stop"],
  ["Stop reminders", "stop"],
  ["unsubscribe 🙏", "stop"],
  // --- not stop: ordinary sentences that merely contain a keyword ---
  ["Don't stop the deliveries", null],
  ["Don’t stop the deliveries", null],
  ["I can't stop laughing", null],
  ["When does the sale end?", null],
  ["I want to cancel my order", null],
  ["Can I cancel my appointment?", null],
  ["cancel my order", null],
  ["Cancel please", null],
  ["end of the month works", null],
  ["The end", null],
  ["I quit", null],
  ["I quit smoking 3 weeks ago", null],
  ["Please don't stop", null],
  ["stop by the store later?", null],
  ["Stop? Why?", null],
  ["Stop the deliveries until Monday", null],
  ["Stop texting me or I'll report you", null], // clearly angry, but left to the tenant
  ["Who is this? Stop", null],
  ["bus stop at 5th and main", null],
  ["Nonstop flights only", null],
  ["stopwatch", null],
  ["Quitting is hard", null],
  ["How do I remove an item from my cart?", null],
  // --- start ---
  ["START", "start"],
  ["start", "start"],
  ["Start.", "start"],
  ["UNSTOP", "start"],
  ["unstop!", "start"],
  ["YES", "start"],
  ["yes", "start"],
  ["Yes!", "start"],
  ["  yes \n", "start"],
  ["Yes I will be there at 5", null],
  ["yes please", null],
  ["Yes, see you then", null],
  ["start date?", null],
  ["When do you start?", null],
  ["yesterday", null],
  // --- help ---
  ["HELP", "help"],
  ["help", "help"],
  ["Help?", "help"],
  ["HELP!!!", "help"],
  ["INFO", "help"],
  ["info", "help"],
  ["Info.", "help"],
  // Not HELP: a question about an order wants a person, not the program's canned help text.
  ["info about my order please?", null],
  ["help me", null],
  ["Can you help me reset my password?", null],
  ["information", null],
  // --- nothing at all ---
  ["", null],
  ["   ", null],
  ["\n\n", null],
  ["🛑", null],
  ["👍", null],
  ["!!!", null],
  ["ok", null],
  ["Thanks!", null],
  ["See you tomorrow", null],
  ["12345", null],
  ["constructor", null],
  ["__proto__", null],
  ["please please please", null],
];

describe("detectKeyword", () => {
  it("has a big table of replies", () => {
    expect(REPLIES.length).toBeGreaterThanOrEqual(60);
    expect(new Set(REPLIES.map(([body]) => body)).size).toBe(REPLIES.length);
  });

  it.each(REPLIES)("%j -> %s", (body, expected) => {
    expect(detectKeyword(body)).toBe(expected);
  });

  it("keeps the tail short", () => {
    expect(detectKeyword("stop texting me please now")).toBe("stop");
    expect(detectKeyword(`stop ${"please ".repeat(8)}`)).toBe("stop");
    expect(detectKeyword(`stop ${"please ".repeat(9)}`)).toBeNull();
  });
});

describe("normalizeForKeywords", () => {
  it.each([
    ["  Stop…  texting\nME!! 🛑", ["stop", "texting", "me"]],
    ["Don't", ["dont"]],
    ["ARRÊT", ["arret"]],
    ["ＳＴＯＰ。", ["stop"]],
    ["Opt-Out now", ["optout", "now"]],
    ["", []],
  ] as const)("%j -> %j", (body, words) => {
    expect(normalizeForKeywords(body)).toEqual(words);
  });
});
