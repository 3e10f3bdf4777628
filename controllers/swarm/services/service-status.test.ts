// Tests of a SwarmService's status from a manager's answer: the Available and Ready conditions, task
// errors in the message, observedGeneration, the failure status, and the poll interval.
import { describe, expect, it } from 'vitest';
import type { SwarmServiceStatus } from '../../../lib/gen/persys/v1/workloads.js';
import { sameStatus } from '../same-status.js';
import { answerFingerprint, availableCondition, CONVERGED_POLL_MS, CONVERGING_POLL_MS, nextPollMs, statusAfterApply, statusAfterFailure, withPullSecretsCondition } from './service-status.js';

const T0 = '2024-05-01T12:00:00.000Z';
const T1 = '2024-05-01T12:00:01.000Z';
const answer = (o: Partial<SwarmServiceStatus> = {}): SwarmServiceStatus => ({
  serviceId: 'svc1',
  desiredTasks: 3,
  runningTasks: 3,
  updateState: '',
  updateMessage: '',
  taskErrors: [],
  observedGeneration: 0,
  conditions: [],
  ...o,
});

describe('availableCondition', () => {
  it.each([
    { desired: 3, running: 3, errors: [], status: 'True', message: '3 of 3 tasks running' },
    { desired: 3, running: 4, errors: [], status: 'True', message: '4 of 3 tasks running' },
    { desired: 0, running: 0, errors: [], status: 'True', message: '0 of 0 tasks running' },
    { desired: 40, running: 12, errors: [], status: 'False', message: '12 of 40 tasks running' },
    { desired: 2, running: 0, errors: ['node b: no such image', 'node c: no such image'], status: 'False', message: '0 of 2 tasks running: node b: no such image; node c: no such image' },
    { desired: 5, running: 1, errors: ['e1', 'e2', 'e3', 'e4'], status: 'False', message: '1 of 5 tasks running: e1; e2; e3 …' },
  ])('$message → $status', ({ desired, running, errors, status, message }) => {
    expect(availableCondition({ desiredTasks: desired, runningTasks: running, taskErrors: errors })).toMatchObject({ status, message });
  });
});

describe('statusAfterApply', () => {
  it('takes the answer, sets observedGeneration, Ready and Available', () => {
    const s = statusAfterApply(undefined, answer({ runningTasks: 1, updateState: 'updating' }), 4, T0);
    expect(s).toMatchObject({ serviceId: 'svc1', desiredTasks: 3, runningTasks: 1, updateState: 'updating', observedGeneration: 4 });
    expect(s.conditions).toEqual([
      { type: 'Ready', status: 'True', reason: 'Applied', message: 'the service is applied to the swarm', lastTransitionTime: T0 },
      { type: 'Available', status: 'False', reason: 'TasksNotRunning', message: '1 of 3 tasks running', lastTransitionTime: T0 },
    ]);
  });

  it('is the same status when nothing moved, so no write is due', () => {
    const s = statusAfterApply(undefined, answer(), 2, T0);
    expect(sameStatus(s, statusAfterApply(s, answer(), 2, T1))).toBe(true);
    expect(sameStatus(s, statusAfterApply(s, answer({ runningTasks: 2 }), 2, T1))).toBe(false);
    expect(sameStatus(s, statusAfterApply(s, answer(), 3, T1))).toBe(false);
  });

  it('compares equal to the stored form, where proto JSON dropped empty fields', () => {
    const s = statusAfterApply(undefined, answer({ desiredTasks: 0, runningTasks: 0 }), 1, T0);
    const stored = JSON.parse(JSON.stringify({ ...s, desiredTasks: undefined, runningTasks: undefined, updateState: undefined, updateMessage: undefined, taskErrors: undefined }));
    expect(sameStatus(stored, statusAfterApply(stored, answer({ desiredTasks: 0, runningTasks: 0 }), 1, T1))).toBe(true);
  });
});

describe('statusAfterFailure', () => {
  it('keeps the last counts and sets Ready False with the error', () => {
    const ok = statusAfterApply(undefined, answer(), 1, T0);
    const failed = statusAfterFailure(ok, 'no swarm manager could apply the service: a: deadline exceeded', T1);
    expect(failed.runningTasks).toBe(3);
    expect(failed.conditions.find((c: { type: string }) => c.type === 'Ready')).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'SwarmUnavailable',
      message: 'no swarm manager could apply the service: a: deadline exceeded',
      lastTransitionTime: T1,
    });
    expect(failed.conditions.find((c: { type: string }) => c.type === 'Available').status).toBe('True');
  });
});

describe('nextPollMs', () => {
  it.each([
    { running: 10, desired: 40, updateState: '', ms: CONVERGING_POLL_MS },
    { running: 40, desired: 40, updateState: 'updating', ms: CONVERGING_POLL_MS },
    { running: 40, desired: 40, updateState: 'rollback_started', ms: CONVERGING_POLL_MS },
    { running: 40, desired: 40, updateState: 'completed', ms: CONVERGED_POLL_MS },
    { running: 0, desired: 0, updateState: '', ms: CONVERGED_POLL_MS },
  ])('$running of $desired, update "$updateState" → $ms ms', ({ running, desired, updateState, ms }) => {
    expect(nextPollMs(answer({ runningTasks: running, desiredTasks: desired, updateState }))).toBe(ms);
  });

  it('backs off while a converging service does not move, and is quick again once it does', () => {
    const stuck = answer({ runningTasks: 0, desiredTasks: 2, taskErrors: ['node b: No such image: x'] });
    let delay = nextPollMs(stuck);
    expect(delay).toBe(CONVERGING_POLL_MS);
    const delays: number[] = [];
    for (let i = 0; i < 10; i++) {
      delay = nextPollMs(stuck, { fingerprint: answerFingerprint(stuck), delayMs: delay });
      delays.push(delay);
    }
    expect(delays.slice(0, 3)).toEqual([CONVERGING_POLL_MS * 2, CONVERGING_POLL_MS * 4, CONVERGING_POLL_MS * 8]);
    expect(delays.at(-1)).toBe(CONVERGED_POLL_MS);
    const moved = answer({ runningTasks: 1, desiredTasks: 2 });
    expect(nextPollMs(moved, { fingerprint: answerFingerprint(stuck), delayMs: CONVERGED_POLL_MS })).toBe(CONVERGING_POLL_MS);
  });

  it('looks again late at a service a manager refused', () => {
    const refused = answer({ serviceId: '', desiredTasks: 0, runningTasks: 0, conditions: [{ type: 'Ready', status: 'False', reason: 'ServiceNameTaken', message: 'x', lastTransitionTime: '', lastUpdateTime: '', observedGeneration: 0 }] });
    expect(nextPollMs(refused)).toBe(CONVERGED_POLL_MS);
  });
});

describe('statusAfterApply with a refusal', () => {
  it("puts the manager's reason in the Ready condition", () => {
    const refused = answer({ serviceId: '', desiredTasks: 0, runningTasks: 0, conditions: [{ type: 'Ready', status: 'False', reason: 'ServiceNameTaken', message: 'a Docker service named default_api exists and was not created by persys', lastTransitionTime: '', lastUpdateTime: '', observedGeneration: 0 }] });
    const status = statusAfterApply(undefined, refused, 2, T0);
    expect(status.conditions.find((c: { type: string }) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'ServiceNameTaken', message: expect.stringContaining('not created by persys') });
    expect(status.serviceId).toBe('');
  });
});

describe('withPullSecretsCondition', () => {
  const missing = { status: 'False' as const, reason: 'PullSecretNotFound', message: 'Secret "gone" not found; pulling without' };

  it('adds the PullSecrets condition beside Ready and Available, keeping its transition time while it holds', () => {
    const first = withPullSecretsCondition(statusAfterApply(undefined, answer(), 1, T0), missing, T0);
    expect(first.conditions.map((c: { type: string }) => c.type)).toEqual(['Ready', 'Available', 'PullSecrets']);
    const again = withPullSecretsCondition(statusAfterApply(first, answer(), 1, T1), missing, T1);
    expect(again.conditions.find((c: { type: string }) => c.type === 'PullSecrets')).toMatchObject({ ...missing, lastTransitionTime: T0 });
  });

  it('removes the condition once the service names no imagePullSecrets', () => {
    const withIt = withPullSecretsCondition(statusAfterApply(undefined, answer(), 1, T0), missing, T0);
    expect(withPullSecretsCondition(withIt, undefined, T1).conditions.map((c: { type: string }) => c.type)).toEqual(['Ready', 'Available']);
  });
});
