"""What explaining a beat costs: pipeline.explain.explain_beats on one beat and on a 21,892-beat file.

    .venv/bin/python bench/bench_explain.py [--models-dir models] [--runs 5]

Beats are real: rows of assets/random_test_sample.csv drawn with replacement
(21,892 is the size of Kaggle's mitbih_test.csv). The baseline, timed in the
same run and interleaved, is what the dashboard does anyway for those beats:
the cascade's predict_proba. Prints a Markdown table for bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.bundle import load_bundle  # noqa: E402
from pipeline.explain import explain_beats  # noqa: E402
from pipeline.validate import read_beats_csv  # noqa: E402


def timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", default=str(REPO / "models"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--big-runs", type=int, default=3)
    args = parser.parse_args()

    bundle = load_bundle(args.models_dir)  # n_jobs=1, as the dashboard's workers load it
    cascade, templates = bundle.models["cascade"], bundle.report.templates
    sample = read_beats_csv(REPO / "assets" / "random_test_sample.csv").X
    big = sample[np.random.default_rng(0).integers(0, len(sample), 21_892)]
    explain_beats(cascade, sample[:1], templates)  # warm-up: first-call costs are not the explanation's

    rows = []
    for name, beats, runs in (("1 beat", sample[:1], args.runs), ("21,892 beats", big, args.big_runs)):
        explain, predict = [], []
        for _ in range(runs):
            explain.append(timed(lambda: explain_beats(cascade, beats, templates)))
            predict.append(timed(lambda: cascade.predict_proba(beats)))
        e, p = statistics.median(explain), statistics.median(predict)
        rows.append(f"| {name} | {e * 1000:,.1f} ms ({len(beats) / e:,.0f} beats/s) | {p * 1000:,.1f} ms | "
                    f"{e / p:,.0f}x | {', '.join(f'{t * 1000:,.0f}' for t in explain)} |")
    print("| beats | explain_beats, median | baseline: predict_proba, median | ratio | explain runs (ms) |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
