/**
 * Prefixed, sortable, random ids (`msg_…`, `ten_…`): a ULID body (48-bit
 * millisecond time + 80 random bits in lowercase Crockford base32), so ids sort by
 * creation time and cursor pagination can use the id alone.
 */
const CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz";

export type IdPrefix =
  | "msg"
  | "ten"
  | "key"
  | "att"
  | "evt"
  | "snd"
  | "inb"
  | "whk"
  | "cns"
  | "blk"
  | "tpl"
  | "bat";

export function newId(prefix: IdPrefix, nowMs: number): string {
  let time = "";
  let t = nowMs;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let random = "";
  for (const byte of bytes) random += CROCKFORD[byte % 32];
  return `${prefix}_${time}${random}`;
}
