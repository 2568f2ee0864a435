import { and, eq } from "drizzle-orm";
import { z } from "zod";
import type { Services } from "../context";
import { providerCredentials } from "../db/schema";
import { PROVIDER_NAMES, type ProviderName } from "../domain/providers";
import type { Config } from "../env";
import { decryptJson } from "../lib/crypto";
import {
  africasTalkingDefaultBaseUrl,
  createAfricasTalkingProvider,
} from "../providers/africastalking";
import {
  createSmsVoiceProvider,
  type SmsVoiceConfig,
  smsVoiceDefaultBaseUrl,
} from "../providers/aws-sms-voice";
import { createSnsProvider, type SnsConfig, snsDefaultBaseUrl } from "../providers/aws-sns";
import {
  createSmsVoiceOptOutList,
  createSnsOptOutList,
  type OptOutListClient,
} from "../providers/opt-out-lists";
import { createTwilioProvider } from "../providers/twilio";
import type { Provider } from "../providers/types";

/** Credentials a tenant may bring, per provider (stored encrypted; never returned). */
export const providerCredentialSchemas = {
  twilio: z
    .object({
      account_sid: z.string().regex(/^AC[0-9a-f]{32}$/i),
      auth_token: z.string().min(1).optional(),
      api_key_sid: z
        .string()
        .regex(/^SK[0-9a-f]{32}$/i)
        .optional(),
      api_key_secret: z.string().min(1).optional(),
      messaging_service_sid: z
        .string()
        .regex(/^MG[0-9a-f]{32}$/i)
        .optional(),
    })
    .strict()
    .refine((c) => c.auth_token || (c.api_key_sid && c.api_key_secret), {
      message: "needs auth_token, or api_key_sid with api_key_secret",
    }),
  "aws-sns": z
    .object({
      access_key_id: z.string().min(16),
      secret_access_key: z.string().min(1),
      session_token: z.string().min(1).optional(),
      region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/),
      default_sender_id: z.string().max(11).optional(),
    })
    .strict(),
  "aws-sms-voice": z
    .object({
      access_key_id: z.string().min(16),
      secret_access_key: z.string().min(1),
      session_token: z.string().min(1).optional(),
      region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/),
      configuration_set: z.string().min(1).max(256).optional(),
    })
    .strict(),
  africastalking: z.object({ username: z.string().min(1), api_key: z.string().min(1) }).strict(),
} satisfies Record<ProviderName, z.ZodType>;

export type ProviderCredentials = {
  [P in ProviderName]: z.infer<(typeof providerCredentialSchemas)[P]>;
};

/** The deployment's own credentials, from secrets, in the same shape tenants use. */
function deploymentCredentials(c: Config): Partial<ProviderCredentials> {
  const aws =
    c.AWS_ACCESS_KEY_ID && c.AWS_SECRET_ACCESS_KEY
      ? {
          access_key_id: c.AWS_ACCESS_KEY_ID,
          secret_access_key: c.AWS_SECRET_ACCESS_KEY,
          session_token: c.AWS_SESSION_TOKEN,
          region: c.AWS_REGION,
        }
      : undefined;
  return {
    twilio:
      c.TWILIO_ACCOUNT_SID &&
      (c.TWILIO_AUTH_TOKEN || (c.TWILIO_API_KEY_SID && c.TWILIO_API_KEY_SECRET))
        ? {
            account_sid: c.TWILIO_ACCOUNT_SID,
            auth_token: c.TWILIO_AUTH_TOKEN,
            api_key_sid: c.TWILIO_API_KEY_SID,
            api_key_secret: c.TWILIO_API_KEY_SECRET,
            messaging_service_sid: c.TWILIO_MESSAGING_SERVICE_SID,
          }
        : undefined,
    "aws-sns": aws && { ...aws, default_sender_id: c.AWS_SNS_DEFAULT_SENDER_ID },
    "aws-sms-voice": aws && { ...aws, configuration_set: c.AWS_SMS_CONFIGURATION_SET },
    africastalking:
      c.AFRICASTALKING_USERNAME && c.AFRICASTALKING_API_KEY
        ? { username: c.AFRICASTALKING_USERNAME, api_key: c.AFRICASTALKING_API_KEY }
        : undefined,
  };
}

const DEFAULT_FX_USD_RATES: Record<string, string> = {
  KES: "0.0077",
  UGX: "0.00027",
  TZS: "0.00039",
  NGN: "0.00065",
  RWF: "0.00072",
  MWK: "0.00058",
  ZMW: "0.037",
};

/** A client for one provider. Base URL overrides (regional endpoints, tests) apply to all. */
function build(
  name: ProviderName,
  creds: Partial<ProviderCredentials>,
  c: Config,
): Provider | null {
  const timeoutMs = c.PROVIDER_TIMEOUT_MS;
  switch (name) {
    case "twilio": {
      const t = creds.twilio;
      if (!t) return null;
      return createTwilioProvider({
        accountSid: t.account_sid,
        auth:
          t.api_key_sid && t.api_key_secret
            ? { kind: "api_key", sid: t.api_key_sid, secret: t.api_key_secret }
            : { kind: "auth_token", token: t.auth_token ?? "" },
        messagingServiceSid: t.messaging_service_sid,
        baseUrl: c.TWILIO_BASE_URL ?? "https://api.twilio.com",
        timeoutMs,
      });
    }
    case "aws-sns": {
      const a = creds["aws-sns"];
      if (!a) return null;
      return createSnsProvider(snsConfig(a, c));
    }
    case "aws-sms-voice": {
      const a = creds["aws-sms-voice"];
      if (!a) return null;
      return createSmsVoiceProvider(smsVoiceConfig(a, c));
    }
    case "africastalking": {
      const at = creds.africastalking;
      if (!at) return null;
      return createAfricasTalkingProvider({
        username: at.username,
        apiKey: at.api_key,
        baseUrl: c.AFRICASTALKING_BASE_URL ?? africasTalkingDefaultBaseUrl(at.username),
        timeoutMs,
        usdPerUnit: { ...DEFAULT_FX_USD_RATES, ...c.FX_USD_RATES },
      });
    }
  }
}

const snsConfig = (a: ProviderCredentials["aws-sns"], c: Config): SnsConfig => ({
  credentials: awsCredentials(a),
  region: a.region,
  baseUrl: c.AWS_SNS_BASE_URL ?? snsDefaultBaseUrl(a.region),
  timeoutMs: c.PROVIDER_TIMEOUT_MS,
  defaultSenderId: a.default_sender_id,
});

const smsVoiceConfig = (a: ProviderCredentials["aws-sms-voice"], c: Config): SmsVoiceConfig => ({
  credentials: awsCredentials(a),
  region: a.region,
  baseUrl: c.AWS_SMS_VOICE_BASE_URL ?? smsVoiceDefaultBaseUrl(a.region),
  timeoutMs: c.PROVIDER_TIMEOUT_MS,
  configurationSetName: a.configuration_set,
});

const awsCredentials = (a: {
  access_key_id: string;
  secret_access_key: string;
  session_token?: string;
}) => ({
  accessKeyId: a.access_key_id,
  secretAccessKey: a.secret_access_key,
  ...(a.session_token ? { sessionToken: a.session_token } : {}),
});

/** Providers that can send without a sender from the register (an account-level default). */
function hasDefaultSender(name: ProviderName, creds: Partial<ProviderCredentials>): boolean {
  if (name === "twilio") return Boolean(creds.twilio?.messaging_service_sid);
  // SNS and End User Messaging pick from the account's origination identities;
  // Africa's Talking falls back to its shared sender.
  return true;
}

export interface AvailableProviders {
  providers: Partial<Record<ProviderName, Provider>>;
  defaultSenderProviders: ProviderName[];
}

/** Which deployment-level providers have usable credentials (for /healthz and accept). */
export function deploymentProviderNames(c: Config): ProviderName[] {
  const creds = deploymentCredentials(c);
  const disabled = new Set(c.PROVIDERS_DISABLED?.split(",").map((p) => p.trim()));
  return PROVIDER_NAMES.filter((name) => creds[name] && !disabled.has(name));
}

export const credentialContext = (tenantId: string, provider: string) =>
  `provider-credentials:${tenantId}:${provider}`;

/**
 * The live providers for a tenant: the deployment's, with the tenant's own
 * credentials taking precedence where it brought some.
 */
export async function availableProviders(
  s: Services,
  tenantId: string,
  tenantSealed: SealedCredentials[],
): Promise<AvailableProviders> {
  const c = s.config;
  const { creds, tenantOwned } = await mergedCredentials(s, tenantId, tenantSealed);
  const disabled = new Set(c.PROVIDERS_DISABLED?.split(",").map((p) => p.trim()));
  const providers: Partial<Record<ProviderName, Provider>> = {};
  const defaultSenderProviders: ProviderName[] = [];
  for (const name of PROVIDER_NAMES) {
    if (disabled.has(name) && !tenantOwned.has(name)) continue;
    const provider = build(name, creds, c);
    if (!provider) continue;
    providers[name] = provider;
    if (hasDefaultSender(name, creds)) defaultSenderProviders.push(name);
  }
  return { providers, defaultSenderProviders };
}

type SealedCredentials = { provider: string; ciphertext: string };

/** The deployment's credentials, overridden by those the tenant brought. */
async function mergedCredentials(s: Services, tenantId: string, tenantSealed: SealedCredentials[]) {
  const c = s.config;
  const creds: Partial<ProviderCredentials> = deploymentCredentials(c);
  const tenantOwned = new Set<ProviderName>();
  for (const row of tenantSealed) {
    const name = row.provider as ProviderName;
    if (!c.ENCRYPTION_KEY || !(name in providerCredentialSchemas)) continue;
    const plain = await decryptJson(
      c.ENCRYPTION_KEY,
      credentialContext(tenantId, name),
      row.ciphertext,
    );
    const parsed = providerCredentialSchemas[name].safeParse(plain);
    if (parsed.success) {
      (creds as Record<string, unknown>)[name] = parsed.data;
      tenantOwned.add(name);
    }
  }
  return { creds, tenantOwned };
}

/** Providers with an opt-out list of their own that the gateway keeps in step. */
export const OPT_OUT_LIST_PROVIDERS = ["aws-sms-voice", "aws-sns"] as const;

/** Clients for the opt-out lists of the tenant's AWS providers (its own credentials first). */
export async function optOutListClients(
  s: Services,
  tenantId: string,
): Promise<Partial<Record<(typeof OPT_OUT_LIST_PROVIDERS)[number], OptOutListClient>>> {
  const c = s.config;
  const rows = await s.db
    .select({ provider: providerCredentials.provider, ciphertext: providerCredentials.ciphertext })
    .from(providerCredentials)
    .where(eq(providerCredentials.tenantId, tenantId));
  const { creds } = await mergedCredentials(s, tenantId, rows);
  const voice = creds["aws-sms-voice"];
  const sns = creds["aws-sns"];
  return {
    ...(voice && {
      "aws-sms-voice": createSmsVoiceOptOutList({
        ...smsVoiceConfig(voice, c),
        optOutListName: c.AWS_SMS_OPT_OUT_LIST,
      }),
    }),
    ...(sns && { "aws-sns": createSnsOptOutList(snsConfig(sns, c)) }),
  };
}

/**
 * The auth token Twilio signs a callback with: the deployment's for its own
 * account, else the token of the tenant's own Twilio account (Twilio signs with
 * the account auth token, also when sends use an API key).
 */
export async function twilioAuthTokenFor(
  s: Services,
  accountSid: string | undefined,
  tenantId: string | undefined,
): Promise<string | undefined> {
  const c = s.config;
  if (!accountSid || accountSid === c.TWILIO_ACCOUNT_SID) return c.TWILIO_AUTH_TOKEN;
  if (!tenantId || !c.ENCRYPTION_KEY) return undefined;
  const [row] = await s.db
    .select({ ciphertext: providerCredentials.ciphertext })
    .from(providerCredentials)
    .where(
      and(eq(providerCredentials.tenantId, tenantId), eq(providerCredentials.provider, "twilio")),
    );
  if (!row) return undefined;
  const plain = await decryptJson(
    c.ENCRYPTION_KEY,
    credentialContext(tenantId, "twilio"),
    row.ciphertext,
  );
  const creds = providerCredentialSchemas.twilio.safeParse(plain);
  return creds.success && creds.data.account_sid === accountSid ? creds.data.auth_token : undefined;
}
