// persys set image, run in-process against the in-memory FakeClient.
import { describe, expect, it } from 'vitest';
import { FakeClient } from '../testing/fake-client.js';
import { runCli } from '../testing/run-cli.js';
import { countingUpdates, seeded, stored, updates } from '../testing/updates.js';

describe('persys set image', () => {
  it('sets the image by the set name, the template name or *, and skips a set that has it', async () => {
    const fake = countingUpdates(seeded());
    const r = await runCli(fake, ['set', 'image', 'cs/web', 'web=nginx:1.27']);
    expect(r).toMatchObject({ code: 0, out: 'containerset/web image updated\n' });
    expect(stored(fake, 'web').spec.template.spec.image).toBe('nginx:1.27');
    const same = await runCli(fake, ['set', 'image', 'cs', 'web', '*=nginx:1.27']);
    expect(same).toMatchObject({ code: 0, out: '' });
    expect(updates(fake)).toBe(1);
  });

  it('sets the image of a Container, a CronJob and a SwarmService', async () => {
    const fake = new FakeClient();
    fake.put({ apiVersion: 'persys.dev/v1', kind: 'Container', metadata: { name: 'c', namespace: 'default' }, spec: { image: 'a' } });
    fake.put({ apiVersion: 'persys.dev/v1', kind: 'CronJob', metadata: { name: 'j', namespace: 'default' }, spec: { schedule: '@hourly', jobTemplate: { metadata: { name: 'tick' }, spec: { image: 'a' } } } });
    fake.put({ apiVersion: 'persys.dev/v1', kind: 'SwarmService', metadata: { name: 's', namespace: 'default' }, spec: { image: 'a' } });
    const r = await runCli(fake, ['set', 'image', 'ct/c', 'cj/j', 'ss/s', '*=b']);
    expect(r.out).toBe('container/c image updated\ncronjob/j image updated\nswarmservice/s image updated\n');
    expect([stored(fake, 'c', 'Container').spec.image, stored(fake, 'j', 'CronJob').spec.jobTemplate.spec.image, stored(fake, 's', 'SwarmService').spec.image]).toEqual(['b', 'b', 'b']);
    expect((await runCli(fake, ['set', 'image', 'cj/j', 'tick=c'])).code).toBe(0);
    expect(stored(fake, 'j', 'CronJob').spec.jobTemplate.spec.image).toBe('c');
  });

  it('refuses an unknown container name and a kind without an image, changing nothing', async () => {
    const fake = seeded();
    const r = await runCli(fake, ['set', 'image', 'cs/web', 'nginx=nginx:2']);
    expect(r).toMatchObject({ code: 1, err: 'error: unable to find container named "nginx"\n' });
    expect(stored(fake, 'web').spec.template.spec.image).toBe('nginx:1.26');
    fake.put({ apiVersion: 'persys.dev/v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default' } });
    const cm = await runCli(fake, ['set', 'image', 'cm/cfg', '*=x']);
    expect(cm.err).toContain('error: configmap/cfg has no image to set');
    expect((await runCli(fake, ['set', 'image', 'cs/web'])).err).toContain('at least one image update is required');
  });
});
