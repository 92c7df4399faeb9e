"""Rhythm and morphology features of a beat sequence, and the grouped DS1 folds (issue 8, items 3 and 5)."""
from __future__ import annotations

import numpy as np
import pytest

from pipeline.dataset import DS1
from pipeline.rhythm import (IRREGULARITY_FEATURE_NAMES, MORPHOLOGY_FEATURE_NAMES, RHYTHM_FEATURE_NAMES,
                             ds1_folds, irregularity_features, morphology_features, rhythm_features)
from pipeline.vocabulary import FEATURES

COLUMN = {name: j for j, name in enumerate(RHYTHM_FEATURE_NAMES)}


def times_to_samples(times_s, fs):
    return np.round(np.asarray(times_s) * fs).astype(np.int64)


def test_rhy_steady_rhythm_is_one():
    samples = times_to_samples(np.arange(60) * 0.8, 360)
    features = rhythm_features(samples, 360.0)
    assert features.shape == (60, len(RHYTHM_FEATURE_NAMES)) and features.dtype == np.float32
    ratios = [c for c in RHYTHM_FEATURE_NAMES if c != "rr_irregularity"]
    np.testing.assert_allclose(features[:, [COLUMN[c] for c in ratios]], 1.0, rtol=1e-6)
    np.testing.assert_allclose(features[:, COLUMN["rr_irregularity"]], 0.0, atol=1e-6)


def test_rhy_premature_beat_and_compensatory_pause():
    # Steady 0.8 s; beat 30 comes 0.3 s early and the next one is on time (a full compensatory pause).
    times = np.arange(60) * 0.8
    times[30] -= 0.3
    features = rhythm_features(times_to_samples(times, 360), 360.0)
    premature = features[30]
    assert premature[COLUMN["rr_pre_rel"]] == pytest.approx(0.5 / 0.8, rel=1e-3)
    assert premature[COLUMN["rr_post_rel"]] == pytest.approx(1.1 / 0.8, rel=1e-3)
    assert premature[COLUMN["rr_post_pre"]] == pytest.approx(1.1 / 0.5, rel=1e-3)
    assert premature[COLUMN["rr_pre_local"]] < 0.8
    assert premature[COLUMN["rr_pre_prev"]] < 0.8
    # The beat after the pause has a long pre-R-R; beats far from it are in steady rhythm.
    assert features[31, COLUMN["rr_pre_rel"]] > 1.3
    assert features[5, COLUMN["rr_pre_rel"]] == pytest.approx(1.0)
    assert features[30, COLUMN["rr_irregularity"]] > features[5, COLUMN["rr_irregularity"]] + 0.1


def test_rhy_edge_beats_take_their_other_interval():
    times = np.array([0.0, 0.6, 1.4, 2.2, 3.0, 3.5])
    features = rhythm_features(times_to_samples(times, 360), 360.0)
    assert np.isfinite(features).all()
    median = np.median(np.diff(times))
    assert features[0, COLUMN["rr_pre_rel"]] == pytest.approx(0.6 / median)  # its post-R-R
    assert features[-1, COLUMN["rr_post_rel"]] == pytest.approx(0.5 / median)  # its pre-R-R
    assert features[0, COLUMN["rr_post_pre"]] == features[-1, COLUMN["rr_post_pre"]] == 1.0
    assert rhythm_features(np.array([100]), 360.0).tolist() == [[1.0] * len(RHYTHM_FEATURE_NAMES)]
    assert rhythm_features(np.array([], dtype=np.int64), 360.0).shape == (0, len(RHYTHM_FEATURE_NAMES))


def test_rhy_same_times_at_another_rate_same_features():
    rng = np.random.default_rng(1)
    times = np.cumsum(rng.integers(4, 12, size=500)) * 0.1  # whole tenths: exact at 360 and 250 Hz
    at_360 = rhythm_features(times_to_samples(times, 360), 360.0)
    at_250 = rhythm_features(times_to_samples(times, 250), 250.0)
    np.testing.assert_allclose(at_360, at_250, rtol=1e-5)


def test_rhy_long_window_follows_the_rate_over_minutes():
    # Ten minutes at 60 beats/min, then ten at 120: the record median sits at one rate,
    # the five-minute window follows the other.
    times = np.concatenate([np.arange(600) * 1.0, 600 + np.arange(1, 1200) * 0.5])
    features = rhythm_features(times_to_samples(times, 360), 360.0)
    fast = 600 + 600  # beat at 900 s, deep inside the fast part
    assert features[fast, COLUMN["rr_pre_long"]] == pytest.approx(1.0)
    assert features[fast, COLUMN["rr_long_rel"]] == pytest.approx(1.0)  # the median R-R is the fast one
    assert features[300, COLUMN["rr_pre_long"]] == pytest.approx(1.0)  # 300 s: inside the slow part
    assert features[300, COLUMN["rr_pre_rel"]] == pytest.approx(2.0)


def test_rhy_positions_must_increase():
    with pytest.raises(ValueError, match="strictly increasing"):
        rhythm_features(np.array([0, 300, 300, 600]), 360.0)


def test_rhy_morphology_against_the_recordings_median_beat(fixture_table):
    record = fixture_table[fixture_table["record"] == "208"]  # 208: many V beats beside its normal ones
    features = morphology_features(record[FEATURES].to_numpy(np.float32))
    assert features.shape == (len(record), len(MORPHOLOGY_FEATURE_NAMES)) and np.isfinite(features).all()
    label = record["label"].to_numpy()
    corr = features[:, MORPHOLOGY_FEATURE_NAMES.index("morph_corr_qrs")]
    assert np.median(corr[label == 0]) > 0.85
    assert np.median(corr[label == 2]) < np.median(corr[label == 0]) - 0.2
    # A row equal to the median row matches it exactly.
    rows = np.tile(record[FEATURES].to_numpy(np.float32)[:1], (5, 1))
    same = morphology_features(rows)
    np.testing.assert_allclose(same[:, :4], [[1.0, 1.0, 0.0, 1.0]] * 5, atol=1e-5)
    np.testing.assert_allclose(same[:, 4:], 0.0, atol=1e-6)


def test_rhy_irregularity_median_ignores_a_few_premature_beats():
    """Sinus rhythm with a premature beat every 7th: the mean change is high, the median stays low; AF-like: both high."""
    intervals = np.full(300, 0.8)
    intervals[::7] = 0.5  # premature
    intervals[1::7] = 1.1  # compensatory pause
    ectopic = irregularity_features(times_to_samples(np.cumsum(intervals), 360), 360)
    mean_change = rhythm_features(times_to_samples(np.cumsum(intervals), 360), 360)[:, COLUMN["rr_irregularity"]]
    rng = np.random.default_rng(3)
    fibrillation = irregularity_features(times_to_samples(np.cumsum(rng.uniform(0.4, 1.2, 300)), 360), 360)
    median, share = IRREGULARITY_FEATURE_NAMES.index("irregularity_median"), IRREGULARITY_FEATURE_NAMES.index(
        "irregularity_share")
    assert ectopic.shape == (300, len(IRREGULARITY_FEATURE_NAMES)) and ectopic.dtype == np.float32
    assert np.median(mean_change) > 0.15  # the mean-based feature cannot tell the two apart...
    assert np.median(ectopic[:, median]) < 0.01  # ...the median can
    assert np.median(fibrillation[:, median]) > 0.2 and np.median(fibrillation[:, share]) > 0.7
    assert 0.38 < np.median(ectopic[:, share]) < 0.48  # 3 changes in 7 beats: into the early beat, the pause, out
    assert irregularity_features(np.array([5]), 360.0).tolist() == [[0.0] * len(IRREGULARITY_FEATURE_NAMES)]


def test_rhy_folds_are_grouped_by_record():
    # Beats of the 22 DS1 records in shuffled order and unequal numbers: any split that
    # ignores the records puts some record's beats on both sides of a fold.
    rng = np.random.default_rng(0)
    records = rng.permutation(np.repeat(DS1, rng.integers(50, 400, size=len(DS1))))
    folds = ds1_folds(records, 5)
    assert len(folds) == 5
    held_out_records = []
    for train, held_out in folds:
        assert not set(records[train]) & set(records[held_out])
        assert len(train) + len(held_out) == len(records)
        held_out_records += sorted(set(records[held_out]))
    assert sorted(held_out_records) == sorted(DS1)  # every record held out exactly once


def test_rhy_folds_need_enough_records():
    with pytest.raises(ValueError, match="5 folds need at least 5 records"):
        ds1_folds(np.array(["101", "106", "101"]), 5)
