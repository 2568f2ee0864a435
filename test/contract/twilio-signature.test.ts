/**
 * verifyTwilioSignature against the official SDK as the oracle: twilio-node's
 * getExpectedTwilioSignature signs, its validateRequest / validateRequestWithBody decide, and our
 * verifier must accept exactly the same signatures, including the URL variants (ports, query
 * encodings) the SDK tolerates. The published twilio-node vectors pin both to fixed values.
 */
import { parse as legacyParse, stringify as legacyStringify } from "node:querystring";
import twilio from "twilio";
import { describe, expect, it } from "vitest";
import { twilioSignature } from "../../scripts/fakes/twilio-signer.mjs";
import { twilioParams, verifyTwilioSignature } from "../../src/webhooks/twilio-signature";

const TOKEN = "12345";
const FORM = "application/x-www-form-urlencoded";
const JSON_TYPE = "application/json";

type Params = Record<string, string | string[]>;

/** What Express hands twilio-node for a form body: a repeated name becomes an array. */
function expressParams(body: string): Params {
  const params: Params = {};
  for (const [name, value] of new URLSearchParams(body)) {
    const seen = params[name];
    params[name] = seen === undefined ? value : [seen, value].flat();
  }
  return params;
}

/** The URL as `new URL()` prints it, then with Node's legacy querystring re-encoding. */
function normalisedVariants(url: string): string[] {
  const normalised = new URL(url).toString();
  const query = normalised.indexOf("?");
  if (query === -1) return [normalised];
  const legacy = legacyStringify(legacyParse(normalised.slice(query + 1)));
  return [normalised, `${normalised.slice(0, query)}?${legacy}`];
}

interface FormCase {
  name: string;
  url: string;
  body: string;
  /** URLs a back end may have signed instead of `url`; the oracle decides which pass. */
  signedAs: string[];
}

const formCases: FormCase[] = [
  {
    name: "twilio-node's vector request",
    url: "https://mycompany.com/myapp.php?foo=1&bar=2",
    body: "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212",
    signedAs: [
      "https://mycompany.com:443/myapp.php?foo=1&bar=2",
      "https://mycompany.com:80/myapp.php?foo=1&bar=2",
    ],
  },
  {
    name: "query string with characters new URL() re-encodes",
    url: "https://sms.example.com/webhooks/twilio/status?message_id=msg_01&note=It's+a%7Eb c&flag",
    body: "MessageSid=SM123&MessageStatus=delivered",
    signedAs: [
      "https://sms.example.com:443/webhooks/twilio/status?message_id=msg_01&note=It's+a%7Eb c&flag",
    ],
  },
  {
    name: "query string Node's querystring reorders and repairs",
    url: "https://sms.example.com/webhooks/twilio/status?b=1&2=x&bad=%zz&cut=%C3&b=3&&1=y",
    body: "MessageSid=SM123",
    signedAs: [],
  },
  {
    name: "explicit default port :443",
    url: "https://sms.example.com:443/webhooks/twilio/status?message_id=msg_01",
    body: "MessageSid=SM123&MessageStatus=sent",
    signedAs: ["https://sms.example.com/webhooks/twilio/status?message_id=msg_01"],
  },
  {
    name: "explicit non-default port :8443",
    url: "https://sms.example.com:8443/webhooks/twilio/status?message_id=msg_01",
    body: "MessageSid=SM123&MessageStatus=sent",
    signedAs: [
      "https://sms.example.com/webhooks/twilio/status?message_id=msg_01",
      "https://sms.example.com:443/webhooks/twilio/status?message_id=msg_01",
    ],
  },
  {
    name: "http with no port",
    url: "http://localhost/webhooks/twilio/inbound",
    body: "Body=hi&From=%2B14155550100",
    signedAs: [
      "http://localhost:80/webhooks/twilio/inbound",
      "http://localhost:443/webhooks/twilio/inbound",
    ],
  },
  {
    name: "repeated parameters, duplicated and out of order",
    url: "https://mycompany.com/myapp.php?foo=1&bar=2",
    body: "Sid=CA123&Digits=5678&SidAccount=AC123&Digits=1234&Digits=1234&MessagingBinding.Address=%2B1415&MessagingBinding.Address=%2B1325",
    signedAs: [],
  },
  {
    name: "non-ASCII body and query",
    url: "https://sms.example.com/webhooks/twilio/inbound?tenant=José",
    body: new URLSearchParams({
      Body: "Olá, café ☕ naïve 😀 Ünïcödé",
      From: "+351912345678",
      "Nömé 😀": "ß",
    }).toString(),
    signedAs: [],
  },
  {
    name: "empty values and no parameters at all",
    url: "https://sms.example.com/webhooks/twilio/status",
    body: "ErrorCode=&Body=&MessageStatus=failed",
    signedAs: [],
  },
  {
    name: "an empty form",
    url: "https://sms.example.com/webhooks/twilio/status?message_id=msg_01",
    body: "",
    signedAs: [],
  },
];

const ours = (input: {
  url: string;
  signature: string | undefined;
  body: string;
  contentType?: string | undefined;
  authToken?: string;
}) => verifyTwilioSignature({ authToken: TOKEN, contentType: FORM, ...input });

describe("form callbacks: accepted exactly when twilio-node accepts", () => {
  for (const form of formCases) {
    const params = expressParams(form.body);
    const signedUrls = [
      form.url,
      ...form.signedAs,
      ...normalisedVariants(form.url),
      form.url.replace("/webhooks", "/other"),
    ];

    it(`${form.name}`, async () => {
      const verdicts = [];
      for (const signedUrl of signedUrls) {
        const signature = twilio.getExpectedTwilioSignature(TOKEN, signedUrl, params);
        const oracle = twilio.validateRequest(TOKEN, signature, form.url, params);
        verdicts.push({ signedUrl, oracle });
        expect(await ours({ url: form.url, signature, body: form.body }), signedUrl).toBe(oracle);
      }
      // The URL as called always passes: the table compares real acceptances, not two refusals.
      expect(verdicts[0]?.oracle).toBe(true);
    });
  }

  it("matches the published vectors", async () => {
    const [vector] = formCases;
    if (!vector) throw new Error("no vector case");
    for (const signature of ["RSOYDt4T1cUTdK1PDd93/VVr8B8=", "kvajT1Ptam85bY51eRf/AJRuM3w="]) {
      expect(await ours({ url: vector.url, signature, body: vector.body })).toBe(true);
    }
    const repeated = "Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234";
    const signature = "IK+Dwps556ElfBT0I3Rgjkr1wJU=";
    expect(await ours({ url: vector.url, signature, body: repeated })).toBe(true);
  });
});

describe("form callbacks: tampering is refused, as by twilio-node", () => {
  const url = "https://sms.example.com/webhooks/twilio/status?message_id=msg_01";
  const body = "MessageSid=SM123&MessageStatus=delivered&Body=caf%C3%A9+%F0%9F%98%80";
  const signature = twilio.getExpectedTwilioSignature(TOKEN, url, expressParams(body));

  const refusals: [string, { url: string; body: string; signature: string; authToken: string }][] =
    [
      [
        "a changed value",
        { url, body: body.replace("delivered", "failed"), signature, authToken: TOKEN },
      ],
      ["an added parameter", { url, body: `${body}&ErrorCode=30003`, signature, authToken: TOKEN }],
      [
        "a changed query",
        { url: url.replace("msg_01", "msg_02"), body, signature, authToken: TOKEN },
      ],
      [
        "another host",
        { url: url.replace("sms.example.com", "evil.example"), body, signature, authToken: TOKEN },
      ],
      ["a changed signature", { url, body, signature: `A${signature.slice(1)}`, authToken: TOKEN }],
      ["a wrong token", { url, body, signature, authToken: "54321" }],
    ];

  it("accepts the untouched request", async () => {
    expect(await ours({ url, body, signature })).toBe(true);
  });

  it.each(refusals)("refuses %s", async (_, request) => {
    const oracle = twilio.validateRequest(
      request.authToken,
      request.signature,
      request.url,
      expressParams(request.body),
    );
    expect(oracle).toBe(false);
    expect(await ours(request)).toBe(false);
  });

  it("refuses a missing or empty signature", async () => {
    expect(await ours({ url, body, signature: undefined })).toBe(false);
    expect(await ours({ url, body, signature: "" })).toBe(false);
  });

  it("refuses a form body sent as something else, which the signature does not cover", async () => {
    expect(await ours({ url, body, signature, contentType: "text/plain" })).toBe(false);
  });

  it("reads the content type's media type only", async () => {
    const contentType = "Application/X-WWW-Form-Urlencoded; charset=utf-8";
    expect(await ours({ url, body, signature, contentType })).toBe(true);
  });
});

describe("JSON callbacks: bodySHA256", () => {
  const base = "https://mycompany.com/myapp.php?foo=1&bar=2";
  const jsonCases = [
    '{"property": "value", "boolean": true}',
    "{}",
    JSON.stringify({ Body: "Olá 😀", To: "+14155550100", Nested: { a: [1, 2] } }),
  ];
  const signedUrl = (body: string, url = base) =>
    `${url}&bodySHA256=${twilio.getExpectedBodyHash(body)}`;

  it.each(jsonCases)("accepted exactly when twilio-node accepts: %s", async (body) => {
    const url = signedUrl(body);
    for (const signed of [url, url.replace(".com/", ".com:443/"), url.replace("bar=2", "bar=3")]) {
      const signature = twilio.getExpectedTwilioSignature(TOKEN, signed, {});
      const oracle = twilio.validateRequestWithBody(TOKEN, signature, url, body);
      expect(await ours({ url, signature, body, contentType: JSON_TYPE }), signed).toBe(oracle);
    }
    const signature = twilio.getExpectedTwilioSignature(TOKEN, url, {});
    expect(await ours({ url, signature, body, contentType: JSON_TYPE })).toBe(true);
  });

  it("matches the published vectors", async () => {
    const vectors = [
      ['{"property": "value", "boolean": true}', "a9nBmqA0ju/hNViExpshrM61xv4="],
      ["{}", "Ldidvp12m26NI7eqEvxnEpkd9Hc="],
    ] as const;
    for (const [body, signature] of vectors) {
      const url = signedUrl(body);
      expect(await ours({ url, signature, body, contentType: JSON_TYPE })).toBe(true);
    }
  });

  it("refuses a body that does not match its hash, or a hash missing from the URL", async () => {
    const body = '{"property": "value", "boolean": true}';
    const url = signedUrl(body);
    const signature = twilio.getExpectedTwilioSignature(TOKEN, url, {});
    const tampered = body.replace("value", "other");
    expect(twilio.validateRequestWithBody(TOKEN, signature, url, tampered)).toBe(false);
    expect(await ours({ url, signature, body: tampered, contentType: JSON_TYPE })).toBe(false);

    const unsigned = twilio.getExpectedTwilioSignature(TOKEN, base, {});
    expect(twilio.validateRequestWithBody(TOKEN, unsigned, base, body)).toBe(false);
    expect(await ours({ url: base, signature: unsigned, body, contentType: JSON_TYPE })).toBe(
      false,
    );
  });

  it("refuses an empty or missing signature", async () => {
    const body = "{}";
    const url = signedUrl(body);
    expect(await ours({ url, signature: "", body, contentType: JSON_TYPE })).toBe(false);
    expect(await ours({ url, signature: undefined, body, contentType: JSON_TYPE })).toBe(false);
  });
});

describe("requests without a body (GET webhooks)", () => {
  it("are signed over the URL alone, as validateRequest with no parameters", async () => {
    const url = "https://sms.example.com/webhooks/twilio/inbound?From=%2B14155550100&Body=hi";
    const signature = twilio.getExpectedTwilioSignature(TOKEN, url, {});
    expect(twilio.validateRequest(TOKEN, signature, url, {})).toBe(true);
    expect(await ours({ url, signature, body: "", contentType: undefined })).toBe(true);
    expect(await ours({ url: `${url}x`, signature, body: "", contentType: undefined })).toBe(false);
  });
});

describe("scripts/fakes/twilio-signer.mjs", () => {
  it.each(formCases.filter((form) => !form.name.startsWith("repeated")))(
    "signs $name as twilio-node does, and the verifier accepts it",
    async ({ url, body }) => {
      const params = twilioParams(body);
      const signature = twilioSignature(TOKEN, url, params);
      expect(signature).toBe(twilio.getExpectedTwilioSignature(TOKEN, url, params));
      expect(await ours({ url, signature, body })).toBe(true);
    },
  );
});
