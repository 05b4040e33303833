"""The browser's picture of report.html, and the PNG reading that judges it."""

from __future__ import annotations

import shutil
import struct
import zlib
from pathlib import Path

import pytest

from restore_drill import report, screenshot
from restore_drill.errors import UsageError
from restore_drill.report_sample import sample_results

NO_BROWSER = shutil.which(screenshot.BROWSER) is None
needs_browser = pytest.mark.skipif(
    NO_BROWSER, reason="chromium is not installed (make setup installs it where apt-get can)"
)
GREEN, RED = (0x22, 0xAA, 0x77), (0xCC, 0x33, 0x33)  # report_charts' #2a7 and #c33


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def encode(rows: list[bytes], step: int = 3) -> bytes:
    """A PNG of ``rows`` (RGB, or RGBA with step 4), row y filtered with type y % 5, so
    every filter the reader undoes is in it."""
    width, filtered, above = len(rows[0]) // step, b"", bytes(len(rows[0]))
    for y, row in enumerate(rows):
        kind, out = y % 5, bytearray()
        for i, value in enumerate(row):
            a = row[i - step] if i >= step else 0
            c = above[i - step] if i >= step else 0
            guess = [0, a, above[i], (a + above[i]) // 2, _paeth(a, above[i], c)][kind]
            out.append((value - guess) & 0xFF)
        filtered += bytes([kind]) + bytes(out)
        above = row

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, len(rows), 8, 2 if step == 3 else 6, 0, 0, 0)
    return (
        screenshot.PNG_SIGNATURE
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(filtered))
        + chunk(b"IEND", b"")
    )


def test_the_png_reader_undoes_every_filter() -> None:
    rows = [
        bytes((x * 37 + y * 11 + k * 5) % 256 for x in range(6) for k in range(3))
        for y in range(10)
    ]
    data = encode(rows)
    assert screenshot.png_size(data) == (6, 10)
    assert list(screenshot.pixel_rows(data)) == rows


def test_a_white_picture_is_blank_and_one_dot_is_found() -> None:
    white = [b"\xff" * 3 * 8 for _ in range(7)]
    assert screenshot.find_not_white(encode(white)) is None
    white[5] = white[5][:9] + bytes(RED) + white[5][12:]
    assert screenshot.find_not_white(encode(white)) == (3, 5)
    assert screenshot.find_colour(encode(white), (0xC0, 0x38, 0x30), tolerance=12) == (3, 5)
    assert screenshot.find_colour(encode(white), GREEN, tolerance=12) is None
    rgba = [b"\xff\xff\xff\x80" * 4, b"\xff\xff\xff\x80" * 3 + bytes(GREEN) + b"\xff"]
    assert screenshot.find_colour(encode(rgba, step=4), GREEN) == (3, 1)


def test_without_chromium_the_screenshot_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(screenshot.shutil, "which", lambda _name: None)
    with pytest.raises(UsageError, match="chromium is not installed"):
        screenshot.take(tmp_path / "report.html", tmp_path / "report.png")
    assert screenshot.main(["--out", str(tmp_path)]) == 1
    assert "apt-get install chromium" in capsys.readouterr().err


@needs_browser
def test_the_browser_draws_the_sample_report_when_no_run_wrote_one(tmp_path: Path) -> None:
    png, page = screenshot.report_png(tmp_path)
    assert png == tmp_path / "report.png" and page == "the sample report"
    data = png.read_bytes()
    assert screenshot.png_size(data) == (screenshot.WIDTH, screenshot.HEIGHT)
    assert screenshot.find_not_white(data) is not None, "a blank page"
    # The sample run has a failure: the red banner is drawn, and a green bar of a pass.
    assert screenshot.find_colour(data, RED, tolerance=6) is not None
    assert screenshot.find_colour(data, GREEN, tolerance=6) is not None


@needs_browser
def test_the_browser_draws_the_latest_report_of_the_results_directory(tmp_path: Path) -> None:
    passed = [r for r in sample_results() if r.passed]
    report.write_reports(passed, tmp_path)
    png, page = screenshot.report_png(tmp_path)
    assert page == str(tmp_path / "report.html")
    data = png.read_bytes()
    assert screenshot.png_size(data) == (screenshot.WIDTH, screenshot.HEIGHT)
    where = screenshot.find_colour(data, GREEN, tolerance=6)
    assert where is not None and where[1] < 200, "the green 'all passed' banner on top"
