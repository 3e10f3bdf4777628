// Lists in pages (limit/continue), so no single response grows with the number of objects: one
// gRPC message is capped at 4 MiB, which a list of 20,000 Containers exceeds.
import type { Resource } from '../api/resource.js';
import type { ListOptions, ListResult } from './client.js';

/** kubectl's --chunk-size default: small enough for any message limit, large enough to be few calls. */
export const DEFAULT_PAGE_SIZE = 500;

/** Anything that lists like ApiClient.list (a fake in unit tests). */
export interface PagedLister {
  list(kind: string, opts?: ListOptions): Promise<ListResult>;
}

/** A server that hands back the token it was given would page forever; say so instead. */
export class ContinueLoopError extends Error {
  override name = 'ContinueLoopError';
  constructor(kind: string) {
    super(`listing ${kind}: the server returned the same continue token twice`);
  }
}

/**
 * Yields the pages of one consistent list (every page read at the first page's revision), each
 * with at most `pageSize` items; a page may be empty while more follow. pageSize 0: one unpaged call.
 */
export async function* listPages(
  client: PagedLister,
  kind: string,
  opts: Omit<ListOptions, 'limit' | 'continue'> = {},
  pageSize = DEFAULT_PAGE_SIZE,
): AsyncGenerator<ListResult> {
  let token = '';
  for (;;) {
    const page = await client.list(kind, { ...opts, limit: pageSize, continue: token || undefined });
    yield page;
    if (!pageSize || !page.continue) return;
    if (page.continue === token) throw new ContinueLoopError(kind);
    token = page.continue;
  }
}

/** Every object of a list, read page by page; resourceVersion is the list's (watch from it). */
export async function listAll(
  client: PagedLister,
  kind: string,
  opts: Omit<ListOptions, 'limit' | 'continue'> = {},
  pageSize = DEFAULT_PAGE_SIZE,
): Promise<{ items: Resource[]; resourceVersion: string }> {
  const items: Resource[] = [];
  let resourceVersion = '';
  for await (const page of listPages(client, kind, opts, pageSize)) {
    for (const item of page.items) items.push(item);
    resourceVersion ||= page.resourceVersion;
  }
  return { items, resourceVersion };
}
