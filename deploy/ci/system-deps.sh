#!/usr/bin/env bash
# System packages the test suite uses beyond Python: promtool and a Prometheus server,
# Node.js for the AsyncAPI parser and axe-core, a CJK font for certificates, and a
# headless Chromium with its driver for the public pages (tests/pages). Idempotent.
set -euo pipefail
need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v node >/dev/null 2>&1 || need+=(nodejs npm)
# Certificates print Chinese names; the hours service refuses to start without a CJK font.
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
if ((${#need[@]})); then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
