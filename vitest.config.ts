import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{lib,apiserver,controllers,node-agent,cmd,e2e,hack}/**/*.test.ts'],
    globalSetup: ['e2e/harness/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
