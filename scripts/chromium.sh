#!/usr/bin/env bash
# Install Debian's Chromium (for the browser tests of the web pages) when /usr/bin/chromium is missing.
# Quiet on success; messages go to stderr; exits non-zero with a clear message if it cannot install it.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: /usr/bin/chromium is missing and apt-get is not available to install it" >&2
  exit 1
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo -n); else
    echo "error: /usr/bin/chromium is missing; installing it needs root (apt-get install chromium)" >&2
    exit 1
  fi
fi
echo "installing Debian chromium for the browser tests ..." >&2
log=$(mktemp)
if ! { "${SUDO[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq chromium; } >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  rm -f "$log"
  echo "error: could not install chromium with apt-get (see the lines above)" >&2
  exit 1
fi
rm -f "$log"
[ -x /usr/bin/chromium ] || { echo "error: chromium installed but /usr/bin/chromium is missing" >&2; exit 1; }
