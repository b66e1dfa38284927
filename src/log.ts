import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Technical log: operations only, never personal data. People are referred to by internal id.
 * The redact list is a safety net for fields that should never have been logged in the first
 * place; a test greps a whole test run's log for the test users' emails.
 */
export const redactPaths = [
  'email', '*.email', 'name', 'user.name', 'attendee.name', 'person.name', 'password', '*.password', 'token', '*.token', 'secret', '*.secret',
  'answers', '*.answers', 'body', '*.body', 'to', '*.to', 'subject', '*.subject', 'phone', '*.phone',
  'req.headers.cookie', 'req.headers.authorization', 'headers.cookie', 'headers.authorization',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: redactPaths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
