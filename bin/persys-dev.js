#!/usr/bin/env node
// `npm run dev -- ARGS`: the `persys` CLI straight from the TypeScript sources, through tsx (a dev dependency).
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../cmd/persys.ts');
await runCli();
