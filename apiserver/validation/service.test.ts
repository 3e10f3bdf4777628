// Validation of Services: ports as Kubernetes requires them, the selector, and the cluster IP's
// form and immutability (range and uniqueness are the allocator's: registry/cluster-ip.test.ts).
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { admit, ValidationError } from './index.js';

const service = (spec: Record<string, unknown>, name = 'web'): Record<string, unknown> => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Service',
  metadata: { name, namespace: 'shop' },
  spec,
});

function errorsOf(raw: unknown, old?: Resource): Record<string, string> {
  try {
    admit(raw, { old });
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    return Object.fromEntries(e.errors.map((x) => [x.path, x.message]));
  }
  return {};
}

describe('Service validation', () => {
  it.each([
    ['no ports', { selector: { app: 'web' } }, 'spec.ports', 'required: at least one port'],
    ['a duplicate port name', { ports: [{ name: 'http', port: 80 }, { name: 'http', port: 81 }] }, 'spec.ports[1].name', 'duplicate port name "http" (also spec.ports[0].name)'],
    ['an unnamed port among several', { ports: [{ name: 'http', port: 80 }, { port: 443 }] }, 'spec.ports[1].name', 'required when the Service has more than one port'],
    ['port 0', { ports: [{ name: 'a', port: 0 }] }, 'spec.ports[0].port', 'required'],
    ['port 70000', { ports: [{ port: 70000 }] }, 'spec.ports[0].port', 'must be 1-65535'],
    ['protocol SCTP', { ports: [{ port: 80, protocol: 'SCTP' }] }, 'spec.ports[0].protocol', 'must be TCP or UDP, got "SCTP"'],
    ['the same port twice', { ports: [{ name: 'a', port: 80 }, { name: 'b', port: 80 }] }, 'spec.ports[1].port', 'duplicate port 80/TCP'],
    ['targetPort 99999', { ports: [{ port: 80, targetPort: '99999' }] }, 'spec.ports[0].targetPort', 'must be 1-65535'],
    ['a targetPort name with capitals', { ports: [{ port: 80, targetPort: 'Http' }] }, 'spec.ports[0].targetPort', 'must contain only lowercase'],
    ['a bad port name', { ports: [{ name: 'HTTP', port: 80 }] }, 'spec.ports[0].name', 'must contain only lowercase'],
    ['a clusterIp that is not IPv4', { ports: [{ port: 80 }], clusterIp: 'fd00::1' }, 'spec.clusterIp', 'must be an IPv4 address or "None"'],
    ['a bad selector label', { ports: [{ port: 80 }], selector: { 'bad key!': 'x' } }, 'spec.selector[bad key!]', ''],
  ])('rejects %s at its field path', (_name, spec, path, message) => {
    const errs = errorsOf(service(spec));
    expect(Object.keys(errs)).toContain(path);
    expect(errs[path]).toContain(message);
  });

  it('defaults protocol to TCP and targetPort to the port; accepts a numeric targetPort from YAML', () => {
    const svc = admit(service({ selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }, { name: 'metrics', port: 9090, targetPort: 9100, protocol: 'UDP' }] }));
    expect(svc.spec.ports).toEqual([
      { name: 'http', port: 80, targetPort: '80', protocol: 'TCP' },
      { name: 'metrics', port: 9090, targetPort: '9100', protocol: 'UDP' },
    ]);
  });

  it('accepts one unnamed port, a named targetPort and a headless Service', () => {
    expect(errorsOf(service({ ports: [{ port: 80, targetPort: 'http' }], clusterIp: 'None' }))).toEqual({});
  });

  it('refuses a changed clusterIp on update and accepts an empty one (kept by the registry)', () => {
    const old = admit(service({ ports: [{ port: 80 }], clusterIp: '10.96.0.10' }));
    expect(errorsOf(service({ ports: [{ port: 80 }], clusterIp: '10.96.0.11' }), old)['spec.clusterIp']).toContain('field is immutable (is 10.96.0.10)');
    expect(errorsOf(service({ ports: [{ port: 80 }] }), old)).toEqual({});
  });
});
