// Semantic validation of Services and EndpointSlices: ports as Kubernetes requires them (at least
// one; unique names, required when there are several; 1-65535; TCP or UDP), the selector's labels,
// and a cluster IP that is an IPv4 address or "None" and never changes once set. Whether the address
// lies in the server's range and is free is the allocator's question (registry/cluster-ip.ts).
import { isIPv4 } from 'node:net';
import type { Resource } from '../../lib/api/resource.js';
import type { EndpointSliceObject, ServiceObject } from '../../lib/api/typed.js';
import type { FieldErrors } from './errors.js';
import { fieldPath, itemPath } from './field-path.js';
import { validateLabels } from './metadata.js';
import { portNameError } from './names.js';
import { checkName, checkOneOf, checkRange } from './rules.js';

/** spec.clusterIp of a headless Service: no address, no allocation. */
export const HEADLESS_CLUSTER_IP = 'None';

export function defaultService(obj: Resource): void {
  const spec = (obj.spec ??= {}) as NonNullable<ServiceObject['spec']>;
  for (const port of spec.ports ?? []) {
    port.protocol ||= 'TCP';
    port.targetPort ||= port.port ? String(port.port) : undefined;
  }
}

export function validateService(obj: Resource, errs: FieldErrors, old?: Resource): void {
  const spec = (obj.spec ?? {}) as NonNullable<ServiceObject['spec']>;
  validateLabels(spec.selector, 'spec.selector', errs);
  const ports = spec.ports ?? [];
  if (ports.length === 0) errs.add('spec.ports', 'required: at least one port');
  const names = new Map<string, number>();
  const numbers = new Map<string, number>();
  ports.forEach((port, i) => {
    const p = itemPath('spec.ports', i);
    if (!port.name) {
      if (ports.length > 1) errs.add(fieldPath(p, 'name'), 'required when the Service has more than one port');
    } else {
      checkName(errs, fieldPath(p, 'name'), port.name, portNameError);
      const first = names.get(port.name);
      if (first !== undefined) errs.add(fieldPath(p, 'name'), `duplicate port name ${JSON.stringify(port.name)} (also spec.ports[${first}].name)`);
      else names.set(port.name, i);
    }
    if (!port.port) errs.add(fieldPath(p, 'port'), 'required');
    else checkRange(errs, fieldPath(p, 'port'), port.port, 1, 65535);
    checkOneOf(errs, fieldPath(p, 'protocol'), port.protocol, ['TCP', 'UDP']);
    const key = `${port.port}/${port.protocol || 'TCP'}`;
    const same = numbers.get(key);
    if (port.port && same !== undefined) errs.add(fieldPath(p, 'port'), `duplicate port ${key} (also spec.ports[${same}])`);
    else numbers.set(key, i);
    checkTargetPort(errs, fieldPath(p, 'targetPort'), port.targetPort);
  });

  const ip = spec.clusterIp;
  if (ip && ip !== HEADLESS_CLUSTER_IP && !isIPv4(ip)) {
    errs.add('spec.clusterIp', `must be an IPv4 address or "None", got ${JSON.stringify(ip)}`);
  }
  const oldIp = (old?.spec as ServiceObject['spec'] | undefined)?.clusterIp;
  // Empty on update means "keep": the registry copies the allocated address over.
  if (oldIp && ip && ip !== oldIp) errs.add('spec.clusterIp', `field is immutable (is ${oldIp}): delete the Service and create it again to change it`);
}

/** A number 1-65535 or the name of a container port (IANA service name). */
function checkTargetPort(errs: FieldErrors, path: string, v: string | undefined): void {
  if (!v) return;
  if (/^\d+$/.test(v)) checkRange(errs, path, Number(v), 1, 65535);
  else checkName(errs, path, v, portNameError);
}

export function validateEndpointSlice(obj: Resource, errs: FieldErrors): void {
  const slice = obj as EndpointSliceObject;
  (slice.endpoints ?? []).forEach((e, i) => {
    const p = itemPath('endpoints', i);
    if (!e.containerName) errs.add(fieldPath(p, 'containerName'), 'required');
    (e.ports ?? []).forEach((port, j) => {
      const pp = itemPath(fieldPath(p, 'ports'), j);
      checkRange(errs, fieldPath(pp, 'port'), port.port, 1, 65535);
      checkRange(errs, fieldPath(pp, 'hostPort'), port.hostPort, 0, 65535);
    });
  });
}
