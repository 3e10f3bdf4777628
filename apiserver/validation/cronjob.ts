// Semantic validation of a CronJob: schedule (parsed in its time zone), concurrency policy,
// history and retry limits, and the job's container template.
import type { Resource } from '../../lib/api/resource.js';
import type { CronJobSpec } from '../../lib/gen/persys/v1/workloads.js';
import { validateContainerSpec } from './container-spec.js';
import type { FieldErrors } from './errors.js';
import { validateTemplateMeta } from './metadata.js';
import { checkNonNegative, checkOneOf } from './rules.js';
import { scheduleError } from './schedule.js';
import type { Conformed } from './schema.js';

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function validateCronJob(obj: Resource, errs: FieldErrors): void {
  const spec: Conformed<CronJobSpec> = obj.spec ?? {};
  const tz = spec.timeZone || 'UTC';
  const tzValid = isValidTimeZone(tz);
  if (!tzValid) errs.add('spec.timeZone', `unknown time zone ${JSON.stringify(tz)}: use an IANA name such as "Europe/Berlin"`);

  if (!spec.schedule) errs.add('spec.schedule', 'required');
  else {
    const reason = scheduleError(spec.schedule, tzValid ? tz : 'UTC');
    if (reason) errs.add('spec.schedule', `invalid schedule ${JSON.stringify(spec.schedule)}: ${reason}`);
  }

  checkOneOf(errs, 'spec.concurrencyPolicy', spec.concurrencyPolicy, ['Allow', 'Forbid', 'Replace']);
  for (const f of [
    'startingDeadlineSeconds',
    'successfulJobsHistoryLimit',
    'failedJobsHistoryLimit',
    'backoffLimit',
    'activeDeadlineSeconds',
  ] as const) {
    checkNonNegative(errs, `spec.${f}`, spec[f]);
  }

  validateTemplateMeta(spec.jobTemplate?.metadata, 'spec.jobTemplate.metadata', errs);
  validateContainerSpec(spec.jobTemplate?.spec, 'spec.jobTemplate.spec', errs);
  const restart = spec.jobTemplate?.spec?.restartPolicy;
  if (restart && restart !== 'Never' && restart !== 'OnFailure') {
    errs.add('spec.jobTemplate.spec.restartPolicy', 'must be Never or OnFailure for a CronJob');
  }
}
