#!/usr/bin/env bash
# Installs the system tools the sim backend needs (restic) when they are missing.
set -euo pipefail
if command -v restic >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing restic with apt-get (needed by the sim backend)..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq restic >/dev/null
  restic version
else
  echo "restic is missing: install it (Debian/Ubuntu: 'sudo apt-get install restic'," >&2
  echo "macOS: 'brew install restic') and run 'make setup' again." >&2
  exit 1
fi
