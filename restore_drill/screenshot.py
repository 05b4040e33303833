"""A real browser's picture of report.html: Debian's chromium, headless, draws the page
as a person would see it, and the PNG is read back with the standard library alone.

`make report-screenshot` (``python -m restore_drill.screenshot``) writes runs/report.png
from the latest runs/report.html, or from a sample report when no run wrote one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from restore_drill.errors import DrillError, UsageError

BROWSER = "chromium"
WIDTH, HEIGHT = 1200, 2000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {2: 3, 6: 4}  # PNG colour type -> bytes per pixel at 8 bits: RGB, RGBA


class ScreenshotFailed(DrillError):
    """The browser did not draw the page."""


def take(
    page: Path, png: Path, *, width: int = WIDTH, height: int = HEIGHT, timeout: float = 120.0
) -> Path:
    """Draw ``page`` in a ``width`` x ``height`` window of headless chromium into ``png``."""
    browser = shutil.which(BROWSER)
    if browser is None:
        raise UsageError(f"{BROWSER} is not installed (Debian: apt-get install chromium)")
    png.parent.mkdir(parents=True, exist_ok=True)
    png.unlink(missing_ok=True)
    # A profile of its own: runs at once never share one, and none is left in $HOME.
    with tempfile.TemporaryDirectory(prefix="restore-drill-browser-") as profile:
        argv = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--screenshot={png}",
            f"--window-size={width},{height}",
            page.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(
                argv,
                env={**os.environ},
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ScreenshotFailed(f"{BROWSER} drew nothing in {timeout:g} s") from None
    if done.returncode != 0 or not png.is_file():
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise ScreenshotFailed(f"{BROWSER} exited {done.returncode} without {png}: {tail}")
    return png


def _chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG")
    at = len(PNG_SIGNATURE)
    while at + 8 <= len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind = data[at + 4 : at + 8]
        yield kind, data[at + 8 : at + 8 + length]
        at += 12 + length  # length, kind, body, CRC


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the PNG's header chunk."""
    width, height, _ = _layout(data)
    return width, height


def _layout(data: bytes) -> tuple[int, int, int]:
    """(width, height, bytes per pixel) of a PNG this module decodes."""
    kind, header = next(_chunks(data))
    if kind != b"IHDR":
        raise ValueError("a PNG starts with IHDR")
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header[:13])
    if depth != 8 or colour not in CHANNELS or interlace:
        raise ValueError(f"PNG depth {depth}, colour type {colour}, interlace {interlace}")
    return int(width), int(height), CHANNELS[colour]


def pixel_rows(data: bytes) -> Iterator[bytes]:
    """The PNG's rows top to bottom, unfiltered: RGB or RGBA bytes per pixel. Lazily, so a
    search that finds its pixel early decodes little (pure Python is slow at 1200x2000)."""
    width, height, step = _layout(data)
    raw = zlib.decompress(b"".join(body for kind, body in _chunks(data) if kind == b"IDAT"))
    stride = width * step
    above = bytearray(stride)
    for y in range(height):
        at = y * (stride + 1)
        row = bytearray(raw[at + 1 : at + 1 + stride])
        _unfilter(raw[at], row, above, step)
        yield bytes(row)
        above = row


def _unfilter(kind: int, row: bytearray, above: bytearray, step: int) -> None:
    if kind == 1:  # Sub
        for i in range(step, len(row)):
            row[i] = (row[i] + row[i - step]) & 0xFF
    elif kind == 2:  # Up
        for i in range(len(row)):
            row[i] = (row[i] + above[i]) & 0xFF
    elif kind == 3:  # Average
        for i in range(len(row)):
            left = row[i - step] if i >= step else 0
            row[i] = (row[i] + (left + above[i]) // 2) & 0xFF
    elif kind == 4:  # Paeth
        for i in range(len(row)):
            a = row[i - step] if i >= step else 0
            b, c = above[i], above[i - step] if i >= step else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            best = a if pa <= pb and pa <= pc else b if pb <= pc else c
            row[i] = (row[i] + best) & 0xFF
    elif kind != 0:
        raise ValueError(f"PNG filter type {kind}")


def find_colour(
    data: bytes, colour: tuple[int, int, int], tolerance: int = 0
) -> tuple[int, int] | None:
    """The first (x, y) whose RGB is within ``tolerance`` of ``colour``, or None."""
    return _find(data, lambda rgb: all(abs(rgb[k] - colour[k]) <= tolerance for k in range(3)))


def find_not_white(data: bytes) -> tuple[int, int] | None:
    """The first (x, y) that is not white: a blank page has none."""
    return _find(data, lambda rgb: rgb != b"\xff\xff\xff")


def _find(data: bytes, wanted: Callable[[bytes], bool]) -> tuple[int, int] | None:
    step = _layout(data)[2]
    for y, row in enumerate(pixel_rows(data)):
        for x in range(0, len(row), step):
            if wanted(row[x : x + 3]):
                return x // step, y
    return None


def sample_page(directory: Path) -> Path:
    """A report of the made-up run of report_sample, written in ``directory``."""
    from restore_drill.report_html import html_report
    from restore_drill.report_sample import sample_history, sample_results

    page = directory / "report-sample.html"
    page.write_text(
        html_report(sample_results(), sample_history(), title="restore-drill (sample data)")
    )
    return page


def report_png(out: Path) -> tuple[Path, str]:
    """``out``/report.png of ``out``/report.html, or of the sample report when no run wrote
    one; the PNG and the page it shows."""
    latest = out / "report.html"
    if latest.is_file():
        return take(latest, out / "report.png"), str(latest)
    with tempfile.TemporaryDirectory(prefix="restore-drill-sample-") as directory:
        return take(sample_page(Path(directory)), out / "report.png"), "the sample report"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="a browser's picture of report.html")
    parser.add_argument("--out", type=Path, default=Path("runs"), help="the results directory")
    args = parser.parse_args(argv)
    try:
        png, page = report_png(args.out)
    except DrillError as exc:
        print(f"report-screenshot: {exc}", file=sys.stderr)
        return 1
    print(f"{png}: {page} at {WIDTH}x{HEIGHT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
