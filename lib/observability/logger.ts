// pino JSON logs for every persys process; level from --log-level or PERSYS_LOG_LEVEL.
import pino, { type Logger } from 'pino';

export function createLogger(component: string, level = process.env.PERSYS_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { component, pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}

/** A logger that writes nothing: for tests and in-process tools. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
