/**
 * createSnsVerifier against messages signed like SNS signs them: a fresh RSA key and self-signed
 * certificate served from 127.0.0.1 (scripts/fakes/sns-signer.mjs), both signature versions,
 * every message type, and the official aws-js-sns-message-validator as a cross-check.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SnsSigner, startSnsSigner } from "../../scripts/fakes/sns-signer.mjs";
import {
  createSnsVerifier,
  type SnsMessage,
  snsMessageSchema,
} from "../../src/webhooks/sns-verify";
import {
  localVerifier,
  notification,
  officialAccepts,
  subscriptionConfirmation,
  unsubscribeConfirmation,
} from "./sns-signing";

const YEAR_MS = 365 * 24 * 3600_000;

let signer: SnsSigner;
let other: SnsSigner;
let expired: SnsSigner;

beforeAll(async () => {
  [signer, other, expired] = await Promise.all([
    startSnsSigner(),
    startSnsSigner(),
    startSnsSigner({
      notBefore: new Date(Date.now() - 2 * YEAR_MS),
      notAfter: new Date(Date.now() - YEAR_MS),
    }),
  ]);
});
afterAll(() => Promise.all([signer, other, expired].map((s) => s.stop())));

const unsigned = {
  "Notification with a Subject": () => notification("SMS delivery event"),
  "Notification without a Subject": () => notification(),
  SubscriptionConfirmation: subscriptionConfirmation,
  UnsubscribeConfirmation: unsubscribeConfirmation,
};
const cases = Object.entries(unsigned).flatMap(([name, build]) =>
  (["1", "2"] as const).map((version) => ({ name, build, version })),
);

const refusal = (reason: RegExp) => ({ ok: false, reason: expect.stringMatching(reason) });

describe("valid messages", () => {
  it.each(cases)("$name, SignatureVersion $version", async ({ build, version }) => {
    const message = signer.sign(build(), { signatureVersion: version });
    expect(snsMessageSchema.parse(message)).toEqual(message);
    expect(await localVerifier().verify(message)).toEqual({ ok: true });
  });

  // sns-validator leaves Token out of an UnsubscribeConfirmation's string to sign, against the AWS
  // doc, so it is not asked about that type.
  it.each(cases.filter(({ name }) => name !== "UnsubscribeConfirmation"))(
    "$name, SignatureVersion $version, also passes the official validator",
    async ({ build, version }) => {
      const message = signer.sign(build(), { signatureVersion: version });
      expect(await officialAccepts(message, signer)).toBe(true);
      const tampered = { ...message, Message: `${message.Message} ` };
      expect(await officialAccepts(tampered, signer)).toBe(false);
    },
  );
});

describe("refused messages", () => {
  const message = () => signer.sign(notification("SMS delivery event"));

  it("a certificate host that is not allowed (the default: AWS hosts only)", async () => {
    expect(await createSnsVerifier({ allowHttpCertUrl: true }).verify(message())).toEqual(
      refusal(/host 127\.0\.0\.1:\d+ is not allowed/),
    );
    const verifier = localVerifier({ allowedCertHost: /^sns\.[a-z0-9-]+\.amazonaws\.com$/ });
    expect(await verifier.verify(message())).toEqual(refusal(/not allowed/));
  });

  it("an http certificate URL unless http is allowed", async () => {
    const verifier = localVerifier({ allowHttpCertUrl: false });
    expect(await verifier.verify(message())).toEqual(refusal(/must use https, not http:/));
  });

  it("a certificate URL that is not a .pem file, or not a URL", async () => {
    const notPem = { ...message(), SigningCertURL: signer.certUrl.replace(/\.pem$/, ".txt") };
    expect(await localVerifier().verify(notPem)).toEqual(refusal(/not point to a \.pem file/));
    const notUrl = { ...message(), SigningCertURL: "sns.us-east-1.amazonaws.com/cert.pem" };
    expect(await localVerifier().verify(notUrl)).toEqual(refusal(/not a URL/));
  });

  it("a certificate that cannot be fetched", async () => {
    const missing = { ...message(), SigningCertURL: signer.certUrl.replace(/[^/]+$/, "gone.pem") };
    expect(await localVerifier().verify(missing)).toEqual(refusal(/unavailable: .*HTTP 404/));
  });

  it("a signature by another key", async () => {
    const foreign = {
      ...other.sign(notification("SMS delivery event")),
      SigningCertURL: signer.certUrl,
    };
    expect(await localVerifier().verify(foreign)).toEqual(refusal(/does not match/));
  });

  it("a signature that is not base64", async () => {
    const garbled = { ...message(), Signature: "not base64!" };
    expect(await localVerifier().verify(garbled)).toEqual(refusal(/could not be checked/));
  });

  it("any signed field changed", async () => {
    const signed = message();
    const tamperings: SnsMessage[] = [
      { ...signed, Message: signed.Message.replace("DELIVERED", "FAILED") },
      { ...signed, Subject: "Another subject" },
      { ...signed, Subject: undefined },
      { ...signed, MessageId: "another-id" },
      { ...signed, Timestamp: "2026-11-22T10:00:01.000Z" },
      { ...signed, TopicArn: "arn:aws:sns:us-east-1:123456789012:other" },
    ];
    for (const tampered of tamperings) {
      expect(await localVerifier().verify(tampered)).toEqual(refusal(/does not match/));
    }
    const confirmation = signer.sign(subscriptionConfirmation());
    for (const tampered of [
      { ...confirmation, Token: "another-token" },
      { ...confirmation, SubscribeURL: "https://evil.example/confirm" },
      { ...confirmation, Type: "UnsubscribeConfirmation" as const },
    ]) {
      expect(await localVerifier().verify(tampered)).toEqual(refusal(/does not match/));
    }
  });

  it("a version 1 signature claiming to be version 2, and the reverse", async () => {
    const v1 = signer.sign(notification(), { signatureVersion: "1" });
    expect(await localVerifier().verify({ ...v1, SignatureVersion: "2" })).toEqual(
      refusal(/does not match/),
    );
    const v2 = signer.sign(notification(), { signatureVersion: "2" });
    expect(await localVerifier().verify({ ...v2, SignatureVersion: "1" })).toEqual(
      refusal(/does not match/),
    );
  });

  it("an unknown SignatureVersion", async () => {
    for (const version of ["3", "", "constructor"]) {
      const unknown = { ...message(), SignatureVersion: version };
      expect(await localVerifier().verify(unknown)).toEqual(
        refusal(/unsupported SignatureVersion/),
      );
    }
  });

  it("an expired certificate, or one checked after its validity", async () => {
    const old = expired.sign(notification());
    expect(await localVerifier().verify(old)).toEqual(refusal(/outside its validity period/));
    const later = localVerifier({ now: () => new Date(Date.now() + 2 * YEAR_MS) });
    expect(await later.verify(message())).toEqual(refusal(/outside its validity period/));
    const earlier = localVerifier({ now: () => new Date(Date.now() - YEAR_MS) });
    expect(await earlier.verify(message())).toEqual(refusal(/outside its validity period/));
  });
});

describe("certificate cache", () => {
  it("fetches a certificate once per isolate, whatever the verifier or message", async () => {
    const cached = await startSnsSigner();
    try {
      const first = localVerifier();
      expect(await first.verify(cached.sign(notification()))).toEqual({ ok: true });
      const messages = cases.map(({ build, version }) =>
        cached.sign(build(), { signatureVersion: version }),
      );
      const verdicts = await Promise.all(
        messages.flatMap((m) => [first.verify(m), localVerifier().verify(m)]),
      );
      expect(verdicts).toEqual(verdicts.map(() => ({ ok: true })));
      expect(cached.certFetches()).toBe(1);
    } finally {
      await cached.stop();
    }
  });

  it("retries a certificate whose fetch failed", async () => {
    let calls = 0;
    const flaky: typeof fetch = async (input, init) => {
      calls++;
      return calls === 1 ? new Response("busy", { status: 503 }) : fetch(input, init);
    };
    const retried = await startSnsSigner();
    try {
      const verifier = localVerifier({ fetch: flaky });
      const signed = retried.sign(notification());
      expect(await verifier.verify(signed)).toEqual(refusal(/HTTP 503/));
      expect(await verifier.verify(signed)).toEqual({ ok: true });
      expect(retried.certFetches()).toBe(1);
    } finally {
      await retried.stop();
    }
  });
});

describe("snsMessageSchema", () => {
  it("requires SubscribeURL and Token on confirmations, and a known Type", () => {
    const { Token: _, ...tokenless } = signer.sign(subscriptionConfirmation());
    expect(snsMessageSchema.safeParse(tokenless).success).toBe(false);
    const unknownType = { ...signer.sign(notification()), Type: "Unsubscribe" };
    expect(snsMessageSchema.safeParse(unknownType).success).toBe(false);
  });
});
