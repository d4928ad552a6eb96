#!/usr/bin/env bash
# System packages the test suite uses beyond Python: promtool and a Prometheus server,
# Node.js for the AsyncAPI parser and axe-core, and a headless Chromium with its driver for
# the public pages (tests/pages). No font: certificates use the CJK font that comes with the
# locked Python dependencies. Idempotent.
set -euo pipefail
need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v node >/dev/null 2>&1 || need+=(nodejs npm)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
if ((${#need[@]})); then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
