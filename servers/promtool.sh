#!/usr/bin/env bash
# Installs promtool (Debian 12's `prometheus` package ships it) for the alert-rule tests; idempotent.
# The package's server is not started (policy-rc.d refuses, and nothing here starts it): only promtool is used.
set -euo pipefail
PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-2.42.0+ds-5+deb12u1}"

if command -v promtool >/dev/null 2>&1; then
    echo "[promtool] $(promtool --version 2>&1 | head -1)"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "[promtool] not installed and not root: run 'apt-get install prometheus' (tests that need it skip)" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ! apt-get install -y -q --no-install-recommends "prometheus=${PROMETHEUS_VERSION}" >"$log" 2>&1 \
    && ! { apt-get update -qq >>"$log" 2>&1 \
           && apt-get install -y -q --no-install-recommends "prometheus=${PROMETHEUS_VERSION}" >>"$log" 2>&1; } \
    && ! apt-get install -y -q --no-install-recommends prometheus >>"$log" 2>&1; then
    tail -20 "$log" >&2
    echo "[promtool] apt-get install prometheus failed (log: $log)" >&2
    exit 1
fi
rm -f "$log"
echo "[promtool] installed: $(promtool --version 2>&1 | head -1)"
