import type { Mailer } from '../mail/service.ts';
import type { SmsOutbox } from '../sms/service.ts';

/** The daily outbox clean-up: finished mail and SMS older than `keepDays`, both channels. */
export async function purgeOutboxes(outboxes: { mailer: Pick<Mailer, 'purgeFinished'>; sms: Pick<SmsOutbox, 'purgeFinished'> }, keepDays: number): Promise<{ mail: number; sms: number }> {
  const keepMs = keepDays * 86_400_000;
  return { mail: await outboxes.mailer.purgeFinished(keepMs), sms: await outboxes.sms.purgeFinished(keepMs) };
}
