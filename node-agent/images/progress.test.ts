// Pull progress folded from messages the engine really sent (recorded from dockerd 20.10 pulling from
// distribution 2.8), and the registry's message taken out of engine errors and failed streams.
import { describe, expect, it } from 'vitest';
import { engineMessage, foldLayerProgress, pullBytes, streamError, type LayerBytes, type PullMessage } from './progress.js';

const fold = (msgs: PullMessage[]) => msgs.reduce<ReadonlyMap<string, LayerBytes>>(foldLayerProgress, new Map());

// One layer already on the node, one 3 MB layer downloaded (the recorded stream, "progress" bars cut).
const recorded: PullMessage[] = [
  { status: 'Pulling from open/sized', id: 'v1' },
  { status: 'Already exists', progressDetail: {}, id: '47cefecac693' },
  { status: 'Pulling fs layer', progressDetail: {}, id: 'a83d49a9f20d' },
  { status: 'Downloading', progressDetail: { current: 36445, total: 3001124 }, id: 'a83d49a9f20d' },
  { status: 'Verifying Checksum', progressDetail: {}, id: 'a83d49a9f20d' },
  { status: 'Download complete', progressDetail: {}, id: 'a83d49a9f20d' },
  { status: 'Extracting', progressDetail: { current: 32768, total: 3001124 }, id: 'a83d49a9f20d' },
  { status: 'Extracting', progressDetail: { current: 3001124, total: 3001124 }, id: 'a83d49a9f20d' },
  { status: 'Pull complete', progressDetail: {}, id: 'a83d49a9f20d' },
  { status: 'Digest: sha256:c3f33a16287521ddec4a9104ad637336e3c2f5b40fa554b748e3a0056409fc0c' },
  { status: 'Status: Downloaded newer image for 127.0.0.1:44871/open/sized:v1' },
];

describe('pull progress', () => {
  it('counts a downloading layer, not the layer already present nor the extraction', () => {
    expect(pullBytes(fold(recorded.slice(0, 4)))).toEqual({ downloadedBytes: 36445, totalBytes: 3001124 });
    expect(pullBytes(fold(recorded.slice(0, 7)))).toEqual({ downloadedBytes: 3001124, totalBytes: 3001124 });
    expect(pullBytes(fold(recorded))).toEqual({ downloadedBytes: 3001124, totalBytes: 3001124 });
  });

  it('sums several layers downloading at once, a layer of unknown size adding nothing to the total yet', () => {
    const layers = fold([
      { status: 'Pulling fs layer', id: 'a' },
      { status: 'Pulling fs layer', id: 'b' },
      { status: 'Waiting', id: 'c' },
      { status: 'Downloading', progressDetail: { current: 100, total: 1000 }, id: 'a' },
      { status: 'Downloading', progressDetail: { current: 50, total: 500 }, id: 'b' },
      { status: 'Downloading', progressDetail: { current: 700, total: 1000 }, id: 'a' },
    ]);
    expect(pullBytes(layers)).toEqual({ downloadedBytes: 750, totalBytes: 1500 });
  });

  it('never goes backwards and never counts past a layer total', () => {
    const layers = fold([
      { status: 'Downloading', progressDetail: { current: 900, total: 1000 }, id: 'a' },
      { status: 'Downloading', progressDetail: { current: 400, total: 1000 }, id: 'a' },
      { status: 'Downloading', progressDetail: { current: 5000, total: 1000 }, id: 'a' },
    ]);
    expect(pullBytes(layers)).toEqual({ downloadedBytes: 1000, totalBytes: 1000 });
  });

  it('returns the same map for messages that change nothing (so callers can skip a delivery)', () => {
    const layers = fold(recorded.slice(0, 6));
    for (const m of [recorded[6]!, recorded[8]!, recorded[9]!, recorded[1]!]) expect(foldLayerProgress(layers, m)).toBe(layers);
  });
});

describe('registry messages', () => {
  it('takes the failure out of a stream message, errorDetail first', () => {
    expect(streamError({ error: 'x', errorDetail: { message: 'unauthorized: authentication required' } })).toBe('unauthorized: authentication required');
    expect(streamError({ error: 'toomanyrequests: slow down' })).toBe('toomanyrequests: slow down');
    expect(streamError(recorded[3]!)).toBeUndefined();
  });

  it("strips dockerode's wrapper from an engine refusal (messages recorded from dockerd)", () => {
    const err = (statusCode: number, text: string) => Object.assign(new Error(text), { statusCode, json: null });
    expect(engineMessage(err(500, '(HTTP code 500) server error - unauthorized: authentication required '))).toBe(
      'unauthorized: authentication required',
    );
    expect(
      engineMessage(
        err(404, '(HTTP code 404) not found - manifest for 127.0.0.1:34347/private/sized:nope not found: manifest unknown: manifest unknown '),
      ),
    ).toBe('manifest for 127.0.0.1:34347/private/sized:nope not found: manifest unknown: manifest unknown');
    expect(engineMessage(Object.assign(new Error('(HTTP code 500) server error - x'), { json: { message: 'denied: requested access to the resource is denied' } }))).toBe(
      'denied: requested access to the resource is denied',
    );
    expect(engineMessage(new Error('connect ENOENT /var/run/docker.sock'))).toBe('connect ENOENT /var/run/docker.sock');
  });
});
