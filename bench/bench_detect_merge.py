"""detect.py's merge window, chosen on the DS1 records only; what each choice gives on DS2 and per record.

    .venv/bin/python bench/bench_detect_merge.py [--mitdb-dir ../shared/mitdb]

Two refined detections closer than MERGE_S are one beat (the larger kept). It was set at 0.2 s ("no real
R-R is that short") and never measured. Record 108's 111 extra detections are P waves 0.20-0.23 s before
their QRS (its PR interval is long), just outside that window. A grid of windows (0.20 s, served; 0.22,
0.24, 0.25, 0.26 s: 273 to 231 beats a minute, faster than any rhythm scored here; ventricular flutter is
left out of EC57 scoring), scored as tune_detect.py scores its grid: the smaller of DS1's gross Se and +P
(EC57 matching, as in bench_detect.py), the best replacing the served window only if it raises that score.
"""
from __future__ import annotations

from detect_grid import run_grid

WINDOWS = (0.20, 0.22, 0.24, 0.25, 0.26)

if __name__ == "__main__":
    run_grid("MERGE_S", WINDOWS, lambda window: f"{window:.2f} s", __doc__)
