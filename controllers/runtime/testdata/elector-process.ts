// A process that campaigns for a lease and prints "leading" once it leads: the leader election
// test kills it with SIGKILL to show a successor takes over only after the lease expires.
import { ApiClient } from '../../../lib/client/client.js';
import type { ClientConfig } from '../../../lib/client/config.js';
import { LeaderElector } from '../leader.js';

const config = JSON.parse(process.env.PERSYS_TEST_CLIENT_CONFIG!) as ClientConfig;
const elector = new LeaderElector({
  client: new ApiClient(config),
  namespace: 'default',
  name: process.env.PERSYS_TEST_LEASE!,
  identity: process.env.PERSYS_TEST_IDENTITY!,
  leaseDurationMs: 1_000,
  renewDeadlineMs: 600,
  retryPeriodMs: 150,
});
await elector.run({ onStartedLeading: () => void process.stdout.write('leading\n') });
