import { describe, expect, it } from "vitest";
import { parseKeyringText, piiFor } from "../../src/lib/pii";

const key = (byte: number) => Buffer.alloc(32, byte).toString("base64");
const OLD = `k1:${key(1)}`;
const NEW = `k2:${key(2)}`;
const HMAC_OLD = `h1:${key(3)}`;
const HMAC_NEW = `h2:${key(4)}`;

describe("personal data sealing", () => {
  it("round-trips text and JSON; the ciphertext names its key and hides the text", async () => {
    const pii = piiFor(OLD, HMAC_OLD);
    const sealed = await pii.seal("ten_a", "+14155550100");
    expect(sealed).toMatch(/^p1\.k1\./);
    expect(sealed).not.toContain("4155550100");
    expect(await pii.open("ten_a", sealed)).toBe("+14155550100");
    expect(await pii.openJson("ten_a", await pii.sealJson("ten_a", { to: "+1" }))).toEqual({
      to: "+1",
    });
    // A fresh IV each time: equal numbers do not give equal ciphertexts.
    expect(await pii.seal("ten_a", "+14155550100")).not.toBe(sealed);
  });

  it("a ciphertext opens only in its own context (tenant)", async () => {
    const pii = piiFor(OLD, HMAC_OLD);
    const sealed = await pii.seal("ten_a", "secret");
    await expect(pii.open("ten_b", sealed)).rejects.toThrow();
  });

  it("after a key rotation, old ciphertexts still open and new ones use the new key", async () => {
    const before = piiFor(OLD, HMAC_OLD);
    const after = piiFor(`${NEW},${OLD}`, `${HMAC_NEW},${HMAC_OLD}`);
    const old = await before.seal("t", "body");
    expect(await after.open("t", old)).toBe("body");
    expect(await after.seal("t", "body")).toMatch(/^p1\.k2\./);
    // Dropping the old key makes its ciphertexts unreadable, loudly.
    await expect(piiFor(NEW, HMAC_NEW).open("t", old)).rejects.toThrow(/key k1/);
  });

  it("digests are keyed and versioned; lookups match every configured version", async () => {
    const before = piiFor(OLD, HMAC_OLD);
    const after = piiFor(`${NEW},${OLD}`, `${HMAC_NEW},${HMAC_OLD}`);
    const recorded = await before.digest("+14155550100");
    expect(recorded).toMatch(/^h1:/);
    expect(recorded).not.toContain("4155550100");
    expect(await after.digest("+14155550100")).toMatch(/^h2:/);
    expect(await after.digests("+14155550100")).toContain(recorded);
    expect(await before.digest("+14155550101")).not.toBe(recorded);
    // Another key, another digest: without the key a dictionary of numbers is useless.
    expect(await piiFor(OLD, `h1:${key(9)}`).digest("+14155550100")).not.toBe(recorded);
  });

  it("rejects malformed keyrings with the reason", () => {
    const aes = { min: 32, max: 32 };
    expect(() => parseKeyringText("", aes)).toThrow(/at least one key/);
    expect(() => parseKeyringText("nokey", aes)).toThrow(/id:base64key/);
    expect(() => parseKeyringText(`k1:${Buffer.alloc(16).toString("base64")}`, aes)).toThrow(
      /32 bytes/,
    );
    expect(() => parseKeyringText(`${OLD},${OLD}`, aes)).toThrow(/unique/);
    expect(parseKeyringText(`${NEW},${OLD}`, aes).map(([id]) => id)).toEqual(["k2", "k1"]);
  });
});
