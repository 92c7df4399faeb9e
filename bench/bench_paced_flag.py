"""Can the row cascade tell a recording is paced, on a paced patient it never saw?

Usage: python bench/bench_paced_flag.py [--mitdb-dir DIR] [--data beats.parquet]

The rhythm-aware cascade learnt from DS1 only, which holds no paced recording, so a paced
recording's beats come out as N or V. The row cascade (the bundle's "cascade") learnt from 80% of
every record's beats, the four paced ones included, and calls their beats Q; whether it does so
for a paced *patient it never saw* is what would let it flag a paced recording.

Leave one paced record out, four folds: the row cascade (the served settings, PARAMS["intra"])
is fitted on every beat of the 22 DS1 records and of the other three paced records, then
classifies every reference beat of the held-out paced record and of the 22 DS2 records (new,
non-paced patients). Printed: the share of each record's beats called Q.

The rule, fixed before the run: a recording is flagged as paced when at least FLAG_SHARE of its
beats are called Q. It is worth serving only if every held-out paced record is flagged and no
DS2 record is, in every fold.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.dataset import DS1, DS2, PACED, build_beats, read_table  # noqa: E402
from pipeline.models import PARAMS, make_cascade  # noqa: E402
from pipeline.vocabulary import CLASSES, FEATURES  # noqa: E402

FLAG_SHARE = 0.2
Q = CLASSES.index("Q")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mitdb-dir", type=Path, default=Path(os.environ.get("MITDB_DIR", "../shared/mitdb")))
    parser.add_argument("--data", type=Path, help="a beat table from build-dataset (else built from --mitdb-dir)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "paced_flag.json")
    args = parser.parse_args()

    table = read_table(args.data) if args.data else build_beats(args.mitdb_dir)
    X = table[FEATURES].to_numpy(np.float32)
    y = table["label"].to_numpy(np.int64)
    records = table["record"].astype(str).to_numpy()
    results = {}
    for held_out in PACED:
        train = np.isin(records, [*DS1, *(r for r in PACED if r != held_out)])
        started = time.perf_counter()
        cascade = make_cascade(PARAMS["intra"]).fit(X[train], y[train])
        shares = {}
        for record in (held_out, *DS2):
            called = cascade.predict(X[records == record])
            shares[record] = float(np.mean(called == Q))
        results[held_out] = shares
        others = [shares[r] for r in DS2]
        flagged = [r for r in DS2 if shares[r] >= FLAG_SHARE]
        print(f"held out {held_out}: {shares[held_out]:.1%} of its beats called Q "
              f"(its reference Q beats: {np.mean(y[records == held_out] == Q):.1%}); DS2 records: "
              f"highest {max(others):.1%} ({DS2[int(np.argmax(others))]}), flagged {flagged or 'none'} "
              f"[{time.perf_counter() - started:.0f} s]", flush=True)
    worked = all(results[p][p] >= FLAG_SHARE and all(results[p][r] < FLAG_SHARE for r in DS2) for p in PACED)
    print(f"rule: flag at >= {FLAG_SHARE:.0%} of beats called Q -> "
          f"{'every held-out paced record flagged, no DS2 record' if worked else 'fails'}")
    args.out.write_text(json.dumps({"flag_share": FLAG_SHARE, "q_share": results, "worked": worked}, indent=1))


if __name__ == "__main__":
    main()
