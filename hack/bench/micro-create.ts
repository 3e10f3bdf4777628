import { randomUUID } from 'node:crypto';
import { ResourcesService } from '../../lib/gen/persys/v1/api.js';
import { fromWire, toWire, type Resource } from '../../lib/api/resource.js';
import { withUnknownFieldChecks, unknownFieldsOf } from '../../apiserver/api/object-requests.js';
import { admit } from '../../apiserver/validation/index.js';

const manifest: Resource = {
  apiVersion: 'persys.dev/v1', kind: 'Container',
  metadata: { name: 'bench-1', namespace: 'default', labels: { app: 'bench' }, annotations: { 'bench/t0': '123456.789' } },
  spec: {
    image: 'persys/busybox:test', command: ['httpd', '-f', '-p', '8080', '-h', '/www'],
    env: [{ name: 'MODE', value: 'production' }, { name: 'LOG_LEVEL', value: 'info' }],
    ports: [{ name: 'http', containerPort: 8080, hostPort: 0, protocol: 'TCP' }],
    volumes: [{ mountPath: '/www', volumeName: 'web-content' }],
    resources: { requests: { cpu: '100m', memory: '16Mi' }, limits: { cpu: '500m', memory: '64Mi' } },
    healthcheck: { tcpSocket: { port: 8080 }, intervalSeconds: 10 }, restartPolicy: 'Always',
  },
};
const def = withUnknownFieldChecks(ResourcesService);
const reqBytes = def.create.requestSerialize({ object: toWire(manifest), dryRun: false } as never);
const N = Number(process.argv[2] ?? 20000);
const steps: Record<string, number> = {};
let t = 0n;
const lap = (name: string) => { const n = process.hrtime.bigint(); steps[name] = (steps[name] ?? 0) + Number(n - t); t = n; };
for (let round = 0; round < 2; round++) {
  for (const k of Object.keys(steps)) steps[k] = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    t = process.hrtime.bigint();
    const req = def.create.requestDeserialize(reqBytes) as { object: never };
    lap('deserialize');
    const obj = fromWire(req.object)!; unknownFieldsOf(req.object);
    lap('fromWire');
    const a = admit(obj);
    lap('admit');
    a.metadata.uid = randomUUID(); a.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z'); a.metadata.generation = 1;
    lap('prepare');
    const stored = Buffer.from(JSON.stringify(a));
    lap('encodeJson');
    const back = { ...a, metadata: { ...a.metadata, resourceVersion: '12345' } };
    const res = def.create.responseSerialize(toWire(back) as never);
    lap('response');
    const ev = JSON.parse(stored.toString('utf8')) as Resource;
    ev.metadata.resourceVersion = '12345';
    lap('watchDecode');
    if (res.length === 0 || !ev) throw new Error('x');
  }
  const total = Number(process.hrtime.bigint() - start);
  if (round === 1) {
    console.log(`total ${(total / N / 1000).toFixed(1)} us per create`);
    for (const [k, v] of Object.entries(steps)) console.log(`  ${k.padEnd(12)} ${(v / N / 1000).toFixed(1)} us`);
  }
}
