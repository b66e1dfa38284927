import { Command, CommanderError, Option } from 'commander';
import { isSingleBinary } from '../assets.ts';
import { ConfigError, loadConfig } from '../config/config.ts';
import { isKnownStartupError } from '../bootstrap.ts';
import { addSettingOptions, flagsFrom, keyOptions } from './options.ts';
import { type RotateMasterOptions, auditVerify, doctor, init, keysRotateBackup, keysRotateDb, keysRotateMaster, keysStatus, migrateCommand, serveCommand, userList, userReset2fa, userUnlock } from './commands.ts';
import { CliError } from './errors.ts';
import { registerBackupCommands } from './backup-commands.ts';
import { registerPrivacyCommands } from './privacy-commands.ts';
import { registerLogsCommands } from './logs-commands.ts';


export function buildProgram(): Command {
  const program = new Command('tessera')
    .description('Tessera: self-hosted, security-first event server')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  const withConfig = (cmd: Command, fn: (cfg: ReturnType<typeof loadConfig>, cmd: Command) => Promise<number | void>) =>
    cmd.action(async (_opts: unknown, self: Command) => {
      const flags = flagsFrom(self);
      const cfg = loadConfig(flags);
      const code = await fn(cfg, self);
      if (typeof code === 'number' && code !== 0) process.exitCode = code;
    });

  withConfig(addSettingOptions(program.command('serve', { isDefault: true }).description('run the server (the default command)')), (cfg, cmd) =>
    serveCommand(cfg, flagsFrom(cmd).masterKeyFile !== undefined),
  );
  withConfig(addSettingOptions(program.command('init').description('create the data directory, keys and database without serving'), keyOptions), (cfg, cmd) =>
    init(cfg, flagsFrom(cmd).masterKeyFile !== undefined),
  );
  withConfig(addSettingOptions(program.command('migrate').description('apply pending database migrations'), keyOptions), (cfg, cmd) =>
    migrateCommand(cfg, flagsFrom(cmd).masterKeyFile !== undefined),
  );
  withConfig(
    // Every setting, so doctor runs with the same arguments as serve and checks what serve would use.
    addSettingOptions(program.command('doctor').description('check keys, database, permissions, disk, TLS files and outbound TLS')),
    (cfg, cmd) => doctor(cfg, flagsFrom(cmd).masterKeyFile !== undefined),
  );
  const keys = program.command('keys').description('inspect and manage encryption keys');
  withConfig(addSettingOptions(keys.command('status').description('show the master key source and the data keys in the keyring'), keyOptions), (cfg, cmd) =>
    keysStatus(cfg, flagsFrom(cmd).masterKeyFile !== undefined),
  );
  withConfig(
    addSettingOptions(
      keys
        .command('rotate-master')
        .description('rewrap every data key under a new master key (the server must be stopped)')
        .addOption(new Option('--new-master-key-file <file>', 'file holding the new master key (64 hex characters, mode 600)').conflicts('generate'))
        .addOption(new Option('--generate', 'generate the new key in place of the current key file; the old one is renamed master.key.old-<time>')),
      keyOptions,
    ),
    (cfg, cmd) => keysRotateMaster(cfg, flagsFrom(cmd).masterKeyFile !== undefined, cmd.opts<RotateMasterOptions>()),
  );
  withConfig(
    addSettingOptions(keys.command('rotate-db').description('rekey the database with a new database key (the server must be stopped); a new backup generation follows'), keyOptions),
    (cfg, cmd) => keysRotateDb(cfg, flagsFrom(cmd).masterKeyFile !== undefined),
  );
  withConfig(
    addSettingOptions(keys.command('rotate-backup').description('new backup objects use a new backup key; old keys stay until their objects expire'), keyOptions),
    (cfg, cmd) => keysRotateBackup(cfg, flagsFrom(cmd).masterKeyFile !== undefined),
  );
  const user = program.command('user').description('manage accounts from the server console (every action is audited)');
  withConfig(
    addSettingOptions(user.command('reset-2fa').description('remove a locked-out user\'s two-factor authentication and end their sessions').requiredOption('--email <email>', 'the account\'s email address'), keyOptions),
    (cfg, cmd) => userReset2fa(cfg, flagsFrom(cmd).masterKeyFile !== undefined, cmd.opts<{ email: string }>().email),
  );
  withConfig(
    addSettingOptions(user.command('unlock').description('clear the failed-sign-in lock of an account').requiredOption('--email <email>', 'the account\'s email address'), keyOptions),
    (cfg, cmd) => userUnlock(cfg, flagsFrom(cmd).masterKeyFile !== undefined, cmd.opts<{ email: string }>().email),
  );
  withConfig(addSettingOptions(user.command('list').description('list accounts'), keyOptions), (cfg, cmd) => userList(cfg, flagsFrom(cmd).masterKeyFile !== undefined));
  const audit = program.command('audit').description('the tamper-evident audit log');
  withConfig(addSettingOptions(audit.command('verify').description('walk the hash chain and check it against the anchored head; exit 3 edited row, 4 gap, 5 truncated tail, 6 rollback, 7 bad anchor'), keyOptions), (cfg, cmd) =>
    auditVerify(cfg, flagsFrom(cmd).masterKeyFile !== undefined),
  );
  registerBackupCommands(program, withConfig);
  // Every setting, like serve: the warnings go out by the configured mail server.
  registerPrivacyCommands(program, withConfig);
  registerLogsCommands(program, withConfig);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors were already printed.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof ConfigError) {
      process.stderr.write(`tessera: ${e.message}\n`);
      return 2;
    }
    if (e instanceof CliError) {
      process.stderr.write(`tessera: ${e.message}\n`);
      return e.exitCode;
    }
    if (isKnownStartupError(e)) {
      process.stderr.write(`tessera: ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`tessera: unexpected error: ${(e as Error).message}\n`);
    return 1;
  }
}

// The single binary starts through sea-entry.ts, which calls main() itself once the addon is in.
const isEntry = (() => {
  const arg = process.argv[1] ?? '';
  return /(?:^|[\\/])main\.(?:ts|js|cjs|mjs)$/.test(arg) && !isSingleBinary();
})();

if (isEntry) {
  main(process.argv.slice(2)).then((code) => {
    if (code !== 0) process.exit(code);
  });
}
