import type { Command } from 'commander';
import type { Config } from '../config/config.ts';
import type { RetentionReport } from '../privacy/retention.ts';
import { cliContext, withServices } from './commands.ts';
import type { WithConfig } from './backup-commands.ts';
import { addSettingOptions, flagsFrom } from './options.ts';

const out = (line: string) => process.stdout.write(`${line}\n`);

function printReport(r: RetentionReport): void {
  for (const id of r.warned) out(`${r.dryRun ? 'would warn' : 'warned'} owners and admins of event ${id}: its data is erased in the coming days`);
  for (const a of r.actions) {
    const what = a.fields[0] === '*' ? 'all personal data' : `field ${a.fields.join(', ')}`;
    out(`${r.dryRun ? 'would erase' : 'erased'} ${what} of ${a.registrations} registration(s) of event ${a.event} (${a.eventId})${a.held ? `; ${a.held} on legal hold kept` : ''}`);
  }
  if (r.actions.length === 0 && r.warned.length === 0) out('nothing is due');
  else if (!r.dryRun) out(`${r.erased} registration change(s) in total`);
}

export async function retentionRunCommand(cfg: Config, flagGiven: boolean, dryRun: boolean): Promise<number> {
  return withServices(cfg, flagGiven, async (ctx) => {
    printReport(await ctx.retention.run({ dryRun, ctx: cliContext('retention run') }));
    await ctx.erasure.settled();
    return 0;
  });
}

export async function replayErasuresCommand(cfg: Config, flagGiven: boolean): Promise<number> {
  return withServices(cfg, flagGiven, async (ctx) => {
    const local = ctx.erasure.replayLocal(cliContext('privacy replay-erasures'));
    const remote = await ctx.erasure.replayFromTargets(cliContext('privacy replay-erasures'));
    await ctx.erasure.settled();
    out(`erasure ledger: ${local.registrations + remote.registrations} registration(s) erased again`);
    const rejected = local.rejected + remote.rejected;
    if (rejected) {
      process.stderr.write(`tessera: ${rejected} ledger record(s) could not be read (damaged or altered)\n`);
      return 3;
    }
    return 0;
  });
}

/** `tessera retention run [--dry-run]` and `tessera privacy replay-erasures`. */
export function registerPrivacyCommands(program: Command, withConfig: WithConfig): void {
  const flagGiven = (cmd: Command) => flagsFrom(cmd).masterKeyFile !== undefined;
  const retention = program.command('retention').description('erase personal data whose retention period is over');
  withConfig(
    addSettingOptions(retention.command('run').description('erase what is due now (the server also does this hourly); --dry-run prints what it would erase').option('--dry-run', 'change nothing; print what would be erased')),
    (cfg, cmd) => retentionRunCommand(cfg, flagGiven(cmd), cmd.opts<{ dryRun?: boolean }>().dryRun === true),
  );
  const privacy = program.command('privacy').description('erasure ledger');
  withConfig(
    addSettingOptions(privacy.command('replay-erasures').description('apply the erasure ledger again (the file beside the keyring and every backup target); exit 3 if a record is unreadable')),
    (cfg, cmd) => replayErasuresCommand(cfg, flagGiven(cmd)),
  );
}
