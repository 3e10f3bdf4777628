// The `persys` process: runs one CLI invocation on the real streams and exits once stdout has drained.
// bin/persys.js runs it from the build (dist/); `npm run dev` runs it from the sources through tsx.
import { main } from './commands.js';
import { exitOnClosedOutput, flushProcessOutput } from '../lib/cli/io.js';

/**
 * grpc-js dials 127.0.0.1 with the IP as TLS server name; Node warns (DEP0123) on every connection.
 * Verification is unaffected (the server certificate carries the IP as a SAN), so keep output clean.
 */
function silenceTlsServernameWarning(): void {
  const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: unknown, ...rest: unknown[]) => {
    const code = typeof rest[0] === 'object' ? (rest[0] as { code?: string } | null)?.code : rest[1];
    if (code === 'DEP0123') return;
    emitWarning(warning, ...rest);
  }) as typeof process.emitWarning;
}

export async function runCli(argv: string[] = process.argv.slice(2)): Promise<never> {
  silenceTlsServernameWarning();
  exitOnClosedOutput();
  const code = await main(argv);
  process.exitCode = code;
  // A pipe holds ~64 KiB: exiting before stdout has drained cuts `persys get … | jq` short there.
  await flushProcessOutput();
  // Commands close what they open, so the process would end by itself here; exit anyway, so a handle
  // some library leaves open can never keep a script waiting.
  process.exit(code);
}
