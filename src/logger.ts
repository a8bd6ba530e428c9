// Structured logs: JSON normally, readable lines on a terminal. Tokens are never logged;
// the Authorization and host-token headers are redacted should a request object be logged.
import { pino } from "pino";

export type Logger = pino.Logger;

export function createLogger(options: { level?: string; pretty?: boolean } = {}): Logger {
  return pino({
    level: options.level ?? process.env.OPENWORK_LOG_LEVEL ?? "info",
    base: undefined,
    redact: ["req.headers.authorization", 'req.headers["x-openwork-host-token"]', "token", "hostToken"],
  });
}

export const silentLogger: Logger = pino({ level: "silent" });
