// All four fake providers at once, with fixed test credentials, for the
// integration tests and the benchmark (the Worker in workerd calls them over
// HTTP). `workerEnv` is what the Worker needs to use them, and to accept the
// delivery callbacks they produce (see callbacks.mjs).
import { startFakeAfricasTalking } from "./africastalking.mjs";
import { startFakeSmsVoice } from "./aws-sms-voice.mjs";
import { startFakeSns } from "./aws-sns.mjs";
import { startSnsSigner } from "./sns-signer.mjs";
import { startFakeTwilio } from "./twilio.mjs";

export const FAKE_CREDENTIALS = {
  twilio: {
    accountSid: "AC00000000000000000000000000000001",
    authToken: "fake-twilio-auth-token",
    apiKeySid: "SK00000000000000000000000000000001",
    apiKeySecret: "fake-twilio-api-key-secret",
  },
  aws: {
    accessKeyId: "AKIAFAKEFAKEFAKE0001",
    secretAccessKey: "fake/aws/secret/access/key/0000000000001",
    region: "eu-west-1",
  },
  africastalking: { username: "gateway-test", apiKey: "fake-africastalking-api-key" },
};

/**
 * Where the fakes' callbacks go and how the Worker recognises them. `baseUrl` is the gateway
 * the callbacks are addressed to when `startFakeProviders` is given none: the integration
 * tests' Worker believes it is https://gateway.test (PUBLIC_BASE_URL in vitest.config.ts), and
 * the tests deliver the callbacks into it by path.
 */
export const FAKE_WEBHOOKS = {
  baseUrl: "https://gateway.test",
  africastalkingToken: "fake-africastalking-webhook-token",
  topicArn: "arn:aws:sns:eu-west-1:000000000000:sms-gateway-events",
  configurationSet: "sms-gateway-events",
};

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Starts the four fakes and one SNS signer. `gatewayUrl`: the gateway the Africa's Talking
 * delivery reports and the End User Messaging events (through SNS) are addressed to (Twilio's
 * go to each send's StatusCallback). `deliverCallbacks`: the fakes POST them there themselves,
 * not only keep them in their outboxes (`GET /__fake/callbacks`).
 */
export async function startFakeProviders({ gatewayUrl, deliverCallbacks = false } = {}) {
  const c = FAKE_CREDENTIALS;
  const w = FAKE_WEBHOOKS;
  const base = (gatewayUrl ?? w.baseUrl).replace(/\/$/, "");
  const snsSigner = await startSnsSigner({});
  const certHost = new URL(snsSigner.certUrl);
  const fakes = {
    twilio: await startFakeTwilio({ ...c.twilio, deliverCallbacks }),
    "aws-sns": await startFakeSns(c.aws),
    "aws-sms-voice": await startFakeSmsVoice({
      ...c.aws,
      snsEndpoint: `${base}/webhooks/aws/sns`,
      topicArn: w.topicArn,
      configurationSetName: w.configurationSet,
      snsSigner,
      deliverCallbacks,
    }),
    africastalking: await startFakeAfricasTalking({
      ...c.africastalking,
      deliveryReportUrl: `${base}/webhooks/africastalking/delivery?token=${encodeURIComponent(w.africastalkingToken)}`,
      deliverCallbacks,
    }),
  };
  return {
    fakes,
    snsSigner,
    workerEnv: {
      TWILIO_ACCOUNT_SID: c.twilio.accountSid,
      TWILIO_API_KEY_SID: c.twilio.apiKeySid,
      TWILIO_API_KEY_SECRET: c.twilio.apiKeySecret,
      TWILIO_AUTH_TOKEN: c.twilio.authToken,
      TWILIO_BASE_URL: fakes.twilio.url,
      AWS_ACCESS_KEY_ID: c.aws.accessKeyId,
      AWS_SECRET_ACCESS_KEY: c.aws.secretAccessKey,
      AWS_REGION: c.aws.region,
      AWS_SNS_BASE_URL: fakes["aws-sns"].url,
      AWS_SMS_VOICE_BASE_URL: fakes["aws-sms-voice"].url,
      AWS_SMS_CONFIGURATION_SET: w.configurationSet,
      AWS_SNS_TOPIC_ARNS: w.topicArn,
      // The signer's certificate URL is http://127.0.0.1:<port>/…: its host with or without
      // the port, so the pattern holds whether the gateway tests the URL's host or hostname.
      SNS_CERT_HOST_PATTERN: `^${escapeRegExp(certHost.hostname)}(:${certHost.port})?$`,
      SNS_ALLOW_HTTP_CERT_URL: "1",
      AFRICASTALKING_USERNAME: c.africastalking.username,
      AFRICASTALKING_API_KEY: c.africastalking.apiKey,
      AFRICASTALKING_BASE_URL: fakes.africastalking.url,
      AFRICASTALKING_WEBHOOK_TOKEN: w.africastalkingToken,
    },
    stop: async () => {
      await Promise.all(Object.values(fakes).map((fake) => fake.stop()));
      await snsSigner.stop();
    },
  };
}
