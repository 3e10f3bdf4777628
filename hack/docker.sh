#!/usr/bin/env bash
# Makes this machine's Docker engine usable for tests (as root): starts dockerd if it is not running and
# builds the registry-free test image persys/busybox:test from /bin/busybox. Safe to run again, and concurrently.
set -euo pipefail

IMAGE=persys/busybox:test
PIDFILE=/var/run/docker.pid
LOCK=/var/run/persys-docker.lock
WAIT_S=${PERSYS_DOCKERD_WAIT_S:-60}

log() { echo "hack/docker.sh: $*"; }

for bin in dockerd docker; do
  command -v "$bin" >/dev/null || { log "$bin not found: run hack/install.sh (apt-get install docker.io)"; exit 1; }
done
[ -x /bin/busybox ] || { log "/bin/busybox not found: apt-get install busybox-static"; exit 1; }

# Test workers call this at the same time; only one may start dockerd or build the image.
exec 9>"$LOCK"
flock -w 300 9 || { log "timed out waiting for $LOCK"; exit 1; }

engine_up() { docker info >/dev/null 2>&1; }

start_dockerd() {
  local logfile=/var/log/persys-dockerd.log
  if ! { touch "$logfile"; } 2>/dev/null; then logfile=$(mktemp /tmp/persys-dockerd.XXXXXX.log); fi
  # A pidfile left by a dead dockerd makes the new one refuse to start.
  if [ -f "$PIDFILE" ] && ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then rm -f "$PIDFILE"; fi
  if [ -f "$PIDFILE" ]; then
    log "dockerd (pid $(cat "$PIDFILE")) is running but not answering yet; waiting for it"
  else
    log "starting dockerd (log: $logfile)"
    # setsid: the engine outlives this script and the test process that ran it.
    setsid dockerd --pidfile "$PIDFILE" >>"$logfile" 2>&1 </dev/null 9>&- &
  fi
  local i
  for ((i = 0; i < WAIT_S * 4; i++)); do
    engine_up && { log "dockerd is up ($(docker version -f '{{.Server.Version}}' 2>/dev/null))"; return 0; }
    sleep 0.25
  done
  log "dockerd did not answer within ${WAIT_S}s; last lines of $logfile:"
  tail -n 30 "$logfile" >&2 || true
  exit 1
}

build_image() {
  local dir
  dir=$(mktemp -d /tmp/persys-busybox.XXXXXX)
  trap 'rm -rf "$dir"' RETURN
  mkdir -p "$dir/rootfs/bin" "$dir/rootfs/www" "$dir/rootfs/tmp" "$dir/rootfs/etc"
  cp /bin/busybox "$dir/rootfs/bin/busybox"
  # Inside a chroot, so the applet links point at /bin/busybox of the image, not of this machine.
  chroot "$dir/rootfs" /bin/busybox --install -s /bin
  chmod 1777 "$dir/rootfs/tmp"
  echo '<h1>persys test page</h1>' >"$dir/rootfs/www/index.html"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$dir/rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/rootfs/etc/group"
  tar -C "$dir/rootfs" -c . | docker import --change 'CMD ["sh"]' - "$IMAGE" >/dev/null
  log "built $IMAGE from /bin/busybox"
}

if engine_up; then
  log "dockerd is already running"
else
  start_dockerd
fi

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "$IMAGE is present"
else
  build_image
fi
