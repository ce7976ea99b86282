#!/usr/bin/env bash
# Render an HTML scorecard in headless Chromium (Debian `chromium`) and save a PNG screenshot.
# usage: bench/screenshot.sh scorecard.html out.png [width] [height]
set -euo pipefail
html=$(realpath "$1"); png=$(realpath -m "$2"); width=${3:-1200}; height=${4:-2400}
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$profile" --hide-scrollbars \
  --window-size="$width,$height" --screenshot="$png" "file://$html" >/dev/null 2>&1
test -s "$png" && echo "wrote $png"
