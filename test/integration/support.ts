import {
  createExecutionContext,
  createScheduledController,
  env,
  SELF,
  waitOnExecutionContext,
} from "cloudflare:test";
import { Redis } from "@upstash/redis/cloudflare";
import { expect } from "vitest";
import { openScope, type Services } from "../../src/context";
import { type Env, loadConfig, queuesOf } from "../../src/env";
import worker from "../../src/index";
import { sandboxLedgerKey } from "../../src/services/sandbox";

export const ADMIN = { authorization: `Bearer ${env.ADMIN_TOKEN}` };

export function api(path: string, init: RequestInit = {}): Promise<Response> {
  return SELF.fetch(`https://gateway.test${path}`, init);
}

export function postJson(
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return api(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

export interface TestTenant {
  id: string;
  key: string;
  keyId: string;
  auth: Record<string, string>;
}

export async function newTenant(apiKey: Record<string, unknown> = {}): Promise<TestTenant> {
  const response = await postJson(
    "/v1/admin/tenants",
    { name: `tenant ${crypto.randomUUID()}`, api_key: apiKey },
    ADMIN,
  );
  if (response.status !== 201) throw new Error(`tenant creation: ${await response.text()}`);
  const body = (await response.json()) as { id: string; api_key: { id: string; key: string } };
  return {
    id: body.id,
    key: body.api_key.key,
    keyId: body.api_key.id,
    auth: { authorization: `Bearer ${body.api_key.key}` },
  };
}

export interface MessageView {
  id: string;
  status: string;
  status_reason: string | null;
  to: string | null;
  body: string | null;
  provider: string | null;
  provider_message_id: string | null;
  attempts: {
    id: string;
    started_at: string;
    sender: string | null;
    outcome: string | null;
    provider: string;
    error_code: string | null;
    resend_of: string | null;
  }[];
  events: { status: string; applied: boolean; source: string }[];
}

export async function getMessage(tenant: TestTenant, id: string): Promise<MessageView> {
  const response = await api(`/v1/messages/${id}`, { headers: tenant.auth });
  if (response.status !== 200) throw new Error(`GET message: ${response.status}`);
  return (await response.json()) as MessageView;
}

/** Polls until the message reaches one of `statuses` (bounded by attempts, not asserted on time). */
export async function waitForStatus(
  tenant: TestTenant,
  id: string,
  statuses: string[],
): Promise<MessageView> {
  for (let i = 0; i < 200; i++) {
    const message = await getMessage(tenant, id);
    if (statuses.includes(message.status)) return message;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const last = await getMessage(tenant, id);
  throw new Error(`message ${id} stayed ${last.status}, expected ${statuses.join("|")}`);
}

/** Runs `fn` with a services scope like a request's, and waits for its background work. */
export async function withServices<T>(fn: (s: Services) => Promise<T>): Promise<T> {
  const bindings = env as unknown as Env;
  const scope = openScope(loadConfig(bindings), { test: true }, undefined, queuesOf(bindings));
  try {
    return await fn(scope.services);
  } finally {
    await scope.finished();
  }
}

/** Invokes the Worker's Cron handler as Cloudflare would, at a chosen scheduled time. */
export async function runCron(scheduledTime: Date): Promise<void> {
  const controller = createScheduledController({
    scheduledTime,
    cron: "* * * * *",
  });
  const ctx = createExecutionContext();
  await worker.scheduled(controller, env as unknown as Env, ctx);
  await waitOnExecutionContext(ctx);
}

const redis = () =>
  new Redis({
    url: env.UPSTASH_REDIS_REST_URL,
    token: env.UPSTASH_REDIS_REST_TOKEN,
    enableTelemetry: false,
  });

/** How many requests the sandbox provider accepted for a message. */
export async function sandboxAccepted(messageId: string): Promise<number> {
  return Number((await redis().get<number>(sandboxLedgerKey(messageId))) ?? 0);
}

/** An operator's PUT of one of a tenant's settings (`budget`, `limits`). */
async function putTenantSetting(tenant: TestTenant, setting: "budget" | "limits", value: unknown) {
  const response = await api(`/v1/admin/tenants/${tenant.id}/${setting}`, {
    method: "PUT",
    headers: { "content-type": "application/json", ...ADMIN },
    body: JSON.stringify({ [setting]: value }),
  });
  if (response.status !== 204) throw new Error(`${setting} not set: ${await response.text()}`);
}

/** Sets a tenant's spend caps (USD strings). */
export const setBudget = (tenant: TestTenant, budget: unknown) =>
  putTenantSetting(tenant, "budget", budget);

/** Sets a tenant's rate-limit overrides. */
export const setLimits = (tenant: TestTenant, limits: unknown) =>
  putTenantSetting(tenant, "limits", limits);

export const usd = (micros: number) => (micros / 1_000_000).toFixed(6);

export const minutesFromNow = (minutes: number) => new Date(Date.now() + minutes * 60_000);

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  request_id: string;
  errors?: { path: string; message: string }[];
}

export async function expectProblem(
  response: Response,
  status: number,
  code: string,
): Promise<Problem> {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  const problem = (await response.json()) as Problem;
  expect(problem).toMatchObject({ status, code });
  expect(problem.type).toContain(code.replaceAll("_", "-"));
  expect(problem.title.length).toBeGreaterThan(0);
  expect(problem.detail.length).toBeGreaterThan(0);
  expect(problem.request_id).toBe(response.headers.get("request-id"));
  return problem;
}

/** A sender number no other test registered (a number or short code belongs to one tenant). */
export const uniqueSenderNumber = () =>
  `+1628${String(Math.floor(Math.random() * 10_000_000)).padStart(7, "0")}`;

/** A live-key tenant with one registered sender. */
export async function liveTenantWith(sender: Record<string, unknown>): Promise<TestTenant> {
  const tenant = await newTenant({ mode: "live" });
  const response = await postJson("/v1/senders", sender, tenant.auth);
  expect(response.status).toBe(201);
  return tenant;
}

/** HMAC-SHA1 of URL + sorted params, base64: Twilio's scheme, written here independently. */
export async function twilioSignature(token: string, url: string, params: Record<string, string>) {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, key) => acc + key + params[key], url);
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(token),
    { name: "HMAC", hash: "SHA-1" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(data));
  return btoa(String.fromCharCode(...new Uint8Array(mac)));
}

export async function twilioInbound(params: Record<string, string>, token = env.TWILIO_AUTH_TOKEN) {
  const url = "https://gateway.test/webhooks/twilio/inbound";
  return SELF.fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-twilio-signature": await twilioSignature(token, url, params),
    },
    body: new URLSearchParams(params).toString(),
  });
}
