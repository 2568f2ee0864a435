import { expect } from "vitest";
import type { FakeServer, ReceivedRequest } from "../../scripts/fakes/common.mjs";

/**
 * The one request a send made: a provider client must never retry on its own (a retried send
 * can deliver twice), so every test that sends expects exactly one.
 */
export function onlyRequest(fake: FakeServer): ReceivedRequest & { form: URLSearchParams } {
  const received = fake.requests();
  expect(received).toHaveLength(1);
  const [request] = received;
  if (!request) throw new Error("no request received");
  return { ...request, form: new URLSearchParams(request.body) };
}

/** A fetch that never touches the network: answers every request with this canned response. */
export const answerWith =
  (
    status: number,
    body: string,
    contentType = "application/json",
    headers: Record<string, string> = {},
  ) =>
  async () =>
    new Response(body, { status, headers: { "content-type": contentType, ...headers } });
