import { describe, expect, it } from "vitest";
import { generateCode, otpText, renderOtpBody } from "../../src/domain/otp";

describe("one-time codes", () => {
  it("have the asked length and only digits", () => {
    for (const length of [4, 6, 10]) {
      const code = generateCode(length);
      expect(code).toMatch(new RegExp(`^\\d{${length}}$`));
    }
  });

  it("are uniform over the digits (chi-square, 9 degrees of freedom)", () => {
    const counts = new Array<number>(10).fill(0);
    const codes = 60_000;
    for (let i = 0; i < codes; i++) {
      for (const digit of generateCode(6)) counts[Number(digit)] = (counts[Number(digit)] ?? 0) + 1;
    }
    const expected = (codes * 6) / 10;
    const chiSquare = counts.reduce((sum, n) => sum + (n - expected) ** 2 / expected, 0);
    // 45.0 is about the 1 − 10⁻⁶·⁵ quantile: a fair generator fails this about once in 3 million
    // runs, while a modulo-biased one (bytes 250–255 folding onto 0–5) averages about 130 here.
    expect(chiSquare).toBeLessThan(45);
  });

  it("draw again rather than reduce a byte of 250 or more (no modulo bias)", () => {
    const bytes = [255, 250, 7, 251, 3, 249, 0, 1, 2];
    let i = 0;
    const random = (n: number) =>
      Uint8Array.from({ length: n }, () => bytes[i++ % bytes.length] ?? 0);
    // 255, 250, 251 are skipped; 249 → 9.
    expect(generateCode(6, random)).toBe("739012");
  });
});

describe("the OTP text", () => {
  it("uses the locale's text, falling back to English", () => {
    expect(renderOtpBody({ code: "123456", ttlSeconds: 600, locale: "fr-CA" })).toBe(
      "Votre code de vérification est 123456. Il expire dans 10 minutes.",
    );
    expect(otpText("xx")).toBe(otpText("en"));
  });

  it("takes a custom text, and ends with the Android hash and the WebOTP line", () => {
    const body = renderOtpBody({
      code: "4821",
      ttlSeconds: 300,
      template: "{{code}} is your Acme code ({{minutes}} min)",
      androidAppHash: "FA+9qCX9VSu",
      appDomain: "app.example.com",
    });
    expect(body).toBe("4821 is your Acme code (5 min)\nFA+9qCX9VSu\n\n@app.example.com #4821");
    expect(body.split("\n").at(-1)).toBe("@app.example.com #4821");
  });
});
