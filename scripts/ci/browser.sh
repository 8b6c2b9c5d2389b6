#!/usr/bin/env bash
# The page tests' browser: Debian's Chromium (driven by playwright-core; Playwright cannot download a browser
# here) and fonts-nanum (Hangul). Installs both with apt-get when missing (root only). Used by .ci/run and by
# test/ts/helpers/browser.ts, so a plain `npm test` on a fresh machine works as CI does.
set -euo pipefail
if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi nanum; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "chromium or fonts-nanum missing and this is not root: apt-get install chromium fonts-nanum first." >&2
  exit 1
fi
echo "Installing Debian's chromium and fonts-nanum (apt-get)…" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends chromium fonts-nanum >&2
