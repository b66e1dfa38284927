import net from 'node:net';
import { waitFor } from './backup.ts';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * One TCP connection speaking HTTP/1.1 by hand, for what fetch cannot do: pipelining, bodies
 * written in pieces, and seeing exactly how the server ends the connection (a clean end, or a
 * reset) after the responses it sent.
 */
export class RawConnection {
  readonly responses: RawResponse[] = [];
  error: NodeJS.ErrnoException | undefined;
  ended = false;
  private buf = Buffer.alloc(0);

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.parse();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => (this.error = e));
    socket.on('close', () => {
      this.ended = true;
      this.parse(true);
    });
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  /** Writes; a write the server already refused is recorded in `error`, not thrown. */
  write(data: string | Buffer): void {
    this.socket.write(data, () => {});
  }

  /** Resolves once `n` responses are complete, or the connection closed (whichever first). */
  async responsesOrClose(n: number, timeoutMs = 10_000): Promise<RawResponse[]> {
    await waitFor(`${n} responses or a closed connection`, () => this.responses.length >= n || this.ended, timeoutMs, 5);
    return this.responses;
  }

  async closed(timeoutMs = 10_000): Promise<void> {
    await waitFor('the connection to close', () => this.ended, timeoutMs, 5);
  }

  private parse(atEnd = false): void {
    for (;;) {
      const head = this.buf.indexOf('\r\n\r\n');
      if (head < 0) return;
      const [statusLine = '', ...lines] = this.buf.subarray(0, head).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      let rest = this.buf.subarray(head + 4);
      let body: Buffer;
      if (headers['content-length'] !== undefined) {
        const len = Number(headers['content-length']);
        if (rest.length < len) return;
        body = rest.subarray(0, len);
        rest = rest.subarray(len);
      } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
        const parts: Buffer[] = [];
        let at = 0;
        for (;;) {
          const eol = rest.indexOf('\r\n', at);
          if (eol < 0) return;
          const size = parseInt(rest.subarray(at, eol).toString(), 16);
          if (rest.length < eol + 2 + size + 2) return;
          parts.push(rest.subarray(eol + 2, eol + 2 + size));
          at = eol + 2 + size + 2;
          if (size === 0) break;
        }
        body = Buffer.concat(parts);
        rest = rest.subarray(at);
      } else {
        // No length: the body runs to the end of the connection.
        if (!atEnd) return;
        body = rest;
        rest = Buffer.alloc(0);
      }
      this.responses.push({ status: Number(statusLine.split(' ')[1]), headers, body: body.toString() });
      this.buf = rest;
    }
  }
}

/** A GET request line and headers, ready to write. */
export const rawGet = (path: string, headers: Record<string, string> = {}) =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
