import type http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';

interface Conn {
  /** Requests Node has handed to the app whose response has not closed yet. */
  inFlight: number;
  /** The response to the newest request on this connection: the only one that may say "close". */
  latest: http.ServerResponse | undefined;
  /** bytesRead at the previous sweep; -1 before the first. */
  lastRead: number;
}

/**
 * Graceful shutdown for a Node HTTP(S) server that never resets a request the client has sent.
 *
 * Node's own `server.close()` also destroys every connection it considers idle, and so does
 * `closeIdleConnections()`. A keep-alive connection is "idle" between the end of one response and
 * the moment Node reads the next request, so one whose next request already sits in the kernel's
 * receive buffer was destroyed with it unread: the client got ECONNRESET for a request it had sent
 * before the shutdown began.
 *
 * Here a connection is closed only when it is provably quiet: no request in flight and no byte
 * read across a whole turn of the event loop (two sweeps apart, with I/O polled in between), so
 * everything that had reached the kernel before has been read and answered. While requests are in
 * flight on a quiet connection, its newest response goes out with `Connection: close` and Node
 * closes the connection after it; pipelined requests before it are all answered first.
 */
export class ConnectionDrain {
  private readonly conns = new Map<net.Socket, Conn>();

  constructor(private readonly server: http.Server) {
    // Over TLS the requests arrive on the TLS socket, which exists once the handshake is done.
    server.on(server instanceof tls.Server ? 'secureConnection' : 'connection', (socket: net.Socket) => {
      this.conns.set(socket, { inFlight: 0, latest: undefined, lastRead: -1 });
      socket.once('close', () => this.conns.delete(socket));
    });
    // Prepended so the count is right before the app (which may answer synchronously) runs.
    server.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const conn = this.conns.get(req.socket);
      if (!conn) return;
      conn.inFlight++;
      conn.latest = res;
      res.once('close', () => {
        conn.inFlight--;
        if (conn.latest === res) conn.latest = undefined;
      });
    });
  }

  /**
   * Stops accepting connections, answers every request that has arrived, closes each connection
   * once it is quiet, and resolves when all are closed. After `timeoutMs` the remaining
   * connections are cut; resolves with how many were still open then.
   */
  close(timeoutMs: number, sweepMs = 10): Promise<number> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (cut: number) => {
        if (done) return;
        done = true;
        clearInterval(sweep);
        clearTimeout(timer);
        resolve(cut);
      };
      // net.Server#close, not http.Server#close: the latter destroys "idle" keep-alive
      // connections at once, which is the reset this class exists to avoid. Its callback only
      // counts the connections it accepted itself; those handed over by other listening
      // sockets (Acceptors) count here, so done means every connection seen is closed.
      let listening = true;
      net.Server.prototype.close.call(this.server, () => {
        listening = false;
        if (this.conns.size === 0) finish(0);
      });
      const sweep = setInterval(() => {
        this.sweep();
        if (!listening && this.conns.size === 0) finish(0);
      }, sweepMs);
      const timer = setTimeout(() => {
        const open = this.conns.size;
        this.server.closeAllConnections();
        for (const socket of this.conns.keys()) socket.destroy();
        finish(open);
      }, timeoutMs);
      timer.unref();
      this.sweep();
    });
  }

  private sweep(): void {
    for (const [socket, conn] of this.conns) {
      if (socket.destroyed) {
        this.conns.delete(socket);
        continue;
      }
      const read = socket.bytesRead;
      // Paused by Node under write pressure: requests may wait unread in the kernel.
      const quiet = conn.lastRead === read && !socket.isPaused();
      conn.lastRead = read;
      if (!quiet) continue;
      if (conn.inFlight === 0) socket.destroy();
      else if (conn.latest && !conn.latest.headersSent) conn.latest.shouldKeepAlive = false;
    }
  }
}
