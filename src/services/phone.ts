import type { Services } from "../context";
import { normalizePhone } from "../domain/phone";
import { ApiError } from "../errors";

/** A request's `to`, in E.164 with its country, or the API's invalid_phone_number problem. */
export function destinationOrThrow(s: Services, to: string) {
  const phone = normalizePhone(to, s.config.DEFAULT_REGION);
  if (!phone.ok) {
    throw new ApiError(
      "invalid_phone_number",
      `"to" is not a valid mobile number (${phone.reason})`,
      [{ path: "to", message: phone.reason }],
    );
  }
  return phone;
}
