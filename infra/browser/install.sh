#!/usr/bin/env bash
# Debian's headless Chromium and its chromedriver, for the console's browser tests
# (tests/integration/test_console_browser.py). Idempotent: does nothing when chromedriver is
# there already. Needs root (CI runs as root); apt's package lists are refreshed only when the
# first attempt fails, so a machine with fresh lists installs without touching the network twice.
set -euo pipefail

if [[ -x /usr/bin/chromedriver && -x /usr/bin/chromium ]]; then
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "infra/browser/install.sh: run as root to install chromium and chromium-driver" \
         "(or the browser tests are skipped)" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends chromium chromium-driver \
    || { apt-get update && apt-get install -y --no-install-recommends chromium chromium-driver; }
