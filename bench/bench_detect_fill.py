"""detect.py's limit on beats the second lead fills in close to a neighbour, chosen on the DS1 records only; DS2 and
per record shown.

    .venv/bin/python bench/bench_detect_fill.py [--mitdb-dir ../shared/mitdb]

Most of record 208's 18 extra detections (DS1) are beats the second lead (V1) filled into a gap of the first lead's
rhythm 0.27-0.34 s after a ventricular beat: its T wave, large on V1 and 0.02-0.26 of the neighbours' QRS on MLII.
A first rule, fixed before its run (by hand, 2026-11-27 18:46: a filled beat must show on the primary lead at least
T x its neighbours' QRS, T in 0.05-0.2), lost on DS1: it drops record 116's real beats too (Se 99.34-99.17), whose
MLII fades for a while. This one judges only the fills closer than SHORT_RATIO x the local median R-R to a
neighbour, where a T wave sits: FILL_FAINT, a grid fixed before the run (0.0 = off, served; 0.05, 0.1, 0.15, 0.2),
scored as tune_detect.py scores its grid: the smaller of DS1's gross Se and +P (EC57 matching, as in
bench_detect.py), the best replacing the served limit only if it raises that score.
"""
from __future__ import annotations

from detect_grid import run_grid

LIMITS = (0.0, 0.05, 0.1, 0.15, 0.2)

if __name__ == "__main__":
    run_grid("FILL_FAINT", LIMITS, lambda limit: f"{limit:.2f}", __doc__)
