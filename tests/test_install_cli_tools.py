"""scripts/install-cli-tools.sh: the pinned kind, kubectl and helm, each checked against its
release's published sha256. Downloads come from a stand-in ``curl`` on PATH that serves
files from a directory, so the checks run here without a network."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from restore_drill.addons import load_addons

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "install-cli-tools.sh"

FAKE_CURL = """#!/bin/sh
# curl -fsSL --retry 3 -o OUT URL: serve URL from $SERVED (its path below the host)
out="" url=""
while [ $# -gt 0 ]; do
  case "$1" in -o) out="$2"; shift ;; http*) url="$1" ;; esac
  shift
done
echo "$url" >> "$SERVED/requests"
file="$SERVED/$(echo "$url" | sed 's|^https://||')"
[ -f "$file" ] || exit 22
cp "$file" "$out"
"""


def tool(name: str) -> bytes:
    return f"#!/bin/sh\necho {name} pinned $*\n".encode()


def serve(root: Path, url: str, data: bytes) -> None:
    path = root / url.removeprefix("https://")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def releases(root: Path, *, kind_sha: str | None = None) -> None:
    pins = load_addons()
    kind, kubectl, helm = (
        pins.kind_version,
        pins.kubernetes_version,
        pins.section("helm")["version"],
    )
    kind_bin, kubectl_bin = tool("kind"), tool("kubectl")
    sha = lambda data: hashlib.sha256(data).hexdigest()  # noqa: E731
    serve(root, f"https://kind.sigs.k8s.io/dl/{kind}/kind-linux-amd64", kind_bin)
    serve(
        root,
        f"https://github.com/kubernetes-sigs/kind/releases/download/{kind}/kind-linux-amd64.sha256sum",
        f"{kind_sha or sha(kind_bin)}  kind-linux-amd64\n".encode(),
    )
    base = f"https://dl.k8s.io/release/{kubectl}/bin/linux/amd64/kubectl"
    serve(root, base, kubectl_bin)
    serve(root, base + ".sha256", sha(kubectl_bin).encode())
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        data = tool("helm")
        info = tarfile.TarInfo("linux-amd64/helm")
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
    url = f"https://get.helm.sh/helm-{helm}-linux-amd64.tar.gz"
    serve(root, url, archive.getvalue())
    serve(root, url + ".sha256sum", f"{sha(archive.getvalue())}  x.tar.gz\n".encode())


def install(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    fake = tmp_path / "fakebin"
    fake.mkdir(exist_ok=True)
    (fake / "curl").write_text(FAKE_CURL)
    (fake / "curl").chmod(0o755)
    dest = tmp_path / "dest"
    dest.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "PATH": f"{fake}:{os.environ['PATH']}",
        "SERVED": str(tmp_path / "served"),
        "DEST": str(dest),
        "PYTHON": sys.executable,
    }
    return subprocess.run(
        [str(SCRIPT)], env=env, capture_output=True, text=True, check=False, timeout=60
    )


@pytest.fixture(autouse=True)
def _amd64_only() -> None:
    if os.uname().machine != "x86_64":
        pytest.skip("the stand-in releases are amd64")


def test_installs_the_pinned_tools_once_their_checksums_match(tmp_path: Path) -> None:
    releases(tmp_path / "served")
    done = install(tmp_path)
    assert done.returncode == 0, done.stderr
    for name in ("kind", "kubectl", "helm"):
        assert os.access(tmp_path / "dest" / name, os.X_OK)
    assert "install-cli-tools: helm helm pinned version --short" in done.stdout
    asked = (tmp_path / "served" / "requests").read_text()
    pins = load_addons()
    assert f"/dl/{pins.kind_version}/" in asked and f"/release/{pins.kubernetes_version}/" in asked


def test_a_download_that_does_not_match_its_checksum_is_not_installed(tmp_path: Path) -> None:
    releases(tmp_path / "served", kind_sha="0" * 64)
    done = install(tmp_path)
    assert done.returncode != 0
    assert "kind does not match its published sha256" in done.stderr
    assert not (tmp_path / "dest" / "kind").exists()
