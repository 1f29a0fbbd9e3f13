// Structured JSON logs (pino) on stdout.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, name = 'lattice'): Logger {
  return pino({ name, level, base: { pid: process.pid } });
}
