// Where each kind keeps the image of its one container, and which names `set image NAME=IMAGE` may
// call that container by: `*`, the object's own name, or the name its template's metadata gives.
import type { Resource } from '../api/resource.js';

/** The path of the image field of each kind that runs one image (a ComposeStack's images are in its compose file). */
const IMAGE_PATHS: Record<string, { image: string[]; templateName?: string[] }> = {
  Container: { image: ['spec', 'image'] },
  ContainerSet: { image: ['spec', 'template', 'spec', 'image'], templateName: ['spec', 'template', 'metadata', 'name'] },
  CronJob: { image: ['spec', 'jobTemplate', 'spec', 'image'], templateName: ['spec', 'jobTemplate', 'metadata', 'name'] },
  SwarmService: { image: ['spec', 'image'] },
};

export const IMAGE_KINDS = Object.keys(IMAGE_PATHS);

/** An image update that names no container of the object, or an object without an image. */
export class ImageUpdateError extends Error {
  override name = 'ImageUpdateError';
}

const at = (obj: unknown, path: string[]): unknown => path.reduce<any>((o, k) => (o == null ? undefined : o[k]), obj);

/** `NAME=IMAGE` arguments, in order. */
export function parseImagePairs(args: string[]): [string, string][] {
  return args.map((a) => {
    const eq = a.indexOf('=');
    if (eq <= 0 || eq === a.length - 1) throw new ImageUpdateError(`invalid image update "${a}": want CONTAINER=IMAGE`);
    return [a.slice(0, eq), a.slice(eq + 1)];
  });
}

/** The names the object's container answers to. */
export function containerNames(obj: Resource): string[] {
  const paths = IMAGE_PATHS[obj.kind];
  const names = [obj.metadata.name ?? ''];
  const templateName = paths?.templateName && at(obj, paths.templateName);
  if (typeof templateName === 'string' && templateName && !names.includes(templateName)) names.push(templateName);
  return names;
}

/** A copy with the image set by the matching pairs (later pairs win); throws when a name matches nothing. */
export function withImage(obj: Resource, pairs: [string, string][]): Resource {
  const paths = IMAGE_PATHS[obj.kind];
  if (!paths) throw new ImageUpdateError(`${obj.kind.toLowerCase()}/${obj.metadata.name} has no image to set: set image works on ${IMAGE_KINDS.join(', ')}`);
  const names = containerNames(obj);
  const next = structuredClone(obj);
  for (const [name, image] of pairs) {
    if (name !== '*' && !names.includes(name)) throw new ImageUpdateError(`unable to find container named "${name}"`);
    let parent: any = next;
    for (const key of paths.image.slice(0, -1)) parent = parent[key] ??= {};
    parent[paths.image[paths.image.length - 1]!] = image;
  }
  return next;
}

export const imageOf = (obj: Resource): unknown => at(obj, IMAGE_PATHS[obj.kind]?.image ?? []);
