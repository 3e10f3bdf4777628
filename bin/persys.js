#!/usr/bin/env node
// The `persys` executable: loads the TypeScript sources through tsx and runs the CLI.
import { register } from 'tsx/esm/api';

// grpc-js dials 127.0.0.1 with the IP as TLS server name; Node warns (DEP0123) on every connection.
// Verification is unaffected (the server certificate carries the IP as a SAN), so keep output clean.
const emitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  const code = typeof rest[0] === 'object' ? rest[0]?.code : rest[1];
  if (code === 'DEP0123') return;
  return emitWarning.call(process, warning, ...rest);
};

register();
const { main } = await import('../lib/cli/main.ts');
const { exitOnClosedOutput, flushProcessOutput } = await import('../lib/cli/io.ts');
exitOnClosedOutput();
const code = await main(process.argv.slice(2));
// A pipe holds ~64 KiB: exiting before stdout has drained cuts `persys get … | jq` short there.
process.exitCode = code;
await flushProcessOutput();
// Commands close what they open, so the process would end by itself here; exit anyway, so a handle
// some library leaves open can never keep a script waiting.
process.exit(code);
