import net from 'node:net';

/**
 * More listening sockets on the server's port, each handing its connections to the server.
 *
 * libuv accepts one connection per turn of the event loop and listening socket (since 1.45:
 * "don't accept() connections in a loop"). At a registration opening a turn runs every request
 * that arrived during the last one and can take tens of milliseconds, so new connections were
 * accepted at a few dozen a second while hundreds arrived: they sat in the kernel's accept queue
 * for seconds (the "slow first seconds"), while requests on open connections were answered in
 * milliseconds. With SO_REUSEPORT the kernel spreads new connections over `count` sockets and
 * each turn accepts one from every socket that has one waiting.
 *
 * Linux lets only processes of the same user join a port's SO_REUSEPORT group.
 */
/**
 * What a listening socket applies to each connection it accepts (Nagle off, TCP keep-alive),
 * as the target server was built with: net.Server keeps them as fields (http.Server turns Nagle
 * off by default). The initial delay is kept in seconds and given in milliseconds.
 */
export function connectionOptions(target: net.Server): net.ServerOpts {
  const t = target as net.Server & { noDelay?: boolean; keepAlive?: boolean; keepAliveInitialDelay?: number };
  return { noDelay: t.noDelay ?? false, keepAlive: t.keepAlive ?? false, keepAliveInitialDelay: (t.keepAliveInitialDelay ?? 0) * 1000 };
}

export class Acceptors {
  private readonly servers: net.Server[] = [];

  /** Opens `count` more sockets on `host:port`; the target must itself listen with `reusePort`. */
  static async open(target: net.Server, host: string, port: number, count: number, backlog: number): Promise<Acceptors> {
    const a = new Acceptors();
    // Otherwise the extra sockets' connections would keep Nagle's algorithm on: a response
    // written in two parts would wait for the client's delayed acknowledgement.
    const options = connectionOptions(target);
    try {
      for (let i = 0; i < count; i++) {
        // Emitted synchronously on accept, before the socket reads: the target's own listener
        // (http.Server's parser, tls.Server's handshake) is attached before any byte arrives.
        const s = net.createServer(options, (socket) => target.emit('connection', socket));
        a.servers.push(s);
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject);
          s.listen({ host, port, backlog, reusePort: true }, () => {
            s.off('error', reject);
            resolve();
          });
        });
      }
    } catch (e) {
      a.close();
      throw e;
    }
    return a;
  }

  /** Stops accepting on the extra sockets; connections already handed over belong to the target. */
  close(): void {
    for (const s of this.servers) if (s.listening) s.close();
  }
}
