#!/usr/bin/env bash
# Sets up a fresh machine (Debian packages, npm dependencies) and runs a complete local persys in the
# foreground: `persys up` with its own etcd, PKI and API server. Extra arguments go to `persys up`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash hack/install.sh
exec node bin/persys.js up "$@"
