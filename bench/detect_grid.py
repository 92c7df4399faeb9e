"""One of detect.py's settings over a grid, chosen on the DS1 records only; what each value gives on DS2 and per record.

Used by bench_detect_merge.py and bench_detect_faint.py. The score is tune_detect.py's: the smaller of DS1's gross
Se and +P (EC57 matching, as in bench_detect.py); the best value replaces the served one only if it raises it.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_detect import FS, RECORDS, read, score  # noqa: E402

from pipeline import detect  # noqa: E402
from pipeline.dataset import DS1, DS2  # noqa: E402


def gross(counts: dict, records) -> tuple[float, float]:
    tp, fn, fp = np.sum([counts[r] for r in records], axis=0)
    return 100 * tp / (tp + fn), 100 * tp / (tp + fp)


def run_grid(setting: str, values, shown, doc: str) -> None:
    """Score detect.<setting> at each value (shown(value) labels it) on the 44 records; print a table and the choice."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mitdb-dir", type=Path, default=Path(os.environ.get("MITDB_DIR", "/work/shared/mitdb")))
    args = parser.parse_args()
    data = {r: read(args.mitdb_dir, r) for r in RECORDS}
    served, results = getattr(detect, setting), {}
    print(f"| {setting} | all 44 Se / +P | DS1 Se / +P | DS2 Se / +P | records under 99.5% (Se/+P) |")
    print("|---|---|---|---|---|")
    try:
        for value in values:
            setattr(detect, setting, value)
            counts = {r: score(data[r][1], detect.detect_beats(data[r][0], FS), data[r][3])[0] for r in RECORDS}
            results[value] = counts
            under = []
            for r in RECORDS:
                se, ppv = gross(counts, [r])
                if min(se, ppv) < 99.5:
                    under.append(f"{r} {se:.1f}/{ppv:.1f}")
            cells = [gross(counts, records) for records in (RECORDS, DS1, DS2)]
            print(f"| {shown(value)}{' (served)' if value == served else ''} | "
                  + " | ".join(f"{se:.2f} / {ppv:.2f}" for se, ppv in cells) + f" | {len(under)}: {', '.join(under)} |",
                  flush=True)
    finally:
        setattr(detect, setting, served)
    best = max(values, key=lambda value: min(gross(results[value], DS1)))
    take = min(gross(results[best], DS1)) > min(gross(results[served], DS1))
    print(f"\nbest on DS1 (largest min(Se, +P)): {shown(best)}, min {min(gross(results[best], DS1)):.3f} against "
          f"{min(gross(results[served], DS1)):.3f} served: {'take it' if take else 'keep the served value'}")
