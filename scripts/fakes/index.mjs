// All four fake providers at once, with fixed test credentials, for the
// integration tests and the benchmark (the Worker in workerd calls them over
// HTTP). `workerEnv` is what the Worker needs to use them.
import { startFakeAfricasTalking } from "./africastalking.mjs";
import { startFakeSmsVoice } from "./aws-sms-voice.mjs";
import { startFakeSns } from "./aws-sns.mjs";
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

export async function startFakeProviders() {
  const c = FAKE_CREDENTIALS;
  const fakes = {
    twilio: await startFakeTwilio(c.twilio),
    "aws-sns": await startFakeSns(c.aws),
    "aws-sms-voice": await startFakeSmsVoice(c.aws),
    africastalking: await startFakeAfricasTalking(c.africastalking),
  };
  return {
    fakes,
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
      AFRICASTALKING_USERNAME: c.africastalking.username,
      AFRICASTALKING_API_KEY: c.africastalking.apiKey,
      AFRICASTALKING_BASE_URL: fakes.africastalking.url,
    },
    stop: () => Promise.all(Object.values(fakes).map((fake) => fake.stop())),
  };
}
