#!/usr/bin/env bash
# Sets up a fresh machine (Debian packages, npm dependencies, the build, a running Docker engine with the
# persys/busybox image) and runs a complete local persys in the foreground: `persys up` with its own
# etcd, PKI, API server, controllers and a node agent for this machine. Extra arguments go to `persys up`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash hack/install.sh
bash hack/docker.sh
exec node bin/persys.js up "$@"
