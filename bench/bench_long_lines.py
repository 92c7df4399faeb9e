"""Peak memory when the validator refuses a file of one over-long line, through the CLI and the dashboard's path.

    .venv/bin/python bench/bench_long_lines.py [--runs 3] [--cli-mb 1024] [--upload-mb 80]

CLI: `python -m pipeline predict FILE` on a one-line file of `--cli-mb` MB,
next to the same command on an empty file (refused before any reading: the
baseline). Dashboard: in a fresh interpreter, the upload store holds a
one-line file of `--upload-mb` MB and `load_beats` (what a worker runs when a
callback classifies the upload) reads it; baseline is the same interpreter's
RSS just before. Peak = the child's max RSS (wait4). Medians of `--runs`.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MB = 1024 * 1024

DASHBOARD_CHILD = """
import io, resource, sys, psutil
from dashboard.uploads import DiskUploadStore
from dashboard.predictions import load_beats
from pipeline.validate import InputError
store = DiskUploadStore(sys.argv[2], ttl_seconds=600, max_bytes=4096 * 1024 * 1024)
with open(sys.argv[1], "rb") as upload:
    token = store.create(upload, limit=4096 * 1024 * 1024)
before = psutil.Process().memory_info().rss
try:
    load_beats(store, token)
    outcome = "accepted"
except InputError as error:
    outcome = str(error)
print(before // 1024, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, outcome, sep="\\t")
"""


def one_line_file(path: Path, megabytes: int) -> Path:
    block = b"0.5," * (MB // 4)
    with open(path, "wb") as out:
        for _ in range(megabytes):
            out.write(block)
    return path


def cli_peak(path: Path) -> tuple[float, int, str]:
    """(max RSS in MB, exit status, last stderr line) of `python -m pipeline predict path`."""
    process = subprocess.Popen([sys.executable, "-m", "pipeline", "predict", str(path)], cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = process.stderr.read().decode(errors="replace").strip().splitlines()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024, process.returncode, err[-1] if err else ""


def dashboard_peak(path: Path, store_dir: Path) -> tuple[float, float, str]:
    out = subprocess.run([sys.executable, "-c", DASHBOARD_CHILD, str(path), str(store_dir)], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout.strip()
    before_kb, peak_kb, outcome = out.split("\t")
    return int(before_kb) / 1024, int(peak_kb) / 1024, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cli-mb", type=int, default=1024)
    parser.add_argument("--upload-mb", type=int, default=80)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        empty = folder / "empty.csv"
        empty.write_bytes(b"")
        long_cli = one_line_file(folder / "cli.csv", args.cli_mb)
        long_upload = one_line_file(folder / "upload.csv", args.upload_mb)
        base, peak, said = [], [], ""
        for _ in range(args.runs):
            base.append(cli_peak(empty)[0])
            rss, status, said = cli_peak(long_cli)
            assert status == 2, (status, said)
            peak.append(rss)
        rows = [(f"CLI `predict`, one {args.cli_mb} MB line (exit 2)", statistics.median(base),
                 statistics.median(peak), said)]
        before, after = [], []
        for run in range(args.runs):
            b, a, said = dashboard_peak(long_upload, folder / f"store{run}")
            before.append(b)
            after.append(a)
        rows.append((f"dashboard `load_beats`, one {args.upload_mb} MB line", statistics.median(before),
                     statistics.median(after), said))
    print(f"\nmedians of {args.runs} runs\n")
    print("| refused file | baseline RSS | peak RSS | peak above baseline | message |")
    print("|---|---|---|---|---|")
    for name, baseline, top, message in rows:
        print(f"| {name} | {baseline:.0f} MB | {top:.0f} MB | {top - baseline:.0f} MB | {message} |")


if __name__ == "__main__":
    main()
