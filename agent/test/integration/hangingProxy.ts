import { type Server, type Socket, connect, createServer } from "node:net";
import { Transform } from "node:stream";

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
  /** What comes back from the server, late by `delayMs`. */
  readonly answers: Transform;
  /** Held for good: `thaw` never forwards this connection again. */
  stalled: boolean;
}

/** Delays every chunk by `delayMs`, in order, as a slow network does. */
function latency(delayMs: number): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      setTimeout(() => this.push(chunk), delayMs);
      done();
    },
    flush(done) {
      setTimeout(done, delayMs);
    },
  });
}

/**
 * A TCP proxy on loopback in front of the API server that can stop answering without closing
 * anything: while frozen, bytes in either direction are held back and new connections are accepted
 * but never forwarded — a hanging server (or a black-holed network), not a closed one. Answers can
 * come late (`delayMs`), so a reconcile pass lasts long enough to be caught in the middle; `stall`
 * holds the open connections for good while new ones work, as a server or load balancer that
 * silently dropped its connections does.
 */
export class HangingProxy {
  private readonly server: Server;
  private readonly pairs = new Set<Pair>();
  private frozen = false;
  port = 0;

  private constructor(target: { host: string; port: number }, delayMs: number) {
    this.server = createServer((client) => {
      const upstream = connect(target.port, target.host);
      const pair: Pair = { client, upstream, answers: latency(delayMs), stalled: false };
      this.pairs.add(pair);
      this.forward(pair);
      if (this.frozen) this.hold(pair);
      const close = () => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on("error", close).on("close", close);
      upstream.on("error", close).on("close", close);
    });
  }

  static async start(
    target: { host: string; port: number },
    options: { delayMs?: number } = {},
  ): Promise<HangingProxy> {
    const proxy = new HangingProxy(target, options.delayMs ?? 0);
    await new Promise<void>((resolve) => proxy.server.listen(0, "127.0.0.1", resolve));
    const address = proxy.server.address();
    proxy.port = typeof address === "object" && address ? address.port : 0;
    return proxy;
  }

  private forward({ client, upstream, answers }: Pair): void {
    client.pipe(upstream);
    upstream.pipe(answers).pipe(client);
    client.resume();
    upstream.resume();
  }

  private hold({ client, upstream, answers }: Pair): void {
    client.unpipe(upstream);
    upstream.unpipe(answers);
    answers.unpipe(client);
    client.pause();
    upstream.pause();
  }

  /** Stops forwarding; every connection stays open. */
  freeze(): void {
    this.frozen = true;
    for (const pair of this.pairs) this.hold(pair);
  }

  /** Forwards again, including what was held back (not on stalled connections). */
  thaw(): void {
    this.frozen = false;
    for (const pair of this.pairs) if (!pair.stalled) this.forward(pair);
  }

  /**
   * Holds every open connection for good, answers in flight included, and forwards new connections
   * again (after a freeze too): a server back from an outage that silently dropped the old ones.
   */
  stall(): void {
    this.frozen = false;
    for (const pair of this.pairs) {
      pair.stalled = true;
      this.hold(pair);
    }
  }

  async close(): Promise<void> {
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    await new Promise<void>((resolve) =>
      this.server.close(() => {
        resolve();
      }),
    );
  }
}
