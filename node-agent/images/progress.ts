// Reading the engine's image-pull progress stream, pure: per-layer byte counts folded into one
// downloaded/total figure, and the registry's own words out of an error message or a failed stream.

/** One JSON message of POST /images/create's stream (the fields persys reads). */
export interface PullMessage {
  status?: string;
  /** A layer's short id, or the tag on the first "Pulling from" line. */
  id?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { code?: number; message?: string };
}

export interface LayerBytes {
  downloaded: number;
  /** 0 until the engine announces the layer's size. */
  total: number;
}

/** What a pull has moved so far, over the layers it downloads (layers already on the node excluded). */
export interface PullBytes {
  downloadedBytes: number;
  totalBytes: number;
}

/**
 * The layer byte counts after one message. Only download messages count: "Extracting" repeats the same
 * bytes, and "Already exists" layers move nothing. Returns the same map when the message changes nothing.
 */
export function foldLayerProgress(layers: ReadonlyMap<string, LayerBytes>, msg: PullMessage): ReadonlyMap<string, LayerBytes> {
  const id = msg.id;
  if (!id) return layers;
  const before = layers.get(id);
  let next: LayerBytes | undefined;
  switch (msg.status) {
    case 'Downloading': {
      const total = msg.progressDetail?.total ?? before?.total ?? 0;
      const current = msg.progressDetail?.current ?? before?.downloaded ?? 0;
      next = { total: Math.max(total, 0), downloaded: Math.max(before?.downloaded ?? 0, total > 0 ? Math.min(current, total) : current) };
      break;
    }
    case 'Pulling fs layer':
    case 'Waiting':
      next = before ?? { downloaded: 0, total: 0 };
      break;
    case 'Verifying Checksum':
    case 'Download complete':
      // The last Downloading message may be a chunk short of the end.
      if (before && before.total > 0) next = { downloaded: before.total, total: before.total };
      break;
  }
  if (!next || (before && before.downloaded === next.downloaded && before.total === next.total)) return layers;
  const out = new Map(layers);
  out.set(id, next);
  return out;
}

export function pullBytes(layers: ReadonlyMap<string, LayerBytes>): PullBytes {
  let downloadedBytes = 0;
  let totalBytes = 0;
  for (const l of layers.values()) {
    downloadedBytes += l.downloaded;
    totalBytes += l.total;
  }
  return { downloadedBytes, totalBytes };
}

/** The failure a stream message reports (a stream that ends this way is a failed pull), if any. */
export function streamError(msg: PullMessage): string | undefined {
  const text = msg.errorDetail?.message || msg.error;
  return text ? text.trim() : undefined;
}

/**
 * The engine's own message of a refused request, without dockerode's "(HTTP code 500) server error - "
 * wrapper: "unauthorized: authentication required", "manifest for … not found: manifest unknown: …".
 */
export function engineMessage(err: unknown): string {
  const json = (err as { json?: unknown } | null)?.json;
  if (json && typeof json === 'object' && typeof (json as { message?: unknown }).message === 'string') {
    return (json as { message: string }).message.trim();
  }
  const text = err instanceof Error ? err.message : String(err);
  const m = /^\(HTTP code \d+\) [^-]*- ([\s\S]*)$/.exec(text);
  return (m ? m[1]! : text).trim();
}
