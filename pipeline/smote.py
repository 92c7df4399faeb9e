"""SMOTE for the training folds (imbalanced-learn): imported by pipeline.models only when a model is trained."""
from __future__ import annotations

import numpy as np
from imblearn.over_sampling import SMOTE


class AdaptiveSMOTE(SMOTE):
    """SMOTE that uses fewer neighbours for a class with too few beats for k.

    A fold of DS1 grouped by record can hold only 2 Q beats; plain SMOTE would stop
    there. A class with a single beat is left as it is (nothing to interpolate).
    """

    def _fit_resample(self, X, y):
        counts = np.bincount(y)
        smallest = int(counts[counts > 0].min())
        if isinstance(self.k_neighbors, int) and smallest <= self.k_neighbors:
            if smallest < 2:
                return X, y
            return SMOTE(**{**self.get_params(), "k_neighbors": smallest - 1}).fit_resample(X, y)
        return super()._fit_resample(X, y)
