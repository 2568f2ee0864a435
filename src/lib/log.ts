import { maskPhonesInText } from "../domain/phone";

export type LogFields = Record<string, unknown>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

/**
 * JSON lines on the console (Workers Logs picks them up). Every line passes
 * through the phone mask, so a number never reaches the logs in clear, wherever
 * it hides (a provider's error text, a body, a URL).
 */
export function createLogger(base: LogFields = {}): Logger {
  const write = (level: string, message: string, fields?: LogFields) => {
    const line = JSON.stringify({ level, message, ...base, ...fields });
    const masked = maskPhonesInText(line);
    if (level === "error") console.error(masked);
    else console.log(masked);
  };
  return {
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (fields) => createLogger({ ...base, ...fields }),
  };
}
