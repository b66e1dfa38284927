/**
 * The yardstick for HTTP figures: bare node:http answering every request with fixed bytes, so a
 * ratio against it measures what Tessera adds on top of Node itself.
 * Usage: node --import tsx bench/baseline-server.ts --port P --body-file F --content-type T
 */
import fs from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'body-file': { type: 'string' },
    'content-type': { type: 'string' },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`baseline: invalid --port ${values.port ?? ''}`);
if (!values['body-file'] || !values['content-type']) throw new Error('baseline: --body-file and --content-type are required');

const body = fs.readFileSync(values['body-file']);
const headers = { 'content-type': values['content-type'], 'content-length': String(body.length) };

const server = http.createServer((_req, res) => {
  res.writeHead(200, headers);
  res.end(body);
});
server.listen(port, '127.0.0.1');

const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
