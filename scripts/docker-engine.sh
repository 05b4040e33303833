#!/usr/bin/env bash
# Makes a Docker engine answer, for the kind backend. On a machine whose engine already
# answers it changes nothing. Otherwise (as root) it installs Debian's engine when dockerd
# is missing and starts dockerd; where this machine's capability bounding set lacks a
# capability that `--privileged` asks for, dockerd gets a runc wrapper (images/runc-wrapper)
# as its default runtime, since runc would otherwise refuse every privileged container.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${RESTORE_DRILL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/restore-drill}"
LOG="$CACHE/dockerd.log"
WRAPPER="$CACHE/bin/runc-wrapper"

answers() { timeout 10 docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

if answers; then
  echo "docker: engine $(docker info --format '{{.ServerVersion}}') answers; nothing changed"
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "docker: no engine answers and this is not root: start Docker (or run 'make setup' as root)" >&2
  exit 1
fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "docker: installing Debian's docker.io ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
command -v docker >/dev/null 2>&1 || { echo "docker: the docker CLI is missing after install" >&2; exit 1; }

mkdir -p "$CACHE/bin"
args=()
# Every capability runc knows (0..40) must be in the bounding set for --privileged.
bound=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
if [ $((16#$bound & 16#1ffffffffff)) -ne $((16#1ffffffffff)) ]; then
  if [ ! -x "$WRAPPER" ] || [ images/runc-wrapper/main.go -nt "$WRAPPER" ]; then
    echo "docker: building the runc wrapper (CapBnd $bound lacks capabilities --privileged needs)"
    (cd images/runc-wrapper && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$WRAPPER" .)
  fi
  args+=(--add-runtime "restore-drill-runc=$WRAPPER" --default-runtime restore-drill-runc)
fi

echo "docker: starting dockerd (log: $LOG)"
# setsid: dockerd must outlive this script and the make that ran it.
setsid dockerd "${args[@]}" >"$LOG" 2>&1 < /dev/null &
for _ in $(seq 1 60); do
  if answers; then
    echo "docker: engine $(docker info --format '{{.ServerVersion}}') answers${args:+ (runtime: runc wrapper)}"
    exit 0
  fi
  sleep 1
done
echo "docker: dockerd did not answer within 60 s; last lines of $LOG:" >&2
tail -n 5 "$LOG" >&2
exit 1
