"""classify-record's speed and memory: the 22 DS2 records in one call against wfdb reading them, and a 24-hour recording.

Usage: python bench/bench_records.py [--mitdb-dir DIR] [--runs 3] [--before DIR]

- Baseline, in the same run: wfdb.rdrecord + rdann of the 22 DS2 records in a fresh
  interpreter (what just reading them costs, interpreter start included).
- classify-record on the 22 records in one call (fresh interpreter: start, bundle load,
  reading, detection, features, prediction, writing the CSVs).
- A 24-hour two-lead recording made by joining MIT-BIH records end to end (48 x 30 min),
  written as one WFDB record: classify-record's wall time and peak memory (ru_maxrss).
Medians of --runs runs, wall and CPU time (user + system: steadier than wall time on a shared machine);
the machine's load average is printed beside them. --before DIR also times
classify-record from another checkout of the project (e.g. `git worktree add --detach /tmp/before COMMIT`)
in the same loop, so a change is measured against the code before it under the same load.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.dataset import ALL_RECORDS, DS2  # noqa: E402

READ_ONLY = """
import sys, wfdb
for path in sys.argv[1:]:
    wfdb.rdrecord(path)
    wfdb.rdann(path, "atr")
"""


def timed(command: list[str], cwd: Path = REPO) -> tuple[float, float]:
    """Wall seconds of a child process, and the CPU seconds it used (user + system, all its threads).

    On a shared machine the wall time depends on what else runs; the CPU time much less so.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def peak_of(command: list[str]) -> tuple[float, float]:
    """Wall seconds and the child's own peak RSS in MB, as GNU time reports it."""
    with tempfile.NamedTemporaryFile("r") as report:
        started = time.perf_counter()
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report.name, *command], cwd=REPO, check=True,
                       capture_output=True)
        wall = time.perf_counter() - started
        return wall, int(report.read().strip().splitlines()[-1]) / 1024


def join_records(mitdb_dir: Path, out_dir: Path) -> Path:
    """All 48 records end to end as one two-lead WFDB record (about 24 hours, 31 million samples a lead)."""
    import wfdb

    signals = []
    for record in ALL_RECORDS:
        signals.append(wfdb.rdrecord(str(mitdb_dir / record), physical=False).d_signal[:, :2])
    joined = np.vstack(signals)
    wfdb.wrsamp("day", fs=360, units=["mV", "mV"], sig_name=["MLII", "V1"], d_signal=joined.astype(np.int16),
                fmt=["16", "16"], adc_gain=[200.0, 200.0], baseline=[1024, 1024], write_dir=str(out_dir))
    return out_dir / "day.hea"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mitdb-dir", type=Path, default=Path(os.environ.get("MITDB_DIR", REPO.parent / "shared" / "mitdb")))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", type=Path, help="another checkout whose classify-record is timed in the same loop")
    args = parser.parse_args()
    python = sys.executable
    ds2 = [str(args.mitdb_dir / r) for r in DS2]

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        command = [python, "-m", "pipeline", "classify-record", *[p + ".hea" for p in ds2], "--out-dir"]
        read, classify, before = [], [], []
        for _ in range(args.runs):
            read.append(timed([python, "-c", READ_ONLY, *ds2]))
            classify.append(timed([*command, str(tmp / "out")]))
            if args.before:
                before.append(timed([*command, str(tmp / "out_before")], cwd=args.before))
        print(f"load average {os.getloadavg()[0]:.1f}")
        base_wall = statistics.median(w for w, _ in read)
        base_cpu = statistics.median(c for _, c in read)
        for name, runs in (("wfdb reads the 22 DS2 records:", read), ("classify-record on the 22:    ", classify),
                           (f"the same from {args.before}:", before)):
            if runs:
                wall, cpu = statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)
                print(f"{name} median {wall:.1f} s ({', '.join(f'{w:.1f}' for w, _ in runs)}), ratio {wall / base_wall:.2f}; "
                      f"CPU {cpu:.1f} s, ratio {cpu / base_cpu:.2f}")
        if args.before:
            import pandas as pd

            same = all(pd.read_csv(tmp / "out" / f"{r}.csv").equals(pd.read_csv(tmp / "out_before" / f"{r}.csv"))
                       for r in DS2)
            print(f"the 22 CSVs hold the same values from both: {'yes' if same else 'NO'}")

        day = join_records(args.mitdb_dir, tmp)
        runs = [peak_of([python, "-m", "pipeline", "classify-record", str(day), "--out", str(tmp / "day.csv")])
                for _ in range(args.runs)]
        beats = sum(1 for _ in open(tmp / "day.csv")) - 1
        print(f"load average {os.getloadavg()[0]:.1f}")
        print(f"24-hour recording ({beats:,} beats): median {statistics.median(w for w, _ in runs):.1f} s, "
              f"peak {statistics.median(m for _, m in runs):,.0f} MB "
              f"({'; '.join(f'{w:.1f} s {m:,.0f} MB' for w, m in runs)})")


if __name__ == "__main__":
    main()
