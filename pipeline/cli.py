"""Command line: build-dataset, train, tune, predict, sample. Run `python -m pipeline COMMAND --help`."""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from pipeline.dataset import (
    CLASSES,
    FEATURES,
    DatasetError,
    build_beats,
    class_counts,
    download_mitdb,
    intra_patient_split,
    read_kaggle_dir,
    read_table,
    write_table,
)
from pipeline.bundle import DEFAULT_MODELS_DIR, BundleError
from pipeline.validate import DEFAULT_MAX_ROWS, InputError

USAGE_ERROR = 2


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--mitdb-dir", type=Path, help="folder of MIT-BIH WFDB records (100.hea/.dat/.atr ...)")
    source.add_argument("--data", type=Path, help="a beat table written by build-dataset (.parquet)")
    source.add_argument("--kaggle-dir", type=Path, help="folder with Kaggle's mitbih_train.csv and mitbih_test.csv")
    parser.add_argument("--download", action="store_true",
                        help="with --mitdb-dir: first fetch the database from PhysioNet (needs internet)")


def load_source(args) -> tuple:
    """The beat table named by --mitdb-dir, --data or --kaggle-dir, and its source name."""
    if args.kaggle_dir:
        say(f"reading Kaggle CSVs from {args.kaggle_dir}")
        return read_kaggle_dir(args.kaggle_dir), "kaggle"
    if args.data:
        table = read_table(args.data)
        return table, "kaggle" if "split" in table.columns else "mitdb"
    if args.download:
        say(f"downloading MIT-BIH from PhysioNet into {args.mitdb_dir}")
        download_mitdb(args.mitdb_dir)
    say(f"building beats from {args.mitdb_dir}")
    return build_beats(args.mitdb_dir), "mitdb"


def cmd_build_dataset(args) -> int:
    if args.download:
        download_mitdb(args.mitdb_dir)
    started = time.perf_counter()
    table = build_beats(args.mitdb_dir)
    write_table(table, args.out)
    counts = " ".join(f"{c} {n:,}" for c, n in class_counts(table["label"]).items())
    say(f"{len(table):,} beats ({counts}) -> {args.out} in {time.perf_counter() - started:.1f} s")
    return 0


def cmd_train(args) -> int:
    from pipeline.bundle import save_bundle
    from pipeline.models import Params
    from pipeline.train import train_all

    started = time.perf_counter()
    table, source = load_source(args)
    say(f"{len(table):,} beats from {source}")
    served, report = train_all(table, Params(), source, progress=say)
    save_bundle(args.out, served, report, table)
    say(f"bundle written to {args.out} in {time.perf_counter() - started:.0f} s")
    return 0


def cmd_tune(args) -> int:
    import json

    from pipeline.models import Params
    from pipeline.tune import tune

    table, _ = load_source(args)
    results = tune(table, Params(), folds=args.folds, progress=say)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    say(f"best binary {results['best_binary']}; best multi-class {results['best_multiclass']} -> {args.out}")
    return 0


def cmd_predict(args) -> int:
    from pipeline.bundle import load_bundle
    from pipeline.evaluate import multiclass_metrics
    from pipeline.predict import predict_table
    from pipeline.validate import read_beats_csv

    beats = read_beats_csv(args.file, max_rows=args.max_rows)
    if beats.header_skipped:
        say("the first row holds column names, not a beat: skipped")
    for warning in beats.warnings:
        say(f"warning: {warning}")
    bundle = load_bundle(args.models, n_jobs=os.cpu_count() or 1)
    table = predict_table(bundle, beats, args.model)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out, index=False)
        say(f"{len(table):,} predictions -> {args.out}")
    else:
        table.to_csv(sys.stdout, index=False)
    if beats.y is not None:
        metrics = multiclass_metrics(beats.y, table["predicted_label"].to_numpy())
        say(f"accuracy {metrics['accuracy']:.4f}, macro-F1 {metrics['macro_f1']:.4f} on {len(table):,} labelled beats")
        header = "true\\pred " + " ".join(f"{c:>6}" for c in CLASSES)
        print(header, file=sys.stderr)
        for name, row in zip(CLASSES, metrics["confusion_matrix"]):
            print(f"{name:>9} " + " ".join(f"{n:>6}" for n in row), file=sys.stderr)
    return 0


def cmd_sample(args) -> int:
    """A labelled Kaggle-format CSV drawn from the intra-patient *test* split only."""
    table, _ = load_source(args)
    _, test = intra_patient_split(table)
    rng = np.random.default_rng(args.seed)
    chosen = []
    for label in range(len(CLASSES)):
        candidates = test[table["label"].to_numpy()[test] == label]
        chosen.extend(rng.choice(candidates, size=min(args.per_class, len(candidates)), replace=False))
    rows = table.iloc[np.sort(chosen)]
    values = np.column_stack([rows[FEATURES].to_numpy(np.float64), rows["label"].to_numpy(np.float64)])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(args.out, values, delimiter=",", fmt="%.18e")
    say(f"{len(rows)} test-split beats ({args.per_class} per class) -> {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build-dataset", help="cut MIT-BIH records into a beat table (Parquet)")
    build.add_argument("--mitdb-dir", type=Path, required=True, help="folder of MIT-BIH WFDB records")
    build.add_argument("--out", type=Path, required=True, help="the .parquet file to write")
    build.add_argument("--download", action="store_true", help="first fetch the database from PhysioNet")
    build.set_defaults(run=cmd_build_dataset)

    train = commands.add_parser("train", help="train and evaluate all models, write the bundle")
    add_source_arguments(train)
    train.add_argument("--out", type=Path, default=Path("models"), help="bundle folder (default: models/)")
    train.set_defaults(run=cmd_train)

    tune = commands.add_parser("tune", help="cross-validate the XGBoost candidates on the intra-patient training split")
    add_source_arguments(tune)
    tune.add_argument("--folds", type=int, default=2)
    tune.add_argument("--out", type=Path, default=Path("bench/tuning.json"))
    tune.set_defaults(run=cmd_tune)

    predict = commands.add_parser("predict", help="label the beats of a Kaggle-format CSV")
    predict.add_argument("file", type=Path, help="CSV: 187 values per row (188 with the label last), header optional")
    predict.add_argument("--model", choices=["cascade", "logreg"], default="cascade")
    predict.add_argument("--out", type=Path, help="write predictions here (default: standard output)")
    predict.add_argument("--models", type=Path, default=DEFAULT_MODELS_DIR, help="bundle folder (default: the committed models/)")
    predict.add_argument("--max-rows", type=int, default=DEFAULT_MAX_ROWS, help=f"refuse larger files (default {DEFAULT_MAX_ROWS:,})")
    predict.set_defaults(run=cmd_predict)

    sample = commands.add_parser("sample", help="write a labelled sample CSV from the intra-patient test split")
    add_source_arguments(sample)
    sample.add_argument("--per-class", type=int, default=10)
    sample.add_argument("--seed", type=int, default=42)
    sample.add_argument("--out", type=Path, required=True)
    sample.set_defaults(run=cmd_sample)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (InputError, DatasetError, BundleError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_ERROR
