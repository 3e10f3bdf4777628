import { it, inject } from 'vitest';
import { ApiClient } from '../../lib/client/client.js';
import { startTestApiServer } from '../harness/apiserver.js';
it('probe', async () => {
  const api = await startTestApiServer(inject('etcdEndpoint'));
  const tryit = async (c: ApiClient, label: string, src: any) => {
    const t = Date.now();
    try { const r = await c.apply(src); return `${label} OK ${r.result} ${Date.now()-t}ms`; }
    catch (e: any) { return `${label} ${e.codeName} ${String(e.message).slice(0, 100)} ${Date.now()-t}ms`; }
  };
  const ok = (n: string) => `apiVersion: persys.dev/v1\nkind: Secret\nmetadata: {name: ${n}}\nstringData: {a: b}\n`;
  const bad = `apiVersion: persys.dev/v1\nkind: ${'x'.repeat(70000)}\nmetadata: {name: a}\n`;
  for (let round = 0; round < 40; round++) {
    const rs = await Promise.all([tryit(api.client, 'bad', bad), ...Array.from({length: 8}, (_, i) => tryit(api.client, 'ok', ok(`r${round}-${i}`)))]);
    console.log(round, rs.map(r => r.split(' ').slice(0,2).join(' ')).join(' | '), rs[1]);
  }
  const fresh = new ApiClient(api.config);
  console.log('fresh client', await tryit(fresh, 'fresh', ok('fresh')));
  console.log('old client', await tryit(api.client, 'old', ok('old')));
  fresh.close();
  await api.stop();
}, 300000);
