"""Why-this-class explanations (issue 10): additive, consistent with the cascade, and pointing where the classes differ."""
from __future__ import annotations

import numpy as np
import pytest

from pipeline.explain import explain_beats, groups
from pipeline.models import Params, XGBParams, make_cascade
from pipeline.vocabulary import CLASSES, N_SAMPLES

BINARY_WINDOW = slice(96, 108)  # "wave 96": where abnormal beats differ from normal ones
CLASS_WINDOW = slice(48, 60)  # "wave 48": where the four abnormal classes differ from each other


def synthetic_beats(n_per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Beats that differ only where the test says: a zero-mean pattern, so no rhythm feature sees the difference."""
    rng = np.random.default_rng(seed)
    patterns = {1: [+1, -1], 2: [-1, +1], 3: [+1, -1, +1, -1], 4: [-1, +1, -1, +1]}
    X, y = [], []
    for label in range(len(CLASSES)):
        beats = 0.4 + 0.03 * rng.standard_normal((n_per_class, N_SAMPLES))
        beats[:, 0], beats[:, 150] = 1.0, 1.0  # this R peak and the next
        if label:
            beats[:, BINARY_WINDOW] += np.repeat([0.15, -0.15], 6)
            beats[:, CLASS_WINDOW] += 0.15 * np.repeat(patterns[label], 12 // len(patterns[label]))
        X.append(beats)
        y.append(np.full(n_per_class, label))
    return np.clip(np.vstack(X), 0, 1).astype(np.float32), np.concatenate(y)


@pytest.fixture(scope="module")
def fitted():
    X, y = synthetic_beats(60)
    # The served multi-class stage grows multi-output trees (no SHAP in XGBoost): explain the same kind.
    small = XGBParams(n_estimators=30, max_depth=3, colsample_bytree=1.0)
    params = Params(binary=small, multiclass=XGBParams(n_estimators=30, max_depth=3, colsample_bytree=1.0,
                                                       multi_strategy="multi_output_tree"),
                    binary_smote_ratio=1.0, n_jobs=1)
    cascade = make_cascade(params).fit(X, y)
    templates = {c: {"n": int((y == i).sum()), "mean": X[y == i].mean(axis=0)} for i, c in enumerate(CLASSES)}
    return cascade, templates


def test_exp001_groups_cover_every_input_once(fitted):
    cascade, _ = fitted
    columns = [c for g in groups(cascade.feature_names) for c in g.columns]
    assert sorted(columns) == list(range(len(cascade.feature_names)))


def test_exp002_binary_weights_add_up_to_p_abnormal(fitted):
    cascade, templates = fitted
    X, _ = synthetic_beats(5, seed=1)
    explained = explain_beats(cascade, X, templates)
    p_abnormal = 1 - cascade.predict_proba(X)[:, 0]
    for e, p in zip(explained, p_abnormal):
        sign = 1 if e.abnormal else -1  # the reasons point toward the decision
        log_odds = e.base_log_odds + sign * sum(r.weight for r in e.abnormal_reasons)
        assert 1 / (1 + np.exp(-log_odds)) == pytest.approx(p, abs=1e-5)
    assert [e.predicted_class for e in explained] == [CLASSES[k] for k in cascade.predict(X)]


def test_exp003_reasons_point_where_the_classes_differ(fitted):
    cascade, templates = fitted
    X, y = synthetic_beats(3, seed=2)
    for e, label in zip(explain_beats(cascade, X, templates), y):
        assert e.predicted_class == CLASSES[label]
        assert e.abnormal_reasons[0].key == "wave 96", e.abnormal_reasons[:3]
        assert e.abnormal_reasons[0].weight > 0
        assert "96" not in e.abnormal_reasons[0].text and "800-900 ms" in e.abnormal_reasons[0].text
        weights = [abs(r.weight) for r in e.abnormal_reasons]
        assert weights == sorted(weights, reverse=True)
        if label:
            assert e.class_reasons[0].key == "wave 48", e.class_reasons[:3]
            assert e.class_reasons[0].weight > 0
            assert "400-500 ms after the R peak" in e.class_reasons[0].text


def test_exp_recording_features_only_cascade():
    """A cascade that reads only a recording's features (rows=False): one group per feature, in words; with the
    classes' mean features the multi-class stage's reasons point at the feature that tells the classes apart."""
    rng = np.random.default_rng(4)
    n = 60
    y = np.repeat(np.arange(len(CLASSES)), n)
    extra = ("rr_pre_rel", "irregularity_median", "morph_corr_qrs")
    features = np.column_stack([
        np.where(y == 1, 0.6, 1.0) + 0.05 * rng.standard_normal(len(y)),  # S beats come early
        np.where(y == 0, 0.02, 0.3) + 0.01 * rng.standard_normal(len(y)),  # abnormal beats sit in irregular rhythm
        np.where(y >= 2, 0.2 + 0.2 * (y - 2), 0.95) + 0.02 * rng.standard_normal(len(y)),  # V, F, Q: other QRS
    ]).astype(np.float32)
    X = np.hstack([np.full((len(y), N_SAMPLES), 0.5, np.float32), features])
    small = XGBParams(n_estimators=30, max_depth=3, colsample_bytree=1.0)
    params = Params(binary=small, multiclass=XGBParams(n_estimators=30, max_depth=3, colsample_bytree=1.0,
                                                       multi_strategy="multi_output_tree"),
                    binary_smote_ratio=1.0, n_jobs=1, row_features=False)
    cascade = make_cascade(params, extra).fit(X, y)
    assert cascade.feature_names == extra and not cascade.row_features
    assert [g.key for g in groups(cascade.feature_names)] == list(extra)
    templates = {c: {"n": n, "mean": np.full(N_SAMPLES, 0.5)} for c in CLASSES}
    extra_templates = {c: {"n": n, "mean": features[y == i].mean(axis=0).tolist()} for i, c in enumerate(CLASSES)}
    s_beat = X[y == 1][:1]
    without, with_means = (explain_beats(cascade, s_beat, templates, t)[0] for t in (None, extra_templates))
    assert with_means.predicted_class == "S"
    assert all(r.weight == 0 for r in without.class_reasons)  # nothing to put in place of the features
    assert with_means.class_reasons[0].key == "rr_pre_rel" and with_means.class_reasons[0].weight > 0
    irregular = next(r for r in with_means.abnormal_reasons if r.key == "irregularity_median")
    assert irregular.text == (f"R-R irregularity over a minute (median change {s_beat[0, N_SAMPLES + 1]:.2f} "
                              "of the local R-R)")
