// The floor under bench:apiserver's CPU per create (`npm run bench:grpc-floor`): what a bare grpc-js
// server spends per unary call on this machine, with nothing of persys in it. A server process echoes
// fixed bytes (no protobuf, no handler work); 32 clients call it as bench:apiserver's creates do.
// Variants alternate round after round: plaintext, mTLS, and mTLS with one pass-through interceptor.
import * as grpc from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../e2e/harness/etcd.js';
import { initPki, type PkiPaths } from '../../lib/pki/index.js';
import { cpuSeconds } from './process-cpu.js';
import { fmt, spreadOf } from './stats.js';
import { benchFlags, intFlag } from './until.js';

const USAGE = `usage: npm run bench:grpc-floor -- [flags]
  --rounds R          rounds; each runs every variant once, in rotating order (default 3)
  --calls N           timed calls per variant and round, after as many untimed (default 10000)
  --request-bytes B   request size (default 800, about a Container create)
  --response-bytes B  response size (default 1000)`;

const VARIANTS = ['plaintext', 'mtls', 'mtls+interceptor'] as const;
type Variant = (typeof VARIANTS)[number];
const CLIENTS = 32;
const SELF = fileURLToPath(import.meta.url);

const bytes = (b: Buffer) => b;
const ECHO = { echo: { path: '/bench.Floor/Echo', requestStream: false, responseStream: false, requestSerialize: bytes, requestDeserialize: bytes, responseSerialize: bytes, responseDeserialize: bytes } };

/** The server process: `grpc-floor.ts --serve VARIANT PORT PKI_DIR RESPONSE_BYTES`; prints "ready". */
async function serve(variant: Variant, port: number, pki: PkiPaths, responseBytes: number): Promise<void> {
  const passThrough: grpc.ServerInterceptor = (_method, call) =>
    new grpc.ServerInterceptingCall(call, new grpc.ResponderBuilder().withStart((next) => next(new grpc.ServerListenerBuilder().build())).build());
  const server = new grpc.Server({ 'grpc.enable_channelz': 0, interceptors: variant === 'mtls+interceptor' ? [passThrough] : [] });
  const response = Buffer.alloc(responseBytes, 1);
  server.addService(ECHO, { echo: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => cb(null, response) });
  const creds =
    variant === 'plaintext'
      ? grpc.ServerCredentials.createInsecure()
      : grpc.ServerCredentials.createSsl(readFileSync(pki.caCert), [{ private_key: readFileSync(pki.serverKey), cert_chain: readFileSync(pki.serverCert) }], true);
  await new Promise<void>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, creds, (err) => (err ? reject(err) : resolve())));
  console.log('ready');
}

/** Server CPU milliseconds per call for one variant, measured over `calls` after as many untimed. */
async function measure(variant: Variant, pki: PkiPaths, opts: { calls: number; requestBytes: number; responseBytes: number }): Promise<number> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--serve', variant, String(port), pki.dir, String(opts.responseBytes)], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [ready] = (await once(child.stdout!, 'data')) as [Buffer];
    if (!ready.toString().includes('ready')) throw new Error(`server said ${ready.toString()}`);
    const Client = grpc.makeGenericClientConstructor(ECHO, 'Floor');
    const creds = () =>
      variant === 'plaintext' ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(readFileSync(pki.caCert), readFileSync(pki.adminKey), readFileSync(pki.adminCert));
    // One connection per client, as bench:apiserver's clients have.
    const clients = Array.from({ length: CLIENTS }, () => new Client(`localhost:${port}`, creds(), { 'grpc.use_local_subchannel_pool': 1 }));
    const request = Buffer.alloc(opts.requestBytes, 2);
    const call = (c: grpc.Client) =>
      new Promise<void>((resolve, reject) => (c as unknown as { echo(r: Buffer, cb: (e: Error | null) => void): void }).echo(request, (e) => (e ? reject(e) : resolve())));
    const run = async (n: number) => {
      let next = 0;
      await Promise.all(clients.map(async (c) => { while (next++ < n) await call(c); }));
    };
    await run(opts.calls);
    const before = cpuSeconds(child.pid!)!;
    await run(opts.calls);
    const ms = ((cpuSeconds(child.pid!)! - before) * 1000) / opts.calls;
    clients.forEach((c) => c.close());
    return ms;
  } finally {
    child.kill();
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--serve') {
    const [, variant, port, dir, responseBytes] = args;
    const { pkiPaths } = await import('../../lib/pki/index.js');
    await serve(variant as Variant, Number(port), pkiPaths(dir!), Number(responseBytes));
    return;
  }
  const v = benchFlags(args, USAGE, {
    rounds: { type: 'string', default: '3' },
    calls: { type: 'string', default: '10000' },
    'request-bytes': { type: 'string', default: '800' },
    'response-bytes': { type: 'string', default: '1000' },
  });
  const int = intFlag(USAGE);
  const opts = { rounds: int('rounds', v.rounds, 1), calls: int('calls', v.calls, 1), requestBytes: int('request-bytes', v['request-bytes'], 0), responseBytes: int('response-bytes', v['response-bytes'], 0) };
  const dir = mkdtempSync(join(tmpdir(), 'persys-grpc-floor-'));
  try {
    const pki = await initPki(join(dir, 'pki'));
    const results = new Map<Variant, number[]>(VARIANTS.map((variant) => [variant, []]));
    for (let r = 0; r < opts.rounds; r++) {
      const order = VARIANTS.map((_, i) => VARIANTS[(i + r) % VARIANTS.length]!);
      const line: string[] = [];
      for (const variant of order) {
        const ms = await measure(variant, pki, opts);
        results.get(variant)!.push(ms);
        line.push(`${variant} ${fmt(ms, 3)}`);
      }
      console.log(`round ${r + 1}: ${line.join(', ')} ms server CPU per call`);
    }
    for (const [variant, list] of results) {
      const s = spreadOf(list, 3)!;
      console.log(`${variant.padEnd(17)} median ${fmt(s.median, 3)} (${fmt(s.min, 3)}–${fmt(s.max, 3)}) ms server CPU per call (${CLIENTS} clients, ${opts.requestBytes} B in, ${opts.responseBytes} B out)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
