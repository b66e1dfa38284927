import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import type { Hono } from 'hono';
import { type SettingName, loadConfig } from '../../src/config/config.ts';
import { type RunningServer, startServer } from '../../src/http/server.ts';
import type { AppEnv } from '../../src/http/types.ts';
import type { SyncFn } from '../../src/db/writer.ts';
import { afterAll, beforeAll } from 'vitest';
import { type SmtpSink, startSmtpSink } from './smtp-sink.ts';
import { tempDir, writeKeyFile } from './temp.ts';

export interface TestServer extends RunningServer {
  dir: string;
  dataDir: string;
  keyFile: string;
  logFile: string;
  announced: string[];
}

let counter = 0;

/** A real Tessera on 127.0.0.1 with a fresh encrypted data dir and its own key file. */
export async function startTestServer(
  flags: Partial<Record<SettingName, unknown>> = {},
  opts: { extendApp?: (app: Hono<AppEnv>) => void; now?: () => number; dir?: string; walSync?: SyncFn } = {},
): Promise<TestServer> {
  const dir = opts.dir ?? tempDir();
  const keyFile = path.join(dir, 'master.key');
  if (!fs.existsSync(keyFile)) writeKeyFile(dir);
  const dataDir = path.join(dir, 'data');
  const cfg = loadConfig({ port: 0, host: '127.0.0.1', dataDir, masterKeyFile: keyFile, logLevel: 'info', ...flags }, {});
  const logDir = process.env.TESSERA_TEST_LOG_DIR ?? path.join(dir, 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, `server-${process.pid}-${++counter}.log`);
  const announced: string[] = [];
  const server = await startServer(cfg, {
    env: {},
    masterKeyFlagGiven: true,
    logDestination: pino.destination({ dest: logFile, sync: true }),
    announce: (l) => announced.push(l),
    extendApp: opts.extendApp,
    now: opts.now,
    ...(opts.walSync ? { walSync: opts.walSync } : {}),
  });
  return { ...server, dir, dataDir, keyFile, logFile, announced };
}

/**
 * For a describe block: a test server that delivers mail to its own SMTP sink, both started
 * before its tests (handed to `use`) and closed after them.
 */
export function withSmtpServer(use: (server: TestServer, sink: SmtpSink) => void): void {
  let server: TestServer | undefined;
  let sink: SmtpSink | undefined;
  beforeAll(async () => {
    sink = await startSmtpSink();
    server = await startTestServer({ smtpUrl: sink.url });
    use(server, sink);
  });
  afterAll(async () => {
    await server?.close();
    await sink?.close();
  });
}
