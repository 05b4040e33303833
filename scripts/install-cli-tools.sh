#!/usr/bin/env bash
# Installs the pinned kind, kubectl and helm (clusters/addons.yaml) by their projects'
# release downloads, each checked against the checksum its release publishes, into DEST
# (default /usr/local/bin; sudo when that is not writable). For machines whose download
# sites answer (the users' CI); where none do, `restore-drill images build` builds the
# same tools from the Go module proxy instead. Needs the venv: run after `make setup`.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${DEST:-/usr/local/bin}
python=${PYTHON:-.venv/bin/python}
case "$(uname -m)" in
  x86_64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "install-cli-tools: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac
read -r kind kubectl helm < <("$python" -c '
from restore_drill.addons import load_addons
pins = load_addons()
print(pins.kind_version, pins.kubernetes_version, pins.section("helm")["version"])
')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fetch() {  # fetch URL FILE
  curl -fsSL --retry 3 -o "$work/$2" "$1"
}
check() {  # check FILE EXPECTED-SHA256
  echo "$2  $work/$1" | sha256sum --check --status || {
    echo "install-cli-tools: $1 does not match its published sha256 ($2)" >&2
    exit 1
  }
}
place() {  # place FILE NAME
  local sudo=()
  [ -w "$dest" ] || sudo=(sudo)
  "${sudo[@]}" install -m 0755 "$work/$1" "$dest/$2"
  echo "install-cli-tools: $2 $("$dest/$2" "${@:3}" 2>&1 | head -1)"
}

fetch "https://kind.sigs.k8s.io/dl/$kind/kind-linux-$arch" kind
fetch "https://github.com/kubernetes-sigs/kind/releases/download/$kind/kind-linux-$arch.sha256sum" kind.sha256sum
check kind "$(cut -d' ' -f1 "$work/kind.sha256sum")"
place kind kind version

fetch "https://dl.k8s.io/release/$kubectl/bin/linux/$arch/kubectl" kubectl
fetch "https://dl.k8s.io/release/$kubectl/bin/linux/$arch/kubectl.sha256" kubectl.sha256
check kubectl "$(cut -d' ' -f1 "$work/kubectl.sha256")"
place kubectl kubectl version --client

fetch "https://get.helm.sh/helm-$helm-linux-$arch.tar.gz" helm.tar.gz
fetch "https://get.helm.sh/helm-$helm-linux-$arch.tar.gz.sha256sum" helm.sha256sum
check helm.tar.gz "$(cut -d' ' -f1 "$work/helm.sha256sum")"
tar -xzf "$work/helm.tar.gz" -C "$work" "linux-$arch/helm"
mv "$work/linux-$arch/helm" "$work/helm"
place helm helm version --short
