#!/usr/bin/env bash
# Installs Debian's headless Chromium and its WebDriver (packages chromium, chromium-driver)
# for the web demo's browser tests, where they are missing. Never downloads a browser of its
# own. Needs root and apt-get (CI has both); elsewhere it says what to run and the browser
# tests are skipped.
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "[install_chromium] chromium or chromedriver is missing, so the browser tests will be" \
         "skipped; install them with: sudo apt-get install chromium chromium-driver" >&2
    exit 0
fi
start=$SECONDS
echo "[install_chromium] apt-get install chromium chromium-driver (usually 1-2 minutes) ..."
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    chromium chromium-driver > /dev/null
chromium --version
echo "[install_chromium] done in $((SECONDS - start)) s"
