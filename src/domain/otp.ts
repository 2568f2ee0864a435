/**
 * One-time codes: generation without modulo bias, and the SMS text that carries them,
 * including the lines browsers (WebOTP) and Android (SMS Retriever) read to fill the code in.
 */

/** Decimal digits, uniformly: bytes of 250 and above are drawn again (250 = 25 × 10). */
export function generateCode(length: number, random = cryptoRandom): string {
  let code = "";
  while (code.length < length) {
    for (const byte of random(length)) {
      if (byte < 250 && code.length < length) code += String(byte % 10);
    }
  }
  return code;
}

const cryptoRandom = (n: number) => crypto.getRandomValues(new Uint8Array(n));

/** Built-in texts; `{{code}}` and `{{minutes}}` are filled in. English when the locale has none. */
export const OTP_TEXTS: Readonly<Record<string, string>> = {
  en: "Your verification code is {{code}}. It expires in {{minutes}} minutes.",
  fr: "Votre code de vérification est {{code}}. Il expire dans {{minutes}} minutes.",
  es: "Tu código de verificación es {{code}}. Caduca en {{minutes}} minutos.",
  de: "Ihr Bestätigungscode lautet {{code}}. Er läuft in {{minutes}} Minuten ab.",
  pt: "O seu código de verificação é {{code}}. Expira em {{minutes}} minutos.",
  sw: "Nambari yako ya uthibitisho ni {{code}}. Itaisha baada ya dakika {{minutes}}.",
};

/** `fr-CA` → `fr`, an unknown language → `en`. */
export function otpText(locale: string | undefined): string {
  const language = (locale ?? "en").toLowerCase().split(/[-_]/)[0] ?? "en";
  return OTP_TEXTS[language] ?? (OTP_TEXTS.en as string);
}

export interface OtpBodyInput {
  code: string;
  ttlSeconds: number;
  /** A custom text with `{{code}}` (and optionally `{{minutes}}`); the locale's otherwise. */
  template?: string | undefined;
  locale?: string | undefined;
  /** WebOTP: the message ends with `@domain #code`, so the browser offers the code to that origin. */
  appDomain?: string | undefined;
  /** Android SMS Retriever: the app's 11-character hash ends the message. */
  androidAppHash?: string | undefined;
}

export function renderOtpBody(input: OtpBodyInput): string {
  const minutes = String(Math.max(1, Math.round(input.ttlSeconds / 60)));
  const text = (input.template ?? otpText(input.locale))
    .replaceAll("{{code}}", input.code)
    .replaceAll("{{minutes}}", minutes);
  const lines = [text];
  if (input.androidAppHash) lines.push(input.androidAppHash);
  // The origin-bound line must be the last one (WICG WebOTP format).
  if (input.appDomain) lines.push("", `@${input.appDomain} #${input.code}`);
  return lines.join("\n");
}

/** An 11-character Android app hash: base64 characters. */
export const ANDROID_APP_HASH = /^[A-Za-z0-9+/]{11}$/;
/** A host name for the WebOTP line. */
export const APP_DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
