"""Bad input is refused before anything is made: exit 2, one line, no traceback, and no
run directory left behind. One table holds every case."""

from __future__ import annotations

from pathlib import Path

import pytest

from restore_drill.cli import main
from restore_drill.objectstore import external
from restore_drill.objectstore.base import free_port

KUBECONFIG = "apiVersion: v1\nkind: Config\ncontexts: [{name: staging, context: {}}]\n"


def existing(tmp_path: Path, *extra: str) -> list[str]:
    config = tmp_path / "kubeconfig"
    config.write_text(KUBECONFIG)
    return ["--cluster", "existing", "--kubeconfig", str(config), "--allow-existing", *extra]


CASES = {
    "unknown scenario": (["run", "nope", "--cluster", "kind"], {}, "unknown scenario 'nope'"),
    "size not a size": (["run", "pvc-delete", "--size", "huge"], {}, "--size: 'huge'"),
    "size zero": (["run", "pvc-delete", "--size", "0"], {}, "must be greater than zero"),
    "size over the PVC": (["run", "all", "--size", "100TiB"], {}, "holds 1Gi"),
    "out not writable": (["run", "pvc-delete", "--out", "/proc/nope"], {}, "--out /proc/nope"),
    "kubeconfig absent": (
        ["run", "pvc-delete", "--cluster", "existing", "--kubeconfig", "/nonexistent/kc"],
        {},
        "--allow-existing",
    ),
    "context absent": (
        ["run", "pvc-delete", "EXISTING", "--context", "prod"],
        {"RESTORE_DRILL_S3_ENDPOINT": "http://127.0.0.1:1"},
        "context 'prod' is not in",
    ),
    "no S3 endpoint": (
        ["run", "pvc-delete", "EXISTING", "--context", "staging"],
        {"RESTORE_DRILL_S3_ENDPOINT": ""},
        "needs an S3 endpoint (RESTORE_DRILL_S3_ENDPOINT)",
    ),
    "S3 endpoint silent": (
        ["run", "pvc-delete", "EXISTING", "--context", "staging"],
        {"RESTORE_DRILL_S3_ENDPOINT": "http://127.0.0.1:PORT"},
        "does not answer",
    ),
    "S3 keys missing": (
        ["run", "pvc-delete", "EXISTING", "--context", "staging"],
        {"RESTORE_DRILL_S3_ENDPOINT": "http://127.0.0.1:1", "AWS_ACCESS_KEY_ID": ""},
        "S3 credentials missing",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_exit_2_and_makes_nothing(
    case: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    argv, env, said = CASES[case]
    monkeypatch.setattr(external, "TRY_PAUSE", 0.01)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "drill-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "drill-secret")
    for name, value in env.items():
        monkeypatch.setenv(name, value.replace("PORT", str(free_port())))
    out = tmp_path / "runs"
    args: list[str] = []
    for arg in argv:
        args += existing(tmp_path) if arg == "EXISTING" else [arg]
    if "--out" not in args:
        args += ["--out", str(out)]
    assert main(args) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1, err
    assert said in err
    assert "Traceback" not in captured.out + captured.err
    assert not out.exists() or not any(out.iterdir()), "a refused run left a directory"
