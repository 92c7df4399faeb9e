"""Command line: build-dataset, train, tune, evaluate, predict, classify-record, sample. Run `python -m pipeline COMMAND --help`."""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from pipeline.bundle import DEFAULT_MODELS_DIR, BundleError
from pipeline.dataset import (
    DatasetError,
    build_beats,
    download_mitdb,
    intra_patient_split,
    read_kaggle_dir,
    read_table,
    write_table,
)
from pipeline.validate import DEFAULT_MAX_ROWS, InputError
from pipeline.vocabulary import CLASSES, FEATURES, class_counts

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
    from pipeline.models import PARAMS
    from pipeline.train import check_beats, rhythm_check_beats, train_all

    started = time.perf_counter()
    table, source = load_source(args)
    say(f"{len(table):,} beats from {source}")
    served, report = train_all(table, PARAMS, source, mitdb_dir=args.mitdb_dir, progress=say)
    check = {name: check_beats(table) for name in ("logreg", "cascade")}
    if "rhythm" in served:
        check["rhythm"] = rhythm_check_beats(args.mitdb_dir, report)
    save_bundle(args.out, served, report, table, check)
    say(f"bundle written to {args.out} in {time.perf_counter() - started:.0f} s")
    return 0


def cmd_tune(args) -> int:
    import json

    from pipeline.models import PARAMS
    from pipeline.tune import tune

    table, _ = load_source(args)
    results = tune(table, PARAMS[args.protocol], protocol=args.protocol, folds=args.folds, progress=say)
    out = args.out or Path(f"bench/tuning_{args.protocol}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    say(f"best binary {results['best_binary']}; best multi-class {results['best_multiclass']} -> {out}")
    return 0


def cmd_predict(args) -> int:
    from pipeline.bundle import load_bundle
    from pipeline.evaluate import multiclass_metrics
    from pipeline.predict import predict_table
    from pipeline.validate import read_beats_csv

    if args.out and args.out.is_dir():
        raise InputError(f"--out {args.out} is a folder: give the CSV file to write, e.g. {args.out / 'predictions.csv'}.")
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


def cmd_evaluate(args) -> int:
    """Evaluate the bundle's served models again on the intra-patient test split, without retraining."""
    import json

    from pipeline.bundle import load_bundle
    from pipeline.evaluate import evaluate_models

    bundle = load_bundle(args.models, n_jobs=os.cpu_count() or 1)
    table, _ = load_source(args)
    _, test = intra_patient_split(table)
    X = table[FEATURES].to_numpy(np.float32)[test]
    y = table["label"].to_numpy(np.int64)[test]
    measured = evaluate_models(bundle.models, X, y)
    reported = bundle.report.protocols["intra"].models
    for name in ("logreg", "cascade"):
        now, then = measured[name], reported[name]
        say(f"{name}: accuracy {now['accuracy']:.4f} (report {then.accuracy:.4f}), "
            f"macro-F1 {now['macro_f1']:.4f} (report {then.macro_f1:.4f}) on {now['n']:,} test beats")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"protocol": "intra", "models": measured}, indent=1))
        say(f"metrics -> {args.out}")
    return 0


RECORD_WORKERS = 4  # recordings classified at once; each holds its signals (a 24-hour one about 1.1 GB at peak)
_recording_warnings = threading.local()  # .shown: the warnings of the recording this thread classifies


def _keep_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """warnings.showwarning during classify-record: a warning is printed with its recording's lines, as one
    "warning: ..." line (where in our code it was raised is no use to whoever reads it)."""
    text = f"warning: {message}\n"
    shown = getattr(_recording_warnings, "shown", None)
    if shown is None:
        sys.stderr.write(text)
    else:
        shown.append(text)


def summary_lines(name: str, result, out: Path) -> str:
    """What classify-record prints for a recording: beats, heart rate and classes; Se and +P with annotations."""
    summary = result.summary
    counts = " ".join(f"{c} {n:,}" for c, n in summary["counts"].items())
    text = f"{name}: {summary['beats']:,} beats, mean heart rate {summary['mean_hr_bpm']:.0f} bpm, {counts} -> {out}\n"
    if result.reference:
        detection = result.reference["detection"]
        text += (f"  against the annotations: beats Se {detection['sensitivity']:.2%} +P "
                 f"{detection['positive_predictivity']:.2%}; " + ", ".join(
                     f"{c} Se {_share(m['sensitivity'], m['reference'])} +P {_share(m['positive_predictivity'], m['given'])}"
                     for c, m in result.reference["per_class"].items() if m["reference"] or m["given"]) + "\n")
    return text


def _share(value: float, of: int) -> str:
    """A Se or +P, or "-" when there is nothing to take a share of (no reference beat of the class, or none given it)."""
    return f"{value:.1%}" if of else "-"


def cmd_classify_record(args) -> int:
    """Find and classify every heartbeat of each recording; one CSV per recording, one summary line each."""
    from pipeline.bundle import load_bundle
    from pipeline.records import RecordError, classify_recording, record_model, write_table
    from pipeline.recording import RecordingError, read_recording
    from pipeline.report import new_patient_note

    if args.out and len(args.paths) > 1:
        raise InputError(f"--out writes one file but {len(args.paths)} recordings were given: use --out-dir DIR.")
    outputs = [args.out or args.out_dir / f"{path.stem}.csv" for path in args.paths]
    if len(set(outputs)) < len(outputs):
        raise InputError("Two recordings have the same name, so their outputs would overwrite each other: "
                         "classify them in separate calls.")
    cores = os.cpu_count() or 1
    workers = min(RECORD_WORKERS, cores, len(args.paths))
    bundle = load_bundle(args.models, n_jobs=max(1, cores // workers), only=("rhythm",))
    model = record_model(bundle)

    def classify(path: Path, out: Path) -> tuple[str, bool]:
        """Read, classify and write one recording: what to print for it (its warnings first), and whether it failed."""
        _recording_warnings.shown = shown = []
        try:
            recording = read_recording(path, fs=args.fs, lead=args.lead, invert=args.invert)
            result = classify_recording(recording, model, args.beats)
            out.parent.mkdir(parents=True, exist_ok=True)
            write_table(result.table, out)
            return "".join(shown) + summary_lines(recording.name, result, out), False
        except (RecordingError, RecordError) as exc:
            return "".join(shown) + f"error: {path}: {exc}\n", True
        finally:
            _recording_warnings.shown = None

    # Several recordings are classified at once on threads (reading, filtering, detection and XGBoost spend
    # most of their time in C code that releases the GIL); stderr still reads in the order they were given.
    failed = 0
    pool = ThreadPoolExecutor(workers)
    shown_before = warnings.showwarning
    warnings.showwarning = _keep_warning
    try:
        for text, failed_one in pool.map(classify, args.paths, outputs):
            sys.stderr.write(text)
            failed += failed_one
    finally:
        warnings.showwarning = shown_before
        pool.shutdown(cancel_futures=True)  # after an unexpected error or Ctrl-C, start no further recording
    note = new_patient_note(bundle.report.recordings)
    if note and failed < len(args.paths):
        sys.stderr.write(f"note: {note}\n")
    return USAGE_ERROR if failed else 0


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

    tune = commands.add_parser("tune", help="cross-validate the XGBoost candidates on a protocol's training beats")
    add_source_arguments(tune)
    tune.add_argument("--protocol", choices=["intra", "inter"], default="intra",
                      help="intra: the intra-patient training split; inter: DS1, folds grouped by record")
    tune.add_argument("--folds", type=int, default=2)
    tune.add_argument("--out", type=Path, help="results JSON (default: bench/tuning_PROTOCOL.json)")
    tune.set_defaults(run=cmd_tune)

    predict = commands.add_parser("predict", help="label the beats of a Kaggle-format CSV")
    predict.add_argument("file", type=Path, help="CSV: 187 values per row (188 with the label last), header optional")
    predict.add_argument("--model", choices=["cascade", "logreg"], default="cascade")
    predict.add_argument("--out", type=Path, help="write predictions here (default: standard output)")
    predict.add_argument("--models", type=Path, default=DEFAULT_MODELS_DIR, help="bundle folder (default: the committed models/)")
    predict.add_argument("--max-rows", type=int, default=DEFAULT_MAX_ROWS, help=f"refuse larger files (default {DEFAULT_MAX_ROWS:,})")
    predict.set_defaults(run=cmd_predict)

    evaluate = commands.add_parser("evaluate", help="evaluate a trained bundle again on the intra-patient test split")
    add_source_arguments(evaluate)
    evaluate.add_argument("--models", type=Path, default=DEFAULT_MODELS_DIR, help="bundle folder (default: models/)")
    evaluate.add_argument("--out", type=Path, help="also write the metrics as JSON here")
    evaluate.set_defaults(run=cmd_evaluate)

    record = commands.add_parser(
        "classify-record", help="find and classify every heartbeat of ECG recordings (WFDB .hea, EDF, CSV)",
        description="Find every heartbeat of each recording with the beat detector, add its rhythm, and classify "
                    "it with the rhythm-aware cascade. One output row per beat: sample (in the input's own rate), "
                    "time_s, rr_pre_s, predicted_label, predicted_class, p_N ... p_Q.")
    record.add_argument("paths", type=Path, nargs="+", metavar="PATH",
                        help="recordings: a WFDB header (.hea, its .dat beside it; an .atr there is used for "
                             "scoring), an EDF/EDF+ file, or a CSV with a time column (or --fs) and lead columns")
    where = record.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", type=Path, help="the CSV to write (one recording)")
    where.add_argument("--out-dir", type=Path, help="write DIR/<recording name>.csv for each recording")
    record.add_argument("--fs", type=float, help="sampling rate in Hz, for a CSV without a time column")
    record.add_argument("--lead", help="lead name or 0-based index (default: MLII when there is one, else the first ECG lead)")
    record.add_argument("--invert", action="store_true",
                        help="turn the lead upside down first: for a lead whose R waves point down (electrodes swapped)")
    record.add_argument("--beats", choices=["detect", "annotations"], default="detect",
                        help="detect the beats (default, even with annotations), or use the annotated positions")
    record.add_argument("--models", type=Path, default=DEFAULT_MODELS_DIR, help="bundle folder (default: models/)")
    record.set_defaults(run=cmd_classify_record)

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
