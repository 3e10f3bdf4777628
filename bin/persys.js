#!/usr/bin/env node
// The `persys` executable: runs the CLI from the build (`npm run build` writes dist/).
// `npm run dev -- ARGS` runs the TypeScript sources instead, through tsx.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cmd/persys.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('error: persys is not built (no dist/): run `npm run build`, or `npm run dev -- ARGS` to run the sources\n');
  process.exit(1);
}
const { runCli } = await import(entry.href);
await runCli();
