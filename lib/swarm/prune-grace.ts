// How young a Docker service persys created may be and still never be pruned: its SwarmService may be
// newer than the list of wanted uids a prune was given. The controller prunes again once it has passed.
export const PRUNE_GRACE_MS = 5_000;
