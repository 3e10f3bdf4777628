// The etcd client's per-member breaker reports its state (persys_apiserver_etcd_breaker_state): a member that
// refuses connections opens it; one that answers leaves it closed. Real etcd and a real closed port.
import { afterEach, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../e2e/harness/etcd.js';
import type { BreakerState } from './etcd-client.js';
import { EtcdStorage } from './etcd.js';

let storage: EtcdStorage | undefined;
afterEach(async () => {
  await storage?.close();
  storage = undefined;
});

function recorded() {
  const states: [string, BreakerState][] = [];
  return { states, listener: (member: string, state: BreakerState) => void states.push([member, state]) };
}

describe('etcd member breaker state', () => {
  it('goes from closed to open for a member that refuses connections', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const { states, listener } = recorded();
    storage = new EtcdStorage({ endpoints: [dead], prefix: '/persys-test/breaker', onBreakerState: listener });
    expect(states).toEqual([[dead, 'closed']]);
    await expect(storage.get('containers/default/x')).rejects.toThrow();
    expect(states).toContainEqual([dead, 'open']);
  });

  it('stays closed for a member that answers', async () => {
    const endpoint = inject('etcdEndpoint');
    const { states, listener } = recorded();
    storage = new EtcdStorage({ endpoints: [endpoint], prefix: '/persys-test/breaker', onBreakerState: listener });
    expect(await storage.get('containers/default/missing')).toBeUndefined();
    expect(states).toEqual([[endpoint, 'closed']]);
  });
});
