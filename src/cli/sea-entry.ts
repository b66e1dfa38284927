import { addonAssetKey, isSingleBinary, readAsset } from '../assets.ts';
import { setNativeBinding } from '../db/open.ts';
import { main } from './main.ts';
import { AddonLoadError, loadAddon, runtimeDir } from './native-addon.ts';

/**
 * Entry point of the single binary (build.mjs bundles this file). The SQLite addon must be in
 * place before any command opens the database, so it is loaded first, then the CLI runs.
 */
async function start(argv: string[]): Promise<number> {
  if (isSingleBinary()) {
    try {
      const addon = loadAddon(readAsset(addonAssetKey), runtimeDir(argv, process.env));
      setNativeBinding(addon.exports, addon.file);
    } catch (e) {
      if (!(e instanceof AddonLoadError)) throw e;
      process.stderr.write(`tessera: ${e.message}\n`);
      return 1;
    }
  }
  return main(argv);
}

start(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exit(code);
  },
  (e: unknown) => {
    process.stderr.write(`tessera: unexpected error: ${(e as Error).message ?? String(e)}\n`);
    process.exit(1);
  },
);
