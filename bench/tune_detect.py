"""Choose detect.py's rule parameters on the DS1 records only, and show what each choice gives on DS2.

    .venv/bin/python bench/tune_detect.py [--mitdb-dir ../shared/mitdb]

A grid over GAP_RATIO x GAP_MARGIN x SHORT_RATIO x WEAK_RATIO (24 settings);
the score is the smaller of gross Se and +P on DS1 (EC57 matching, as in
bench_detect.py). sleepecg's detections are computed once per record and lead.
"""
from __future__ import annotations

import argparse
import itertools
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_detect import FS, read, score  # noqa: E402

from pipeline import detect  # noqa: E402
from pipeline.dataset import DS1, DS2  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mitdb-dir", type=Path, default=Path(os.environ.get("MITDB_DIR", "/work/shared/mitdb")))
    args = parser.parse_args()
    data = {r: read(args.mitdb_dir, r) for r in DS1 + DS2}

    plain, memo = detect._sleepecg, {}

    def cached(signal, fs):
        key = (len(signal), signal[:1000].tobytes())
        if key not in memo:
            memo[key] = plain(signal, fs)
        return memo[key]

    detect._sleepecg = cached
    rows = []
    print("| GAP_RATIO | GAP_MARGIN | SHORT_RATIO | WEAK_RATIO | DS1 Se | DS1 +P | DS2 Se | DS2 +P |")
    print("|---|---|---|---|---|---|---|---|")
    for setting in itertools.product((1.3, 1.5), (0.3, 0.4), (0.6, 0.7), (0.4, 0.5, 0.6)):
        detect.GAP_RATIO, detect.GAP_MARGIN, detect.SHORT_RATIO, detect.WEAK_RATIO = setting
        figures = []
        for records in (DS1, DS2):
            tp, fn, fp = np.sum([score(data[r][1], detect.detect_beats(data[r][0], FS), data[r][3])[0]
                                 for r in records], axis=0)
            figures += [100 * tp / (tp + fn), 100 * tp / (tp + fp)]
        rows.append((min(figures[:2]), setting, figures))
        print("| " + " | ".join(map(str, setting)) + " | " + " | ".join(f"{f:.2f}" for f in figures) + " |", flush=True)
    best = max(rows, key=lambda row: row[0])
    print(f"\nbest on DS1 (largest min(Se, +P)): {best[1]} -> DS1 {best[2][0]:.2f}/{best[2][1]:.2f}, "
          f"DS2 {best[2][2]:.2f}/{best[2][3]:.2f}")


if __name__ == "__main__":
    main()
