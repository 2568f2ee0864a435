/**
 * Personal data at rest: phone numbers, message bodies and payloads that carry them are
 * stored sealed (AES-256-GCM), and numbers are found again through a keyed HMAC digest.
 *
 * Both keys come from secrets as keyrings, `id:base64key[,id:base64key…]`. The first key
 * seals and writes digests; every key opens and matches. Rotation: put the new key first and
 * keep the old ones. Ciphertexts name their key id, digests their key version, so rows
 * written under an old key stay readable, and an opt-out recorded under an old HMAC key still
 * matches: lookups compare against the number's digest under every configured version.
 *
 * Hand-written over WebCrypto: no maintained library does "AES-GCM with a key id + versioned
 * HMAC keyring" for Workers, and the primitives themselves are WebCrypto's.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface Keyring {
  /** The key that seals and writes digests. */
  current: { id: string; key: CryptoKey };
  byId: ReadonlyMap<string, CryptoKey>;
}

export interface Pii {
  /** Seals text; `context` (the tenant) is bound as additional data: a ciphertext moved to another tenant's row fails to open. */
  seal(context: string, plain: string): Promise<string>;
  open(context: string, sealed: string): Promise<string>;
  sealJson(context: string, value: unknown): Promise<string>;
  openJson<T = unknown>(context: string, sealed: string): Promise<T>;
  /** The digest under the current HMAC key: what new rows store. */
  digest(e164: string): Promise<string>;
  /** The digests under every configured HMAC key, current first: what lookups match. */
  digests(e164: string): Promise<string[]>;
}

const KEY_ENTRY = /^([A-Za-z0-9_-]{1,16}):([A-Za-z0-9+/=_-]+)$/;

function fromBase64(text: string): Uint8Array {
  const standard = text.replaceAll("-", "+").replaceAll("_", "/");
  return Uint8Array.from(atob(standard), (c) => c.charCodeAt(0));
}

const toBase64 = (bytes: Uint8Array) => {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
};

const toBase64Url = (bytes: Uint8Array) =>
  toBase64(bytes).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");

/** `id:base64key,…` → [id, raw key] pairs; throws with the reason (env.ts reports it). */
export function parseKeyringText(
  text: string,
  bytes: { min: number; max: number },
): [string, Uint8Array][] {
  const entries = text
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry): [string, Uint8Array] => {
      const match = KEY_ENTRY.exec(entry);
      if (!match?.[1] || !match[2]) throw new Error("entries must be id:base64key");
      let raw: Uint8Array;
      try {
        raw = fromBase64(match[2]);
      } catch {
        throw new Error(`key ${match[1]} is not base64`);
      }
      if (raw.length < bytes.min || raw.length > bytes.max) {
        const size = bytes.min === bytes.max ? `${bytes.min}` : `${bytes.min}–${bytes.max}`;
        throw new Error(`key ${match[1]} must be ${size} bytes`);
      }
      return [match[1], raw];
    });
  if (entries.length === 0) throw new Error("needs at least one key");
  if (new Set(entries.map(([id]) => id)).size !== entries.length) {
    throw new Error("key ids must be unique");
  }
  return entries;
}

async function importRing(
  entries: [string, Uint8Array][],
  importOne: (raw: Uint8Array) => Promise<CryptoKey>,
): Promise<Keyring> {
  const imported = await Promise.all(
    entries.map(async ([id, raw]) => [id, await importOne(raw)] as const),
  );
  const [first] = imported;
  if (!first) throw new Error("empty keyring");
  return { current: { id: first[0], key: first[1] }, byId: new Map(imported) };
}

const importAes = (raw: Uint8Array) =>
  crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
const importHmac = (raw: Uint8Array) =>
  crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);

export const AES_KEY_BYTES = { min: 32, max: 32 };
export const HMAC_KEY_BYTES = { min: 32, max: 64 };

/** Ciphertext format: `p1.<key id>.<iv>.<data>` (base64url). */
const FORMAT = "p1";

export function createPii(sealing: Promise<Keyring>, hashing: Promise<Keyring>): Pii {
  const seal = async (context: string, plain: string) => {
    const ring = await sealing;
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const data = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: encoder.encode(context) },
      ring.current.key,
      encoder.encode(plain),
    );
    return `${FORMAT}.${ring.current.id}.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(data))}`;
  };
  const open = async (context: string, sealed: string) => {
    const [format, keyId, iv, data] = sealed.split(".");
    if (format !== FORMAT || !keyId || !iv || !data) throw new Error("not a sealed value");
    const key = (await sealing).byId.get(keyId);
    if (!key) throw new Error(`sealed with key ${keyId}, which is not configured`);
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: fromBase64(iv), additionalData: encoder.encode(context) },
      key,
      fromBase64(data),
    );
    return decoder.decode(plain);
  };
  const digestWith = async (id: string, key: CryptoKey, e164: string) => {
    const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(e164));
    return `${id}:${toBase64Url(new Uint8Array(mac))}`;
  };
  return {
    seal,
    open,
    sealJson: (context, value) => seal(context, JSON.stringify(value)),
    openJson: async (context, sealed) => JSON.parse(await open(context, sealed)),
    async digest(e164) {
      const ring = await hashing;
      return digestWith(ring.current.id, ring.current.key, e164);
    },
    async digests(e164) {
      const ring = await hashing;
      return Promise.all([...ring.byId].map(([id, key]) => digestWith(id, key, e164)));
    },
  };
}

const cache = new Map<string, Pii>();

/** One Pii per pair of keyrings per isolate: keys are imported once, not per request. */
export function piiFor(sealingKeys: string, hmacKeys: string): Pii {
  const cacheKey = `${sealingKeys}\n${hmacKeys}`;
  let pii = cache.get(cacheKey);
  if (!pii) {
    pii = createPii(
      importRing(parseKeyringText(sealingKeys, AES_KEY_BYTES), importAes),
      importRing(parseKeyringText(hmacKeys, HMAC_KEY_BYTES), importHmac),
    );
    cache.set(cacheKey, pii);
  }
  return pii;
}
