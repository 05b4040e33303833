#!/usr/bin/env bash
# Installs the host tools `make setup` needs when they are missing, from Debian's packages:
# debootstrap builds the offline images' root filesystems (needed when IMAGES=built), and
# restic is what `restore-drill verify-backups` reads repositories with, and what the
# stale-lock drill leaves its lock with (the movers run VolSync's own restic); chromium
# draws `make report-screenshot` (its test is skipped without it).
# Usage: install-system-tools.sh [IMAGES]
set -euo pipefail
images=${1:-built}
export PATH="$PATH:/usr/sbin:/sbin"

need=()
want=()
if [ "$images" = built ] && ! command -v debootstrap >/dev/null 2>&1; then
  need+=(debootstrap)
fi
if ! command -v restic >/dev/null 2>&1; then
  want+=(restic)
fi
if ! command -v chromium >/dev/null 2>&1; then
  want+=(chromium)
fi
missing=("${need[@]}" "${want[@]}")
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "system tools: installing ${missing[*]} with apt-get ..."
  apt-get update -qq
  if [ "${#need[@]}" -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  # A tool only wanted never stops the setup.
  if [ "${#want[@]}" -gt 0 ] &&
    ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}" >/dev/null; then
    echo "system tools: could not install ${want[*]}; setup goes on without" >&2
  fi
  exit 0
fi
for tool in "${want[@]}"; do
  case $tool in
    restic) echo "system tools: restic is missing; only 'restore-drill verify-backups' and" \
      "the stale-lock drill need it" \
      "(Debian/Ubuntu: sudo apt-get install restic; macOS: brew install restic)" >&2 ;;
    chromium) echo "system tools: chromium is missing; only 'make report-screenshot' needs it" \
      "(Debian: sudo apt-get install chromium)" >&2 ;;
  esac
done
if [ "${#need[@]}" -gt 0 ]; then
  echo "system tools: debootstrap is missing and IMAGES=built needs it: install it" \
    "(sudo apt-get install debootstrap) or run 'make setup IMAGES=pulled'" >&2
  exit 1
fi
