"""The full MIT-BIH beat table against the Kaggle dataset's counts and 50 of its real rows (needs MITDB_DIR, KAGGLE_SAMPLE)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.dataset import FEATURES, class_counts, intra_patient_split

pytestmark = pytest.mark.full_data

REPO = Path(__file__).resolve().parents[1]
EXPECTED_COUNTS = {"N": 90_589, "S": 2_779, "V": 7_236, "F": 803, "Q": 8_039}
MIN_EXACT = 18  # rows of the 50 the current construction rebuilds to all 187 values within 1e-6

# Where each row of the real Kaggle sample comes from (record, annotation sample, symbol), measured
# once by matching the rows against every annotation of the database: a fact about the Kaggle data.
KAGGLE_SOURCES = [
    ('234', 150404, 'N'), ('117', 435381, 'N'), ('210', 514713, 'N'), ('210', 357594, 'N'), ('228', 551590, 'N'),
    ('219', 643200, 'N'), ('210', 261279, 'N'), ('230', 300266, 'N'), ('228', 180896, 'N'), ('213', 190258, 'N'),
    ('209', 201855, 'A'), ('232', 33252, 'A'), ('118', 649429, 'A'), ('222', 466404, 'A'), ('232', 557065, 'A'),
    ('209', 269432, 'A'), ('232', 368491, 'A'), ('209', 220186, 'A'), ('232', 211978, 'A'), ('223', 228290, 'A'),
    ('208', 230894, 'V'), ('106', 299539, 'V'), ('231', 53239, 'V'), ('221', 254915, 'V'), ('116', 219806, 'V'),
    ('205', 230610, 'V'), ('200', 352624, 'V'), ('200', 468230, 'V'), ('207', 615728, 'E'), ('106', 637662, 'V'),
    ('213', 385136, 'F'), ('208', 34611, 'F'), ('213', 227782, 'F'), ('213', 294394, 'F'), ('213', 214328, 'F'),
    ('208', 4097, 'F'), ('208', 205253, 'F'), ('208', 175027, 'F'), ('208', 255899, 'F'), ('208', 313123, 'F'),
    ('107', 285693, '/'), ('107', 17128, '/'), ('104', 415220, '/'), ('104', 88171, 'f'), ('217', 579430, '/'),
    ('107', 277815, '/'), ('217', 511143, '/'), ('107', 623675, '/'), ('217', 576115, '/'), ('104', 255708, 'f'),
]


def test_ds_counts_full(full_table):
    assert len(full_table) == 109_446
    assert class_counts(full_table["label"]) == EXPECTED_COUNTS
    assert full_table["record"].nunique() == 48


def test_ds_kaggle50_full(full_table, kaggle_sample):
    kaggle = np.loadtxt(kaggle_sample, delimiter=",", ndmin=2)
    assert kaggle.shape == (50, 188)
    index = {key: i for i, key in enumerate(zip(full_table["record"], full_table["sample"]))}
    X = full_table[FEATURES].to_numpy(np.float64)
    labels = full_table["label"].to_numpy()
    symbols = full_table["symbol"].to_numpy()
    exact = []
    for n, (row, (record, sample, symbol)) in enumerate(zip(kaggle, KAGGLE_SOURCES)):
        i = index.get((record, sample))
        assert i is not None, f"Kaggle row {n}: no beat of record {record} at sample {sample} in the table"
        assert labels[i] == row[187], f"Kaggle row {n}: label {labels[i]} in the table, {row[187]:g} in Kaggle"
        assert symbols[i] == symbol
        if np.abs(X[i] - row[:187]).max() <= 1e-6:
            exact.append(n)
    print(f"{len(exact)} of 50 Kaggle rows rebuilt exactly: {exact}")
    assert len(exact) >= MIN_EXACT
    assert {11, 31} <= set(exact)  # the two committed in tests/fixtures/kaggle_rows.csv


@pytest.mark.xfail(
    reason="assets/random_test_sample.csv is a copy of the 50 real Kaggle rows, not the output of "
           "`python -m pipeline sample` (only 3 of its rows are in our intra-patient test split)",
    strict=True,
)
def test_ds_sample_from_test_split_full(full_table):
    """The committed assets/random_test_sample.csv holds only beats of the intra-patient test split."""
    path = REPO / "assets" / "random_test_sample.csv"
    if not path.is_file():
        pytest.skip("assets/random_test_sample.csv is not committed yet")
    sample = np.loadtxt(path, delimiter=",", ndmin=2)
    _, test = intra_patient_split(full_table)
    is_test = np.zeros(len(full_table), dtype=bool)
    is_test[test] = True
    X = full_table[FEATURES].to_numpy(np.float32)
    # Beats are found by their first values, then compared in full.
    by_start = {}
    for i, key in enumerate(map(bytes, X[:, :4])):
        by_start.setdefault(key, []).append(i)
    for n, row in enumerate(sample):
        candidates = [i for i in by_start.get(bytes(row[:4].astype(np.float32)), [])
                      if np.array_equal(X[i], row[:187].astype(np.float32))]
        assert candidates, f"sample row {n + 1} is not a beat of the table"
        assert any(is_test[i] and full_table["label"].iat[i] == row[187] for i in candidates), \
            f"sample row {n + 1} is not from the intra-patient test split"
