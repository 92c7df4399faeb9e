"""Choose the rhythm-aware cascade by cross-validation on DS1 grouped by record; then evaluate it once on DS2.

    .venv/bin/python bench/bench_rhythm.py [--mitdb-dir /work/shared/mitdb] [--folds 5] [--step all|cv|ds2]

Protocol (issue 8, items 3-5):

1. Features per beat: today's row features (pipeline.features.beat_features:
   187 samples, 39 QRS slopes, 8 row-rhythm features), the rhythm features of
   the record's full beat sequence (pipeline.rhythm.rhythm_features; computed
   over every AAMI beat, then the table's rows taken: all but the last beat) and
   the morphology features against the record's median row.
2. Every choice -- feature set, each stage's XGBoost settings, SMOTE or class
   weights, the binary threshold -- by out-of-fold predictions of GroupKFold
   on DS1 grouped by record (pipeline.rhythm.ds1_folds). Both stages' out-of-fold
   probabilities are kept per candidate, so a cascade is scored for any pair of
   stages and any threshold without refitting. The score: macro-F1 over N, S, V
   of the cascade's pooled out-of-fold predictions (F has 415 DS1 beats, most in
   one record, and Q 8: they would make the choice noise).
3. The search is greedy and small (two cores shared with five other sessions):
   feature sets with today's stage settings; then SMOTE vs balanced weights;
   then each stage's XGBoost settings. The binary stage trains on every third
   normal beat of its training records (NORMAL_EVERY).
4. Only then the chosen configuration is fitted on all of DS1 and scored once on
   DS2 (annotation positions), beside the row-only cascade chosen the same way.

Intermediate arrays are cached under bench/out/ (gitignored).
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from imblearn.over_sampling import SMOTE  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402
from xgboost import XGBClassifier  # noqa: E402

from pipeline.dataset import DS1, DS2, build_beats  # noqa: E402
from pipeline.evaluate import multiclass_metrics  # noqa: E402
from pipeline.features import FEATURE_NAMES, beat_features  # noqa: E402
from pipeline.models import XGBParams, decide  # noqa: E402
from pipeline.vocabulary import AAMI, ABNORMAL_CLASSES, CLASSES, FEATURES, NORMAL  # noqa: E402
from pipeline.rhythm import (MORPHOLOGY_FEATURE_NAMES, RHYTHM_FEATURE_NAMES, ds1_folds,  # noqa: E402
                             morphology_features, rhythm_features)

OUT = ROOT / "bench" / "out"
SEED = 42
N_JOBS = 2
THRESHOLDS = np.round(np.arange(0.05, 0.96, 0.025), 3)
NSV = [0, 1, 2]

FEATURE_SETS = {
    "row": FEATURE_NAMES,
    "row+rhythm": FEATURE_NAMES + RHYTHM_FEATURE_NAMES,
    "row+rhythm+morph": FEATURE_NAMES + RHYTHM_FEATURE_NAMES + MORPHOLOGY_FEATURE_NAMES,
}
SHIPPED_BINARY = XGBParams(n_estimators=300, max_depth=8, learning_rate=0.15, colsample_bytree=0.5)
SHIPPED_MULTICLASS = XGBParams(n_estimators=200, max_depth=5, learning_rate=0.2, colsample_bytree=0.5,
                               multi_strategy="multi_output_tree")
# The binary stage trains on every third normal beat: a record's normal beats are much alike, and on
# two cores shared by six sessions the full set made one 5-fold candidate take over ten minutes.
NORMAL_EVERY = 3
# The stages of the first steps: quick to fit. Today's binary stage (300 trees of depth 8) took 218 s for
# one fold of five on this machine while it was shared (load 13 on 2 cores): too slow to search around.
START_BINARY = XGBParams(n_estimators=100, max_depth=6, learning_rate=0.2, colsample_bytree=0.3)
# The multi-class stage of the first steps: quick to fit (the shipped multi-output one takes about 3x as long).
# SMOTE "auto" grows every abnormal class to the V count (Q: 8 beats to ~3,000); with balanced weights
# the stage trains on the 5,000 real abnormal beats, four times fewer rows (152 s a fold with SMOTE here).
START_MULTICLASS = XGBParams(n_estimators=60, max_depth=4, learning_rate=0.2, colsample_bytree=0.5)


@dataclass(frozen=True)
class Stage:
    """One stage's candidate: its XGBoost settings and how the classes are balanced."""

    xgb: XGBParams
    resampling: str  # "smote:<ratio>" (binary: abnormal up to ratio x normal; multi-class: "smote:auto"),
    #                  "weights" (balanced sample_weight), or "none"
    normal_every: int = 1  # binary stage: train on every k-th normal beat (within a record they are alike)

    def key(self) -> str:
        x = self.xgb
        return (f"{self.resampling}|N/{self.normal_every}|n{x.n_estimators}|d{x.max_depth}|lr{x.learning_rate}|cs{x.colsample_bytree}"
                f"|mcw{x.min_child_weight}|{x.multi_strategy}")


# ---------------------------------------------------------------- data


def load_features(mitdb_dir: Path) -> dict:
    """Row, rhythm and morphology features with label and record for every DS1 and DS2 beat (cached)."""
    cache = OUT / "rhythm_features.npz"
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as saved:
            return dict(saved)
    import wfdb

    table = build_beats(mitdb_dir, list(DS1 + DS2))
    rows = table[FEATURES].to_numpy(np.float32)
    records = table["record"].astype(str).to_numpy()
    samples = table["sample"].to_numpy(np.int64)
    rhythm = np.empty((len(table), len(RHYTHM_FEATURE_NAMES)), np.float32)
    morphology = np.empty((len(table), len(MORPHOLOGY_FEATURE_NAMES)), np.float32)
    started = time.perf_counter()
    for record in DS1 + DS2:
        ann = wfdb.rdann(str(Path(mitdb_dir) / record), "atr")
        is_beat = np.array([s in AAMI for s in ann.symbol])
        sequence = np.asarray(ann.sample)[is_beat]
        in_table = np.flatnonzero(records == record)
        features = rhythm_features(sequence, ann.fs or 360.0)
        # The table holds every beat but the last, in order: match them by position to be sure.
        position = np.searchsorted(sequence, samples[in_table])
        assert np.array_equal(sequence[position], samples[in_table]), record
        rhythm[in_table] = features[position]
        morphology[in_table] = morphology_features(rows[in_table])
    print(f"rhythm + morphology features of {len(DS1 + DS2)} records: {time.perf_counter() - started:.1f} s")
    data = {"row": beat_features(rows, N_JOBS), "rhythm": rhythm, "morphology": morphology,
            "label": table["label"].to_numpy(np.int64), "record": records.astype("U8"), "sample": samples}
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **data)
    return data


def feature_matrix(data: dict, feature_set: str, where: np.ndarray) -> np.ndarray:
    parts = [data["row"][where]]
    if "rhythm" in feature_set:
        parts.append(data["rhythm"][where])
    if "morph" in feature_set:
        parts.append(data["morphology"][where])
    return np.hstack(parts)


# ---------------------------------------------------------------- the stages


def fit_stage(stage: Stage, X: np.ndarray, y: np.ndarray, binary: bool) -> XGBClassifier:
    """Fit one stage on one training set, resampling or weighting that set only."""
    sample_weight = None
    if binary and stage.normal_every > 1:
        normal = np.flatnonzero(y == 0)
        keep = np.sort(np.concatenate([normal[::stage.normal_every], np.flatnonzero(y != 0)]))
        X, y = X[keep], y[keep]
    if stage.resampling.startswith("smote"):
        counts = np.bincount(y)
        if binary:
            strategy = {1: max(int(float(stage.resampling.split(":")[1]) * counts[0]), int(counts[1]))}
        else:
            strategy = "auto"
        smallest = int(counts[counts > 0].min())
        X, y = SMOTE(sampling_strategy=strategy, k_neighbors=max(1, min(5, smallest - 1)),
                     random_state=SEED).fit_resample(X, y)
    elif stage.resampling == "weights":
        counts = np.bincount(y)
        # Balanced: every class carries the same total weight.
        sample_weight = (len(y) / (np.count_nonzero(counts) * counts))[y]
    objective = "binary:logistic" if binary else "multi:softprob"
    model = XGBClassifier(**asdict(stage.xgb), objective=objective, random_state=SEED, n_jobs=N_JOBS)
    return model.fit(X, y, sample_weight=sample_weight)


def multiclass_proba(model: XGBClassifier, present: np.ndarray, X: np.ndarray) -> np.ndarray:
    """The four abnormal-class probabilities, zero for classes absent from the training fold."""
    proba = np.zeros((len(X), len(ABNORMAL_CLASSES)))
    proba[:, present] = model.predict_proba(X)
    return proba


def fit_multiclass(stage: Stage, X: np.ndarray, y: np.ndarray):
    """The multi-class stage on the abnormal beats of X; returns (model, present classes 0..3)."""
    abnormal = y != NORMAL
    target = y[abnormal] - 1
    present = np.unique(target)  # a training fold can lack Q (8 DS1 beats, in few records)
    dense = np.searchsorted(present, target)
    return fit_stage(stage, X[abnormal], dense, binary=False), present


def oof(data: dict, folds, feature_set: str, stage: Stage, binary: bool) -> tuple[np.ndarray, float]:
    """Pooled out-of-fold probabilities over DS1 of one stage candidate (cached); and the fit seconds."""
    cache = OUT / "rhythm_oof" / f"{'binary' if binary else 'multi'}|{feature_set}|{len(folds)}|{stage.key()}.npy"
    if cache.is_file():
        meta = json.loads(cache.with_suffix(".json").read_text())
        return np.load(cache), meta["seconds"]
    ds1 = np.flatnonzero(np.isin(data["record"], DS1))
    X = feature_matrix(data, feature_set, ds1)
    y = data["label"][ds1]
    result = np.zeros(len(ds1)) if binary else np.zeros((len(ds1), len(ABNORMAL_CLASSES)))
    started = time.perf_counter()
    for train, held_out in folds:
        if binary:
            model = fit_stage(stage, X[train], (y[train] != NORMAL).astype(int), binary=True)
            result[held_out] = model.predict_proba(X[held_out])[:, 1]
        else:
            model, present = fit_multiclass(stage, X[train], y[train])
            result[held_out] = multiclass_proba(model, present, X[held_out])
        print(f"  fold {len(held_out)} beats: {time.perf_counter() - started:.0f} s", flush=True)
    seconds = time.perf_counter() - started
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, result)
    cache.with_suffix(".json").write_text(json.dumps({"seconds": seconds}))
    return result, seconds


def cascade_proba(p_abnormal: np.ndarray, p_given_abnormal: np.ndarray) -> np.ndarray:
    proba = np.empty((len(p_abnormal), len(CLASSES)))
    proba[:, NORMAL] = 1.0 - p_abnormal
    proba[:, ABNORMAL_CLASSES] = p_abnormal[:, None] * p_given_abnormal
    return proba


def nsv_scores(y: np.ndarray, predicted: np.ndarray) -> dict:
    """The choosing score (macro-F1 over N, S, V) and the S and V figures beside it."""
    m = multiclass_metrics(y, predicted)
    pc = m["per_class"]
    return {"macro_f1_nsv": float(f1_score(y, predicted, labels=NSV, average="macro")),
            "S_se": pc["S"]["recall"], "S_ppv": pc["S"]["precision"],
            "V_se": pc["V"]["recall"], "V_ppv": pc["V"]["precision"]}


def best_threshold(y: np.ndarray, p_abnormal: np.ndarray, p_given_abnormal: np.ndarray) -> tuple[float, dict]:
    proba = cascade_proba(p_abnormal, p_given_abnormal)
    scored = [(t, nsv_scores(y, decide(proba, t))) for t in THRESHOLDS]
    return max(scored, key=lambda ts: ts[1]["macro_f1_nsv"])


# ---------------------------------------------------------------- the search


def cross_validate(data: dict, n_folds: int, log) -> dict:
    ds1 = np.flatnonzero(np.isin(data["record"], DS1))
    y = data["label"][ds1]
    folds = ds1_folds(data["record"][ds1], n_folds)
    results = []

    def score(feature_set: str, binary: Stage, multiclass: Stage, step: str) -> dict:
        p_abnormal, binary_s = oof(data, folds, feature_set, binary, True)
        p_given, multi_s = oof(data, folds, feature_set, multiclass, False)
        threshold, scores = best_threshold(y, p_abnormal, p_given)
        entry = {"step": step, "features": feature_set, "binary": binary.key(), "multiclass": multiclass.key(),
                 "threshold": threshold, **{k: round(v, 4) for k, v in scores.items()},
                 "fit_seconds": {"binary": round(binary_s, 1), "multiclass": round(multi_s, 1)},
                 "_stages": (binary, multiclass)}
        results.append(entry)
        log(f"[{step}] {feature_set:18s} bin {binary.key():48s} multi {multiclass.key():48s} t={threshold:.3f} "
            f"F1nsv {scores['macro_f1_nsv']:.4f} S {scores['S_se']:.3f}/{scores['S_ppv']:.3f} "
            f"V {scores['V_se']:.3f}/{scores['V_ppv']:.3f} ({binary_s:.0f}+{multi_s:.0f} s)")
        return entry

    def best(step: str) -> dict:
        return max((r for r in results if r["step"] == step), key=lambda r: r["macro_f1_nsv"])

    start = (Stage(START_BINARY, "smote:0.5", NORMAL_EVERY), Stage(START_MULTICLASS, "weights"))
    # 1. Feature sets, with quick stages.
    for feature_set in FEATURE_SETS:
        score(feature_set, *start, "1 features")
    first = best("1 features")
    features = first["features"]
    # 2. Balancing of the binary stage: SMOTE vs balanced sample weights.
    score(features, Stage(START_BINARY, "weights", NORMAL_EVERY), start[1], "2 balance binary")
    binary_resampling = max([first] + [r for r in results if r["step"] == "2 balance binary"],
                            key=lambda r: r["macro_f1_nsv"])["_stages"][0].resampling
    # 3. XGBoost settings of the binary stage (a few hundred trees at most: prediction stays fast).
    multiclass = start[1]
    for xgb in (START_BINARY, XGBParams(n_estimators=200, max_depth=4, learning_rate=0.1, colsample_bytree=0.3)):
        score(features, Stage(xgb, binary_resampling, NORMAL_EVERY), multiclass, "3 binary")
    binary = best("3 binary")["_stages"][0]
    # 4. XGBoost settings of the multi-class stage.
    for xgb in (START_MULTICLASS, XGBParams(n_estimators=150, max_depth=3, learning_rate=0.1, colsample_bytree=0.3)):
        score(features, binary, Stage(xgb, "weights"), "4 multiclass")
    chosen = max((r for r in results if r["features"] == features and r["_stages"][0] == binary),
                 key=lambda r: r["macro_f1_nsv"])
    # The row-only baseline: the best row-only cascade of the search (scored with the quick stages only;
    # the shared machine left no time to refit it with every candidate).
    row_best = max((r for r in results if r["features"] == "row"), key=lambda r: r["macro_f1_nsv"])
    return {"folds": n_folds, "records_per_fold": [sorted(set(data["record"][ds1][h])) for _, h in folds],
            "score": "macro-F1 over N, S, V of the cascade's pooled out-of-fold predictions on DS1",
            "results": results, "chosen": chosen, "row_only": row_best}


# ---------------------------------------------------------------- DS2, once


def evaluate_ds2(data: dict, feature_set: str, binary: Stage, multiclass: Stage, threshold: float) -> dict:
    ds1 = np.flatnonzero(np.isin(data["record"], DS1))
    ds2 = np.flatnonzero(np.isin(data["record"], DS2))
    X1, y1 = feature_matrix(data, feature_set, ds1), data["label"][ds1]
    started = time.perf_counter()
    binary_model = fit_stage(binary, X1, (y1 != NORMAL).astype(int), binary=True)
    multi_model, present = fit_multiclass(multiclass, X1, y1)
    fit_s = time.perf_counter() - started
    X2, y2 = feature_matrix(data, feature_set, ds2), data["label"][ds2]
    started = time.perf_counter()
    proba = cascade_proba(binary_model.predict_proba(X2)[:, 1], multiclass_proba(multi_model, present, X2))
    predict_s = time.perf_counter() - started
    predicted = decide(proba, threshold)
    metrics = multiclass_metrics(y2, predicted)
    f1 = {c: metrics["per_class"][c]["f1"] for c in CLASSES}
    records = data["record"][ds2]
    s_per_record = {}
    for record in DS2:
        is_s = (records == record) & (y2 == 1)
        if is_s.any():
            s_per_record[record] = {"S": int(is_s.sum()), "found": int((predicted[is_s] == 1).sum())}
    return {"features": feature_set, "fit_seconds": round(fit_s, 1), "predict_seconds": round(predict_s, 2),
            "n_beats": int(len(y2)),
            "per_class": {c: {"Se": round(v["recall"], 4), "+P": round(v["precision"], 4), "F1": round(v["f1"], 4),
                              "support": v["support"]} for c, v in metrics["per_class"].items()},
            "macro_f1_nsvf": round(float(np.mean([f1[c] for c in "NSVF"])), 4),
            "macro_f1_nsv": round(float(np.mean([f1[c] for c in "NSV"])), 4),
            "confusion_matrix": metrics["confusion_matrix"], "S_per_record": s_per_record}


def feature_speed(runs: int = 5) -> dict:
    """Seconds to compute the rhythm and morphology features of a 24-hour recording (100,000 beats), median of runs."""
    rng = np.random.default_rng(0)
    r_samples = np.cumsum(rng.uniform(0.4, 1.4, 100_000) * 360).astype(np.int64)
    rows = rng.random((100_000, 187), dtype=np.float32)
    timings = {"rhythm_features": [], "morphology_features": []}
    for _ in range(runs):
        for name, call in (("rhythm_features", lambda: rhythm_features(r_samples, 360.0)),
                           ("morphology_features", lambda: morphology_features(rows))):
            started = time.perf_counter()
            call()
            timings[name].append(time.perf_counter() - started)
    return {name: round(float(np.median(t)), 4) for name, t in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mitdb-dir", type=Path, default=Path("/work/shared/mitdb"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--step", choices=("all", "cv", "ds2"), default="all")
    args = parser.parse_args()
    started = time.perf_counter()
    data = load_features(args.mitdb_dir)
    print(f"features: {len(data['label'])} beats ({time.perf_counter() - started:.1f} s)")
    speed = feature_speed()
    print(f"100,000 beats, median of 5: {speed}")
    cv = cross_validate(data, args.folds, lambda line: print(line, flush=True))
    out = {"machine": f"{platform.machine()}, 2 cores shared with other sessions, n_jobs={N_JOBS}",
           "protocol": __doc__.split("\n\n")[2].strip(),
           "seconds_for_100k_beats": speed, "feature_names": {k: list(v) for k, v in FEATURE_SETS.items() if k != "row"} | {
               "rhythm": list(RHYTHM_FEATURE_NAMES), "morphology": list(MORPHOLOGY_FEATURE_NAMES)}}
    chosen, row_only = cv["chosen"], cv["row_only"]
    if args.step in ("all", "ds2"):
        out["ds2"] = {name: evaluate_ds2(data, entry["features"], *entry["_stages"], entry["threshold"])
                      for name, entry in (("rhythm-aware (chosen)", chosen), ("row-only", row_only))}
        for name, result in out["ds2"].items():
            pc = result["per_class"]
            print(f"DS2 {name}: S {pc['S']['Se']:.3f}/{pc['S']['+P']:.3f} V {pc['V']['Se']:.3f}/{pc['V']['+P']:.3f} "
                  f"F1 NSVF {result['macro_f1_nsvf']:.4f} NSV {result['macro_f1_nsv']:.4f} fit {result['fit_seconds']} s")
    for entry in cv["results"]:
        binary, multiclass = entry.pop("_stages")
        entry["params"] = {"binary": {"xgb": asdict(binary.xgb), "resampling": binary.resampling, "normal_every": binary.normal_every},
                           "multiclass": {"xgb": asdict(multiclass.xgb), "resampling": multiclass.resampling}}
    out["cv"] = cv
    (ROOT / "bench" / "rhythm_tuning.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
