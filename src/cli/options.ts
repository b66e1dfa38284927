import { type Command, Option } from 'commander';
import { type SettingName, settings } from '../config/config.ts';

/** Adds the settings table's flags to a command; help shows the env var beside each flag. */
export function addSettingOptions(cmd: Command, names: readonly SettingName[] = Object.keys(settings) as SettingName[]): Command {
  for (const name of names) {
    const s = settings[name];
    const isBool = name === 'trustProxy';
    const opt = new Option(`--${s.flag} ${isBool ? '[value]' : '<value>'}`, s.help).env(s.env);
    cmd.addOption(opt);
  }
  return cmd;
}

/**
 * Commander already folds env vars in; we hand only what came from the command line to
 * loadConfig, which owns precedence and validation, so errors name the flag or the env var.
 */
export function flagsFrom(cmd: Command): Partial<Record<SettingName, unknown>> {
  const out: Partial<Record<SettingName, unknown>> = {};
  const values = cmd.opts<Record<string, unknown>>();
  for (const name of Object.keys(settings) as SettingName[]) {
    if (cmd.getOptionValueSource(name) === 'cli') out[name] = values[name];
  }
  return out;
}

export const keyOptions: SettingName[] = ['dataDir', 'masterKeyFile', 'masterKeyCommand', 'logLevel'];
