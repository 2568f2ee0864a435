/**
 * The official SigV4 test-suite vectors (aws-sig-v4-test-suite, as copied into aws4fetch,
 * aws-c-auth and smithy), run through OUR signing path: createAwsClient + signAwsRequest.
 *
 * Reproducing them faithfully needs only the suite's inputs: the vectors' requests carry no
 * header besides Host, X-Amz-Date (added by the signer from `at`), Content-Type in the POST case
 * and X-Amz-Security-Token (added by the signer from the credentials). aws4fetch leaves
 * content-type out of the signature unless `allHeaders` is set; signAwsRequest always sets it
 * (as the AWS SDKs sign content-type), which is exactly what makes the POST vector's
 * `SignedHeaders=content-type;host;x-amz-date` come out.
 */
import { describe, expect, it } from "vitest";
import {
  type AwsCredentials,
  createAwsClient,
  signAwsRequest,
} from "../../src/providers/aws-signing";

const SUITE_CREDENTIALS: AwsCredentials = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};
const SCOPE = { service: "service", region: "us-east-1" };
const AT = new Date("2015-08-30T12:36:00Z");
const URL_ = "https://example.amazonaws.com/";
const CREDENTIAL = "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request";

describe("SigV4 test-suite vectors through aws-signing.ts", () => {
  it("get-vanilla", async () => {
    const signed = await signAwsRequest(createAwsClient(SUITE_CREDENTIALS, SCOPE), URL_, {
      method: "GET",
      at: AT,
    });
    expect(signed.headers.get("x-amz-date")).toBe("20150830T123600Z");
    expect(signed.headers.get("authorization")).toBe(
      `AWS4-HMAC-SHA256 ${CREDENTIAL}, SignedHeaders=host;x-amz-date, ` +
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    );
  });

  it("post-x-www-form-urlencoded (content-type is signed)", async () => {
    const signed = await signAwsRequest(createAwsClient(SUITE_CREDENTIALS, SCOPE), URL_, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "Param1=value1",
      at: AT,
    });
    expect(signed.headers.get("authorization")).toBe(
      `AWS4-HMAC-SHA256 ${CREDENTIAL}, SignedHeaders=content-type;host;x-amz-date, ` +
        "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
    );
    // The signed body is the one sent.
    expect(await signed.text()).toBe("Param1=value1");
  });

  it("get-vanilla-with-session-token (the token header is set before signing)", async () => {
    const token = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
    const client = createAwsClient({ ...SUITE_CREDENTIALS, sessionToken: token }, SCOPE);
    const signed = await signAwsRequest(client, URL_, { method: "GET", at: AT });
    expect(signed.headers.get("x-amz-security-token")).toBe(token);
    expect(signed.headers.get("authorization")).toBe(
      `AWS4-HMAC-SHA256 ${CREDENTIAL}, SignedHeaders=host;x-amz-date;x-amz-security-token, ` +
        "Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
    );
  });

  it("uses the given service and region, never ones guessed from the host", async () => {
    const client = createAwsClient(SUITE_CREDENTIALS, {
      service: "sms-voice",
      region: "eu-west-1",
    });
    const signed = await signAwsRequest(client, "https://sns.us-east-1.amazonaws.com/", {
      method: "GET",
      at: AT,
    });
    expect(signed.headers.get("authorization")).toContain(
      "Credential=AKIDEXAMPLE/20150830/eu-west-1/sms-voice/aws4_request,",
    );
  });

  it("never retries through AwsClient.fetch", () => {
    expect(createAwsClient(SUITE_CREDENTIALS, SCOPE).retries).toBe(0);
  });
});
