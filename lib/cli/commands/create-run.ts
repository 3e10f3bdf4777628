// `persys create run [NAME] --from=cronjob/CJ`: starts a CronJob's job now, outside its schedule (kubectl's
// `create job --from=cronjob/…`). The run is a Container owned by the CronJob, so its history applies.
import { randomBytes } from 'node:crypto';
import { API_VERSION, findKind } from '../../api/kinds.js';
import { CRONJOB_LABEL, MANUAL_RUN_ANNOTATION, shortenName } from '../../cron/run-name.js';
import { str, type CommandContext } from '../command.js';
import { UsageError } from '../usage-error.js';

const MAX_LABEL_VALUE = 63;

export async function createRun(ctx: CommandContext, args: string[]): Promise<number> {
  const [runName, ...rest] = args;
  if (rest.length) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`, 'create');
  const from = str(ctx.flags, 'from') ?? '';
  const [kindName, cronJobName] = from.split('/', 2);
  if (findKind(kindName ?? '')?.kind !== 'CronJob' || !cronJobName) {
    throw new UsageError('--from=cronjob/NAME is required: the CronJob whose job template to run', 'create');
  }
  const client = ctx.client();
  const cronJob = await client.get('CronJob', cronJobName, ctx.namespace());
  const template = cronJob.spec?.jobTemplate ?? {};
  const name = runName || `${cronJobName}-manual-${randomBytes(3).toString('hex').slice(0, 5)}`;
  const created = await client.create({
    apiVersion: API_VERSION,
    kind: 'Container',
    metadata: {
      name,
      namespace: cronJob.metadata.namespace,
      labels: { ...(template.metadata?.labels ?? {}), [CRONJOB_LABEL]: shortenName(cronJobName, MAX_LABEL_VALUE) },
      annotations: { ...(template.metadata?.annotations ?? {}), [MANUAL_RUN_ANNOTATION]: 'manual' },
      ownerReferences: [{ apiVersion: cronJob.apiVersion, kind: 'CronJob', name: cronJobName, uid: cronJob.metadata.uid!, controller: true, blockOwnerDeletion: true }],
    },
    spec: template.spec ?? {},
  });
  ctx.io.out(`container/${created.metadata.name} created (run of cronjob/${cronJobName})`);
  return 0;
}
