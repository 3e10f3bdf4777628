#!/usr/bin/env bash
# Installs what persys needs on a fresh Debian machine (as root): etcd, Docker, protoc, busybox
# for test images, iproute2 and jq for the tests, docker-compose (the compatibility tests and benchmark compare with it), a registry
# with htpasswd for the image tests, promtool and systemd-analyze for the manifests' tests, zsh for the completion tests, and the npm dependencies. Safe to run again; skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v dockerd >/dev/null || need+=(docker.io)
command -v protoc >/dev/null || need+=(protobuf-compiler libprotobuf-dev)
[ -x /bin/busybox ] || need+=(busybox-static)
command -v openssl >/dev/null || need+=(openssl)
command -v docker-compose >/dev/null || need+=(docker-compose)
# The image tests run a real registry (CNCF distribution) with htpasswd basic auth.
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v htpasswd >/dev/null || need+=(apache2-utils)
# Second Docker "hosts" live in network namespaces; the CLI tests pipe output through jq.
command -v ip >/dev/null || need+=(iproute2)
command -v jq >/dev/null || need+=(jq)
# systemd-analyze verifies the units in manifests/systemd (systemd need not be running).
command -v systemd-analyze >/dev/null || need+=(systemd)
# The completion tests run `persys completion zsh` in a real zsh.
command -v zsh >/dev/null || need+=(zsh)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
# promtool checks manifests/monitoring/persys-alerts.yaml; it ships in the prometheus package. Only the tool is
# wanted: no recommended node exporter, and no Prometheus server left running where the package starts one.
if ! command -v promtool >/dev/null; then
  echo "installing Debian packages: prometheus (for promtool)"
  [ ${#need[@]} -gt 0 ] || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  if [ -d /run/systemd/system ]; then systemctl disable --now prometheus.service >/dev/null 2>&1 || true; fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

# bin/persys.js runs the build (dist/); incremental, so a second run with nothing changed is quick.
npm run -s build
