import { status as Code } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { authorize, nodeNameOf } from './authz.js';

const admin = { user: 'admin', groups: ['system:masters'] };
const controller = { user: 'docker-controller', groups: ['system:controllers'] };
const node = { user: 'system:node:n1', groups: ['system:nodes'] };
const nodeAlsoAdmin = { user: 'system:node:n1', groups: ['system:nodes', 'system:masters'] };
const stranger = { user: 'bob', groups: [] };

describe('authorize', () => {
  it.each([
    ['/persys.v1.Resources/List', admin, true],
    ['/persys.v1.Operations/Logs', admin, true],
    ['/grpc.health.v1.Health/Check', admin, true],
    ['/persys.v1.Resources/Watch', controller, true],
    ['/persys.v1.Operations/CreateJoinToken', controller, false],
    ['/persys.v1.SwarmOperations/Call', controller, true],
    ['/persys.v1.SwarmOperations/Call', admin, true],
    ['/persys.v1.SwarmOperations/Call', node, false],
    ['/persys.v1.SwarmOperations/Call', { user: 'persys-apiserver', groups: ['system:apiservers'] }, true],
    ['/persys.v1.Resources/Get', { user: 'persys-apiserver', groups: ['system:apiservers'] }, false],
    ['/persys.v1.Operations/Logs', { user: 'persys-apiserver', groups: ['system:apiservers'] }, true],
    ['/persys.v1.Operations/Exec', { user: 'persys-apiserver', groups: ['system:apiservers'] }, true],
    ['/persys.v1.Operations/ExecStream', { user: 'persys-apiserver', groups: ['system:apiservers'] }, true],
    ['/persys.v1.Operations/ExecStream', admin, true],
    ['/persys.v1.Operations/ExecStream', controller, false],
    ['/persys.v1.Operations/ExecStream', node, false],
    ['/persys.v1.Operations/CreateJoinToken', { user: 'persys-apiserver', groups: ['system:apiservers'] }, false],
    ['/persys.v1.Agents/Connect', node, true],
    ['/persys.v1.Resources/List', node, false],
    ['/persys.v1.Operations/Top', node, false],
    ['/persys.v1.Resources/List', nodeAlsoAdmin, false],
    ['/persys.v1.Agents/Connect', admin, false],
    // Users and ServiceAccounts reach Resources and Operations; RBAC then decides each request.
    ['/persys.v1.Resources/Get', stranger, true],
    ['/persys.v1.Operations/Exec', stranger, true],
    ['/persys.v1.SwarmOperations/Call', stranger, false],
    ['/persys.v1.Agents/Connect', stranger, false],
    ['/persys.v1.Resources/Get', { user: 'system:serviceaccount:shop:ci', groups: ['system:serviceaccounts', 'system:serviceaccounts:shop'] }, true],
    ['/persys.v1.Agents/Connect', { user: 'n1', groups: ['system:nodes'] }, false],
  ])('%s as %j → allowed=%s', (path, id, allowed) => {
    expect(authorize(path, id).allowed).toBe(allowed);
  });

  it('tells a node certificate it may only use the agent stream, and refuses a missing identity as unauthenticated', () => {
    expect(authorize('/persys.v1.Resources/List', node)).toEqual({
      allowed: false,
      code: Code.PERMISSION_DENIED,
      message: 'node certificates may only use the agent stream',
    });
    expect(authorize('/persys.v1.Resources/List', undefined)).toMatchObject({ allowed: false, code: Code.UNAUTHENTICATED });
  });

  it('reads the node name only from CN system:node:NAME with O system:nodes', () => {
    expect(nodeNameOf(node)).toBe('n1');
    expect(nodeNameOf({ user: 'system:node:n1', groups: [] })).toBeUndefined();
    expect(nodeNameOf({ user: 'system:node:', groups: ['system:nodes'] })).toBeUndefined();
  });
});
