// Well-known annotations, labels and finalizers of persys.dev.

/** The manifest last applied with `persys apply`; lets apply remove fields dropped from the manifest. */
export const LAST_APPLIED_ANNOTATION = 'persys.dev/last-applied-configuration';

/** Held by every Namespace until the API server has deleted everything in it. */
export const NAMESPACE_FINALIZER = 'persys.dev/namespace';
