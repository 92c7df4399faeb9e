"""The models, the cascade, the bundle and the metrics (issue 3), on one small model trained on the fixture beats."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    multilabel_confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
)

from pipeline.bundle import BundleError, load_bundle
from pipeline.dataset import intra_patient_split
from pipeline.evaluate import binary_metrics, multiclass_metrics
from pipeline.features import CHUNK, FEATURE_NAMES, beat_features
from pipeline.models import (
    Params,
    XGBParams,
    choose_threshold,
    decide,
    make_binary,
    make_multiclass,
)
from pipeline.predict import predict_table
from pipeline.validate import read_beats_csv
from pipeline.vocabulary import CLASSES, FEATURES, Beats, class_counts

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def split(fixture_table):
    """(X_train, y_train, X_test, y_test) of the intra-patient split of the fixture beats."""
    train, test = intra_patient_split(fixture_table)
    X = fixture_table[FEATURES].to_numpy(np.float32)
    y = fixture_table["label"].to_numpy(np.int64)
    return X[train], y[train], X[test], y[test]


@pytest.fixture(scope="module")
def served(fixture_training):
    return fixture_training[0]


@pytest.fixture(scope="module")
def loaded(fixture_bundle_dir):
    return load_bundle(fixture_bundle_dir)


# ---------------------------------------------------------------- Logistic Regression: the trained scaler


@pytest.mark.parametrize("source", ["served", "loaded"])
def test_mod_lr_one_row(source, served, loaded, split):
    logreg = served["logreg"] if source == "served" else loaded.models["logreg"]
    _, _, X, y = split
    batch = logreg.predict_proba(X)
    picks = [np.flatnonzero(y == label)[:4] for label in range(5)]
    singles = []
    for i in np.concatenate(picks):
        one = logreg.predict_proba(X[i:i + 1])
        # float32 beats: BLAS may round a lone row differently in the last bits, nothing more.
        np.testing.assert_allclose(one[0], batch[i], rtol=0, atol=1e-5)
        assert np.argmax(one[0]) == np.argmax(batch[i])
        singles.append(int(np.argmax(one[0])))
    # The old app refit its scaler per upload, so a lone beat always came out N.
    assert len(set(singles)) >= 3


def test_mod_lr_batch_independent(served, split):
    logreg = served["logreg"]
    _, _, X, _ = split
    first = logreg.predict_proba(X[:20])
    other = np.clip(X[20:] * 0.3 + 0.5, 0, 1)  # a very different rest of the file
    mixed = logreg.predict_proba(np.vstack([X[:20], other]))
    reversed_ = logreg.predict_proba(X[:20][::-1])
    np.testing.assert_allclose(mixed[:20], first, rtol=0, atol=1e-5)
    np.testing.assert_allclose(reversed_[::-1], first, rtol=0, atol=1e-5)


@pytest.mark.parametrize("source", ["served", "loaded"])
def test_mod_lr_scaler_trained(source, served, loaded, split):
    """The scaler inside the saved estimator holds the training split's statistics."""
    logreg = served["logreg"] if source == "served" else loaded.models["logreg"]
    X_train, _, _, _ = split
    scaler = logreg[0]
    np.testing.assert_allclose(scaler.mean_, X_train.astype(np.float64).mean(axis=0), rtol=0, atol=1e-5)
    np.testing.assert_allclose(scaler.scale_[scaler.scale_ > 1e-3],
                               X_train.astype(np.float64).std(axis=0)[scaler.scale_ > 1e-3], rtol=1e-4)
    assert logreg[-1].class_weight == "balanced"


@pytest.mark.parametrize("model", ["cascade", "logreg"])
def test_mod_predict_table_one_row(model, loaded, split):
    """The prediction table (CLI and dashboard) gives a lone beat the same answer as inside a file."""
    _, _, X, y = split
    whole = predict_table(loaded, Beats(X=X, y=y), model)
    for i in (0, int(np.flatnonzero(y == 2)[0]), int(np.flatnonzero(y == 4)[0])):
        alone = predict_table(loaded, Beats(X=X[i:i + 1], y=None), model)
        assert alone["predicted_label"].iat[0] == whole["predicted_label"].iat[i]
        for name in CLASSES:
            assert alone[f"p_{name}"].iat[0] == pytest.approx(whole[f"p_{name}"].iat[i], abs=2e-5)


# ---------------------------------------------------------------- SMOTE inside the pipelines


class RowCounter(ClassifierMixin, BaseEstimator):
    """Stands in for the booster and records the rows it is given."""

    def fit(self, X, y):
        self.fit_X_, self.fit_y_ = np.array(X), np.array(y)
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        self.predict_X_ = np.array(X)
        return np.full((len(X), len(self.classes_)), 1.0 / len(self.classes_))


@pytest.mark.parametrize("stage", ["binary", "multiclass"])
def test_mod_smote_fit_only(stage, small_params, split):
    """Resampling happens when fitting and never when predicting."""
    X_train, y_train, X_test, _ = split
    features = beat_features(X_train)
    if stage == "binary":
        pipeline, target = make_binary(small_params), (y_train != 0).astype(int)
    else:
        abnormal = y_train != 0
        features, target = features[abnormal], y_train[abnormal] - 1
        pipeline = make_multiclass(small_params, smallest_class=int(np.bincount(target).min()))
    pipeline.set_params(xgb=RowCounter())
    pipeline.fit(features, target)
    counter = pipeline[-1]
    assert len(counter.fit_X_) > len(features)  # SMOTE added synthetic beats for the booster
    counts = np.bincount(counter.fit_y_)
    assert counts.min() > np.bincount(target).min()
    # The original beats are all there, unchanged.
    np.testing.assert_array_equal(counter.fit_X_[:len(features)], features)

    test_features = beat_features(X_test)
    if stage == "multiclass":
        test_features = test_features[:17]
    pipeline.predict_proba(test_features)
    np.testing.assert_array_equal(counter.predict_X_, test_features)


@pytest.mark.parametrize("stage", ["binary", "multiclass"])
def test_mod_smote_predict_passthrough(stage, served, split):
    """The trained pipeline predicts exactly what its booster predicts on the same rows: no resampling."""
    _, _, X, _ = split
    features = beat_features(X)
    pipeline = served[stage]
    np.testing.assert_array_equal(pipeline.predict_proba(features), pipeline[-1].predict_proba(features))
    assert pipeline.predict_proba(features).shape[0] == len(X)


def test_mod_smote_ratio_small(split):
    X_train, y_train, _, _ = split
    pipeline = make_binary(Params())
    pipeline.set_params(xgb=RowCounter())
    pipeline.fit(beat_features(X_train), (y_train != 0).astype(int))
    assert len(pipeline[-1].fit_X_) >= len(X_train)


# ---------------------------------------------------------------- the cascade


@pytest.mark.parametrize("source", ["served", "loaded"])
def test_mod_cascade_proba(source, served, loaded, split):
    cascade = served["cascade"] if source == "served" else loaded.models["cascade"]
    _, _, X, _ = split
    proba = cascade.predict_proba(X)
    assert proba.shape == (len(X), 5)
    assert np.all(proba >= 0) and np.all(proba <= 1)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-6)
    # From the two stages, independently of the cascade's own arithmetic.
    features = beat_features(X)
    p_abnormal = cascade.binary.predict_proba(features)[:, 1]
    p_given = cascade.multiclass.predict_proba(features)
    np.testing.assert_allclose(proba[:, 0], 1 - p_abnormal, rtol=0, atol=1e-6)
    np.testing.assert_allclose(proba[:, 1:], p_abnormal[:, None] * p_given, rtol=0, atol=1e-6)


@pytest.mark.parametrize("source", ["served", "loaded"])
def test_mod_cascade_predict(source, served, loaded, split):
    cascade = served["cascade"] if source == "served" else loaded.models["cascade"]
    _, _, X, _ = split
    proba = cascade.predict_proba(X)
    predicted = cascade.predict(X)
    np.testing.assert_array_equal(predicted, decide(proba, cascade.threshold))
    abnormal = (1 - proba[:, 0]) >= cascade.threshold
    assert np.all(predicted[~abnormal] == 0)
    np.testing.assert_array_equal(predicted[abnormal], 1 + np.argmax(proba[abnormal, 1:], axis=1))
    assert set(np.unique(predicted)) <= {0, 1, 2, 3, 4} and len(np.unique(predicted)) >= 4


def test_mod_bundle_roundtrip(served, loaded, split):
    """The boosters saved in XGBoost's format predict what the trained pipelines predicted."""
    _, _, X, _ = split
    np.testing.assert_allclose(loaded.models["cascade"].predict_proba(X), served["cascade"].predict_proba(X),
                               rtol=0, atol=1e-6)
    np.testing.assert_array_equal(loaded.models["cascade"].predict(X), served["cascade"].predict(X))
    assert loaded.models["cascade"].threshold == served["cascade"].threshold


def test_mod_decide():
    proba = np.array([
        [0.70, 0.10, 0.10, 0.05, 0.05],  # P(abnormal) 0.3
        [0.40, 0.10, 0.30, 0.15, 0.05],  # 0.6, V most likely
        [0.60, 0.05, 0.05, 0.30, 0.00],  # 0.4, F most likely
        [0.50, 0.00, 0.00, 0.00, 0.50],  # 0.5 exactly, Q
    ])
    np.testing.assert_array_equal(decide(proba, 0.5), [0, 2, 0, 4])
    np.testing.assert_array_equal(decide(proba, 0.3), [1, 2, 3, 4])  # ties in row 0 go to the first class
    np.testing.assert_array_equal(decide(proba, 0.65), [0, 0, 0, 0])


def test_mod_threshold_best_f1():
    """The grid point with the best abnormal-class F1 on out-of-fold values, not the default 0.5."""
    rng = np.random.default_rng(0)
    normal = rng.uniform(0.0, 0.6, 300)
    normal[:3] = 0.61  # three normals just above 0.6
    abnormal = rng.uniform(0.66, 0.99, 60)
    y = np.concatenate([np.zeros(300, int), rng.integers(1, 5, 60)])
    p = np.concatenate([normal, abnormal])
    grid = tuple(np.round(np.arange(0.1, 0.91, 0.05), 2))
    assert choose_threshold(y, p, grid) == pytest.approx(0.65)
    # Shifting every probability moves the choice with it.
    assert choose_threshold(y, np.clip(p - 0.2, 0, 1), grid) == pytest.approx(0.45)


def test_mod_threshold_training_only(fixture_training, small_params, split):
    """Recomputed from the training split alone, the threshold is the one the bundle carries."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    served, report, directory = fixture_training
    X_train, y_train, _, _ = split
    features = beat_features(X_train)
    abnormal = (y_train != 0).astype(int)
    folds = StratifiedKFold(n_splits=small_params.threshold_cv_folds, shuffle=True, random_state=small_params.seed)
    p_oof = cross_val_predict(make_binary(small_params), features, abnormal, cv=list(folds.split(features, abnormal)),
                              method="predict_proba")[:, 1]
    expected = choose_threshold(y_train, p_oof, small_params.threshold_grid)
    manifest = json.loads((directory / "manifest.json").read_text())
    assert served["cascade"].threshold == expected
    assert report["protocols"]["intra"]["threshold"] == expected
    assert manifest["cascade_threshold"] == expected


# ---------------------------------------------------------------- report and manifest


def test_mod_report_honest(fixture_training, split, fixture_table):
    """The report's intra-patient figures are the served models' figures on the test split."""
    served, report, _ = fixture_training
    _, y_train, X_test, y_test = split
    intra = report["protocols"]["intra"]
    assert intra["splits"] == {"train": class_counts(y_train), "test": class_counts(y_test)}
    cascade = intra["models"]["cascade"]
    assert cascade["confusion_matrix"] == confusion_matrix(y_test, served["cascade"].predict(X_test),
                                                           labels=range(5)).tolist()
    assert cascade["accuracy"] == pytest.approx(accuracy_score(y_test, served["cascade"].predict(X_test)))
    logreg = intra["models"]["logreg"]
    assert logreg["accuracy"] == pytest.approx(accuracy_score(y_test, served["logreg"].predict(X_test)))
    binary = intra["models"]["binary"]
    p_abnormal = served["binary"].predict_proba(beat_features(X_test))[:, 1]
    assert binary["roc_auc"] == pytest.approx(roc_auc_score(y_test != 0, p_abnormal))
    assert intra["models"]["multiclass"]["n"] == int(np.sum(y_test != 0))
    inter = report["protocols"]["inter"]
    assert inter["available"] is True
    ds2 = fixture_table["record"] == "232"
    assert inter["splits"]["test"] == class_counts(fixture_table["label"][ds2])
    assert report["dataset"]["rows"] == len(fixture_table)


def test_mod_manifest(fixture_training, fixture_table, small_params):
    _, _, directory = fixture_training
    manifest = json.loads((directory / "manifest.json").read_text())
    assert set(manifest["files"]) == {"logreg.joblib", "binary.ubj", "multiclass.ubj", "report.json"}
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((directory / name).read_bytes()).hexdigest() == digest
    assert manifest["dataset"]["rows"] == len(fixture_table)
    assert manifest["dataset"]["class_counts"] == class_counts(fixture_table["label"])
    assert manifest["params"] == json.loads(json.dumps(small_params.to_dict()))
    assert {"scikit-learn", "xgboost-cpu", "numpy"} <= set(manifest["libraries"])
    assert not (directory / "binary.ubj").read_bytes().startswith(b"\x80")  # UBJ, not a pickle


# ---------------------------------------------------------------- the bundle refuses what it cannot vouch for


@pytest.mark.parametrize("name", ["binary.ubj", "multiclass.ubj", "logreg.joblib", "report.json"])
def test_mod_bundle_tampered(name, bundle_copy):
    load_bundle(bundle_copy)  # intact, it loads
    with open(bundle_copy / name, "ab") as f:
        f.write(b"\0")
    with pytest.raises(BundleError) as error:
        load_bundle(bundle_copy)
    assert name in str(error.value) and "SHA-256" in str(error.value)


def test_mod_bundle_missing_file(bundle_copy):
    (bundle_copy / "multiclass.ubj").unlink()
    with pytest.raises(BundleError) as error:
        load_bundle(bundle_copy)
    assert "multiclass.ubj" in str(error.value)


def test_mod_bundle_library_version(bundle_copy):
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    manifest["libraries"]["xgboost-cpu"] = "0.0.1"
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError) as error:
        load_bundle(bundle_copy)
    assert "xgboost-cpu 0.0.1" in str(error.value) and "requirements.txt" in str(error.value)


def test_mod_bundle_feature_mismatch(bundle_copy):
    """Boosters trained on another feature layout are refused before they predict nonsense."""
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    manifest["booster_features"] = 195
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError) as error:
        load_bundle(bundle_copy)
    assert "195" in str(error.value) and "retrain" in str(error.value)


def test_mod_bundle_no_manifest(bundle_copy, tmp_path):
    (bundle_copy / "manifest.json").unlink()
    with pytest.raises(BundleError) as error:
        load_bundle(bundle_copy)
    assert "train one with" in str(error.value)
    with pytest.raises(BundleError) as error:
        load_bundle(tmp_path / "empty")
    assert "train one with" in str(error.value)


def test_mod_bundle_bad_manifest(bundle_copy):
    (bundle_copy / "manifest.json").write_text("{ not json")
    with pytest.raises(BundleError) as error:
        load_bundle(bundle_copy)
    assert "manifest.json" in str(error.value)


def test_mod_bundle_unlisted_file(bundle_copy):
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    del manifest["files"]["binary.ubj"]
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError) as error:
        load_bundle(bundle_copy)
    assert "binary.ubj" in str(error.value)


# ---------------------------------------------------------------- the committed bundle


def test_mod_committed_bundle():
    models = REPO / "models"
    sample = REPO / "assets" / "random_test_sample.csv"
    if not (models / "manifest.json").is_file():
        pytest.skip("models/manifest.json is not committed yet: the full-data bundle lands later")
    bundle = load_bundle(models)
    beats = read_beats_csv(sample)
    assert beats.y is not None and len(np.unique(beats.y)) == 5
    chance = np.bincount(beats.y).max() / len(beats.y)
    for model, floor in (("cascade", 0.7), ("logreg", 0.4)):
        table = predict_table(bundle, beats, model)
        accuracy = np.mean(table["predicted_label"].to_numpy() == beats.y)
        assert accuracy >= max(floor, 2 * chance), f"{model}: accuracy {accuracy:.2f} on the committed sample"


# ---------------------------------------------------------------- metrics against scikit-learn


def check_against_sklearn(y_true, y_pred):
    metrics = multiclass_metrics(y_true, y_pred)
    labels = list(range(5))
    assert metrics["confusion_matrix"] == confusion_matrix(y_true, y_pred, labels=labels).tolist()
    assert metrics["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert metrics["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro", zero_division=0))
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    tn_fp = multilabel_confusion_matrix(y_true, y_pred, labels=labels)  # per class [[tn, fp], [fn, tp]]
    for i, name in enumerate(CLASSES):
        figures = metrics["per_class"][name]
        assert figures["precision"] == pytest.approx(precision[i])
        assert figures["recall"] == pytest.approx(recall[i])
        assert figures["f1"] == pytest.approx(f1[i])
        assert figures["support"] == support[i]
        (tn, fp), _ = tn_fp[i]
        assert figures["fpr"] == pytest.approx(fp / (fp + tn) if fp + tn else 0.0)
    assert metrics["n"] == len(y_true)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mod_metrics_random(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 5, 400)
    y_pred = np.where(rng.random(400) < 0.6, y_true, rng.integers(0, 5, 400))
    check_against_sklearn(y_true, y_pred)


def test_mod_metrics_absent_classes():
    rng = np.random.default_rng(3)
    y_true = rng.choice([0, 1, 2], 300)  # F and Q never occur
    y_pred = rng.choice([0, 1, 2, 4], 300)  # Q predicted though absent
    check_against_sklearn(y_true, y_pred)


def test_mod_metrics_binary():
    rng = np.random.default_rng(4)
    truth = rng.random(500) < 0.3
    p = np.clip(truth * 0.3 + rng.random(500) * 0.7, 0, 1)
    p[:5] = 0.4  # exactly at the threshold counts as abnormal
    metrics = binary_metrics(truth, p, 0.4)
    assert metrics["roc_auc"] == pytest.approx(roc_auc_score(truth, p))
    assert metrics["confusion_matrix"] == confusion_matrix(truth, p >= 0.4).tolist()
    assert metrics["labels"] == ["normal", "abnormal"] and metrics["threshold"] == 0.4


# ---------------------------------------------------------------- train_all's report, without training again


def test_mod_train_kaggle_no_inter(monkeypatch, fixture_table, small_params):
    """A Kaggle table (no record ids) gets intra-patient figures and a plain 'unavailable' for inter-patient."""
    import pipeline.train as train

    kaggle = fixture_table.drop(columns=["record", "sample", "symbol"])
    kaggle.insert(0, "split", np.where(np.arange(len(kaggle)) % 5 == 0, "test", "train"))
    protocols = []

    def fake_protocol(name, table, split, p, progress=None):
        protocols.append(name)
        split(table)  # the real split must accept the table
        return {"cascade": None}, {"available": True}

    monkeypatch.setattr(train, "run_protocol", fake_protocol)
    served, report = train.train_all(kaggle, small_params, "kaggle")
    assert protocols == ["intra"]
    inter = report["protocols"]["inter"]
    assert inter["available"] is False and "record" in inter["reason"]
    # Templates come from Kaggle's own training rows only.
    is_train = kaggle["split"].to_numpy() == "train"
    X = kaggle[FEATURES].to_numpy(np.float32)
    y = kaggle["label"].to_numpy()
    for label, name in enumerate(CLASSES):
        expected = X[is_train & (y == label)].mean(axis=0)
        np.testing.assert_allclose(report["templates"][name]["mean"], expected, atol=1e-5)
        assert report["templates"][name]["n"] == int(np.sum(is_train & (y == label)))


def test_mod_features_per_row(split):
    """The features keep the 187 samples, add the QRS slopes and rhythm, and depend on each beat alone."""
    _, _, X, _ = split
    features = beat_features(X)
    assert features.shape == (len(X), len(FEATURE_NAMES))
    np.testing.assert_array_equal(features[:, :187], X)
    for i in (0, 5, len(X) - 1):
        np.testing.assert_allclose(beat_features(X[i:i + 1])[0], features[i], rtol=0, atol=1e-6)
    column = {name: j for j, name in enumerate(FEATURE_NAMES)}
    # Slope i is sample i+1 minus sample i.
    np.testing.assert_allclose(features[:, column["slope_0"]], X[:, 1] - X[:, 0], atol=1e-7)
    np.testing.assert_allclose(features[:, column["slope_38"]], X[:, 39] - X[:, 38], atol=1e-7)
    # Threads fill independent blocks of rows: the same numbers, to the bit.
    many = np.tile(X, (-(-3 * CHUNK // len(X)), 1))
    np.testing.assert_array_equal(beat_features(many, n_jobs=2), beat_features(many))
    # The segment length feature: one past the last non-zero sample of each beat.
    lengths = np.array([np.flatnonzero(row)[-1] + 1 for row in X])
    np.testing.assert_array_equal(features[:, column["segment_length"]], lengths)


def test_mod_tune_never_picks_reference(monkeypatch, fixture_table, small_params):
    """`tune` scores every candidate and the over-budget reference, and chooses among the candidates only."""
    from pipeline import tune as tuning

    weak = XGBParams(n_estimators=1, max_depth=1, learning_rate=0.1)
    strong = XGBParams(n_estimators=40, max_depth=4, learning_rate=0.3)
    monkeypatch.setattr(tuning, "CANDIDATES", {"binary": (weak,), "multiclass": (weak,)})
    monkeypatch.setattr(tuning, "REFERENCE", {"binary": (strong,)})
    results = tuning.tune(fixture_table, small_params, folds=2)
    scored = {r["params"]["n_estimators"]: r for r in results["binary"]}
    assert set(scored) == {1, 40} and scored[40]["reference"] and not scored[1]["reference"]
    assert scored[40]["mean"] > scored[1]["mean"]  # the reference really is better ...
    assert results["best_binary"]["n_estimators"] == 1  # ... and still not chosen
    assert [r["params"]["n_estimators"] for r in results["multiclass"]] == [1]
    assert all(r["scored_beats_per_s"] > 0 for r in results["binary"] + results["multiclass"])
