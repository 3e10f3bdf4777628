// serviceStatus and taskErrors: task counts, update state and which task errors are worth showing.
import { describe, expect, it } from 'vitest';
import type { SwarmNode, SwarmTask } from './docker-api.js';
import { MAX_TASK_ERRORS, serviceStatus, taskErrors, type ListedService } from './status.js';

const nodes = new Map<string, SwarmNode>([
  ['n1', { ID: 'n1', Description: { Hostname: 'host-1' } }],
  ['n2', { ID: 'n2', Description: { Hostname: 'host-2' }, Spec: { Labels: { 'dev.persys.node': 'node-b' } } }],
]);

let seq = 0;
function task(slot: number, desired: string, state: string, err = '', node = 'n1'): SwarmTask {
  seq++;
  return { ID: `t${seq}`, Slot: slot, NodeID: node, DesiredState: desired, Status: { State: state, Err: err || undefined, Timestamp: new Date(1_700_000_000_000 + seq * 1000).toISOString() } };
}

describe('serviceStatus', () => {
  const service = (extra: Partial<ListedService>): ListedService => ({ ID: 'svc1', Spec: { Mode: { Replicated: { Replicas: 3 } } }, ...extra });

  it('takes running and desired counts from ServiceStatus and the update state from UpdateStatus', () => {
    const s = serviceStatus(
      service({ ServiceStatus: { RunningTasks: 2, DesiredTasks: 3, CompletedTasks: 0 }, UpdateStatus: { State: 'updating', Message: 'update in progress' } }),
      [],
      nodes,
    );
    expect(s).toEqual({
      serviceId: 'svc1',
      desiredTasks: 3,
      runningTasks: 2,
      updateState: 'updating',
      updateMessage: 'update in progress',
      taskErrors: [],
      observedGeneration: 0,
      conditions: [],
    });
  });

  it('counts tasks itself when the engine gives no ServiceStatus', () => {
    const tasks = [task(1, 'running', 'running'), task(2, 'running', 'starting'), task(3, 'shutdown', 'running')];
    expect(serviceStatus(service({}), tasks, nodes)).toMatchObject({ desiredTasks: 3, runningTasks: 1, updateState: '', updateMessage: '' });
    const global = serviceStatus({ ID: 'g', Spec: { Mode: { Global: {} } } }, [task(0, 'running', 'running'), task(0, 'running', 'pending', '', 'n2')], nodes);
    expect(global).toMatchObject({ desiredTasks: 2, runningTasks: 1 });
  });
});

describe('taskErrors', () => {
  it('reports the newest failure of a slot that runs nothing, though Docker already set it to shutdown', () => {
    const tasks = [
      task(1, 'shutdown', 'rejected', 'No such image: x:1'),
      task(1, 'shutdown', 'rejected', 'No such image: x:2'),
      task(1, 'ready', 'preparing'),
    ];
    expect(taskErrors(tasks, nodes)).toEqual(['node host-1: No such image: x:2']);
  });

  it('says nothing about a slot whose current task runs, or a slot that was scaled away', () => {
    const tasks = [
      task(1, 'shutdown', 'failed', 'task: non-zero exit (1)'),
      task(1, 'running', 'running'),
      task(4, 'shutdown', 'rejected', 'No such image: x:1'),
      task(4, 'shutdown', 'shutdown'),
    ];
    expect(taskErrors(tasks, nodes)).toEqual([]);
  });

  it('reports a wanted task with an error even beside a running one, named by the persys node label when there is one', () => {
    const tasks = [task(1, 'running', 'running', '', 'n2'), task(1, 'running', 'pending', 'no suitable node (insufficient resources on 2 nodes)', '')];
    expect(taskErrors(tasks, nodes)).toEqual(['no suitable node (insufficient resources on 2 nodes)']);
    expect(taskErrors([task(2, 'shutdown', 'failed', 'boom', 'n2'), task(2, 'running', 'starting', '', 'n2')], nodes)).toEqual(['node node-b: boom']);
  });

  it('groups a global service by node, deduplicates, sorts and keeps at most the limit', () => {
    const many = Array.from({ length: 15 }, (_, i) => task(i + 1, 'running', 'rejected', `err ${String(i).padStart(2, '0')}`));
    const out = taskErrors([...many, task(1, 'running', 'rejected', 'err 00')], nodes);
    expect(out).toHaveLength(MAX_TASK_ERRORS);
    expect(out[0]).toBe('node host-1: err 00');
    expect(out).toEqual([...out].sort());
    const global = [task(0, 'shutdown', 'rejected', 'No such image: y', 'n1'), task(0, 'running', 'running', '', 'n2'), task(0, 'ready', 'pending', '', 'n1')];
    expect(taskErrors(global, nodes)).toEqual(['node host-1: No such image: y']);
  });
});
