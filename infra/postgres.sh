#!/usr/bin/env bash
# Makes sure the Debian PostgreSQL cluster answers on 127.0.0.1:5432, starting it if needed.
set -euo pipefail
ready() { pg_isready -q -h 127.0.0.1 -p 5432 -t 2; }
if ready; then exit 0; fi
version=$(ls /etc/postgresql | sort -V | tail -n 1)
[ -n "$version" ] || { echo "infra/postgres.sh: no cluster under /etc/postgresql" >&2; exit 1; }
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
for _ in $(seq 1 60); do ready && exit 0; sleep 0.5; done
echo "infra/postgres.sh: PostgreSQL $version did not become ready on 127.0.0.1:5432" >&2
exit 1
