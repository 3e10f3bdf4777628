// The load client of bench:service's DNS section, forked as its own process so it never shares the
// server's event loop: UDP queries to a loopback address with a bounded window in flight, a fixed count
// and a time limit; it sends its figures back over IPC and exits.
import { createSocket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { encodeQuery } from '../../node-agent/dns/wire.js';
import { summarize, type Summary } from './stats.js';

/** One kind of query: its name and type, and the rcode a right answer has (undefined: any reply, for the echo server). */
export interface QueryTemplate {
  name: string;
  type: number;
  rcode?: number;
  /** A right answer carries at least one answer record. */
  wantsAnswer?: boolean;
}

export interface ClientRequest {
  host: string;
  port: number;
  queries: QueryTemplate[];
  count: number;
  maxMs: number;
  window: number;
  timeoutMs: number;
}

export interface ClientResult {
  sent: number;
  answered: number;
  /** Replies with another rcode, or without the answer records asked for. */
  wrong: number;
  /** No reply within timeoutMs (those still in flight at the time limit included). */
  timeouts: number;
  ms: number;
  perSecond: number;
  latencyMs: Summary;
}

/** Sends `req.count` queries (round-robin over the templates) with at most `req.window` in flight. */
export function runClient(req: ClientRequest): Promise<ClientResult> {
  const sock = createSocket('udp4');
  const templates = req.queries.map((q) => ({ q, bytes: encodeQuery(0, q.name, q.type) }));
  const latencies = new Float64Array(req.count);
  // In flight, by message id: when sent and which template it was.
  const inflight = new Map<number, { at: number; template: number }>();
  let sent = 0;
  let answered = 0;
  let wrong = 0;
  let timeouts = 0;
  let nextId = 0;
  const start = performance.now();
  const deadline = start + req.maxMs;

  return new Promise((resolve, reject) => {
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearInterval(sweeper);
      const ms = performance.now() - start;
      sock.close();
      resolve({
        sent,
        answered,
        wrong,
        timeouts,
        ms,
        perSecond: (answered * 1000) / ms,
        latencyMs: summarize(latencies.subarray(0, answered)),
      });
    };
    const sendMore = () => {
      const now = performance.now();
      while (inflight.size < req.window && sent < req.count && now < deadline) {
        // Ids cycle through 16 bits; one still in flight is skipped.
        do nextId = (nextId + 1) & 0xffff;
        while (inflight.has(nextId));
        const template = sent % templates.length;
        const msg = Buffer.from(templates[template]!.bytes);
        msg.writeUInt16BE(nextId, 0);
        inflight.set(nextId, { at: performance.now(), template });
        sent++;
        sock.send(msg, req.port, req.host);
      }
      if (inflight.size === 0 && (sent >= req.count || now >= deadline)) finish();
    };
    sock.on('error', (err) => {
      if (finished) return;
      finished = true;
      clearInterval(sweeper);
      sock.close();
      reject(err);
    });
    sock.on('message', (msg) => {
      if (msg.length < 12) return;
      const id = msg.readUInt16BE(0);
      const q = inflight.get(id);
      if (!q) return; // a late reply to a query already counted as timed out
      inflight.delete(id);
      const t = templates[q.template]!.q;
      const rcode = msg.readUInt16BE(2) & 0xf;
      const ok = t.rcode === undefined || (rcode === t.rcode && (!t.wantsAnswer || msg.readUInt16BE(6) > 0));
      if (ok) latencies[answered++] = performance.now() - q.at;
      else wrong++;
      sendMore();
    });
    // Timeouts, and the time limit: a sweep every 20 ms frees slots whose reply never came.
    const sweeper = setInterval(() => {
      const now = performance.now();
      for (const [id, q] of inflight) {
        if (now - q.at > req.timeoutMs || now > deadline + req.timeoutMs) {
          inflight.delete(id);
          timeouts++;
        }
      }
      sendMore();
    }, 20);
    sock.bind(0, '127.0.0.1', () => sendMore());
  });
}

// As a forked child: one request from the parent, one result back.
if (process.send) {
  process.once('message', (req: ClientRequest) => {
    runClient(req).then(
      (result) => process.send!({ result }, () => process.disconnect()),
      (err: unknown) => process.send!({ error: String(err) }, () => process.disconnect()),
    );
  });
}
