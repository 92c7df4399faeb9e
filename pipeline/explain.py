"""Why the cascade gave a beat its class: its two decisions and the inputs that pushed each, in words.

The binary stage (normal or abnormal) is explained by XGBoost's own SHAP values
(`pred_contribs`): exact, additive contributions to the log-odds of "abnormal".
The multi-class stage grows multi-output trees, for which XGBoost computes no
SHAP values, so it is explained by occlusion: each group of inputs in turn is
replaced by the average abnormal training beat's, and the drop in the log
probability of the chosen class is that group's weight. Both are summed over
the same groups of inputs: 100 ms stretches of the waveform, 83 ms stretches of
the QRS slopes and each rhythm feature, so that a reason reads as a place on
the beat ("waveform 100-200 ms after the R peak") and not as one of 234 columns.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import xgboost as xgb

from pipeline.features import SLOPE_SAMPLES, beat_features
from pipeline.vocabulary import ABNORMAL_CLASSES, CLASSES, N_SAMPLES, ROW_RATE_HZ

CHUNK = 256  # beats per occlusion batch: each beat becomes 4 x (groups + 1) rows
WAVE_WINDOW = 12  # samples: 100 ms at 120 Hz
SLOPE_WINDOW = 10  # slopes: 83 ms


def ms(samples: float) -> float:
    return 1000.0 * samples / ROW_RATE_HZ


@dataclass(frozen=True)
class Group:
    """Some of the cascade's inputs, explained together; `span` is where they sit on the beat row (samples)."""

    key: str
    columns: tuple[int, ...]
    span: tuple[int, int] | None


@dataclass(frozen=True)
class Reason:
    """One group's push: weight > 0 pushes toward the stage's decision; text is for a clinician."""

    key: str
    text: str
    weight: float
    span: tuple[int, int] | None


@dataclass(frozen=True)
class BeatExplanation:
    predicted_class: str
    p_abnormal: float  # what the decision read: the beat's own, or with its look-alikes averaged in (look_alikes)
    threshold: float
    base_log_odds: float  # the binary stage's log-odds before any input is seen; plus the weights gives own_p_abnormal
    class_probabilities: dict[str, float]  # P(class | abnormal) for S, V, F, Q, as the decision read them
    abnormal_reasons: tuple[Reason, ...]  # binary stage, toward its decision (normal or abnormal), strongest first
    class_reasons: tuple[Reason, ...]  # multi-class stage, toward the decision's abnormal class, strongest first
    own_p_abnormal: float = float("nan")  # from the beat's own inputs alone (what the reasons add up to)
    look_alikes: bool = False  # whether the cascade averaged look-alikes' probabilities in (Cascade.look_alikes)

    @property
    def abnormal(self) -> bool:
        return self.p_abnormal >= self.threshold

    @property
    def abnormal_class(self) -> str:
        """The class the multi-class stage chose (the prediction when the beat is abnormal)."""
        return max(self.class_probabilities, key=self.class_probabilities.get)


def groups(feature_names: tuple[str, ...]) -> list[Group]:
    """The cascade's inputs in groups a clinician can place: waveform stretches, slope stretches, rhythm features."""
    index = {name: i for i, name in enumerate(feature_names)}
    out = []
    if "sample_0" not in index:  # a cascade that reads only a recording's features (BeatFeatures(rows=False))
        return [Group(name, (i,), None) for name, i in index.items()]
    for start in range(0, N_SAMPLES, WAVE_WINDOW):
        stop = min(start + WAVE_WINDOW, N_SAMPLES)
        out.append(Group(f"wave {start}", tuple(index[f"sample_{i}"] for i in range(start, stop)), (start, stop)))
    for start in range(0, SLOPE_SAMPLES - 1, SLOPE_WINDOW):
        stop = min(start + SLOPE_WINDOW, SLOPE_SAMPLES - 1)
        out.append(Group(f"slope {start}", tuple(index[f"slope_{i}"] for i in range(start, stop)), (start, stop + 1)))
    known = {f"sample_{i}" for i in range(N_SAMPLES)} | {f"slope_{i}" for i in range(SLOPE_SAMPLES - 1)}
    for name in feature_names:
        if name not in known:
            out.append(Group(name, (index[name],), None))
    return out


# The rhythm-aware cascade's R-R features (pipeline.rhythm): a ratio, named by what is divided by what.
RHYTHM_WORDS = {"rr_pre_rel": "pre-R-R", "rr_post_rel": "post-R-R", "rr_local_rel": "local R-R",
                "rr_long_rel": "five-minute R-R", "rr_pre_local": "pre-R-R", "rr_post_local": "post-R-R",
                "rr_pre_long": "pre-R-R", "rr_post_pre": "post-R-R", "rr_pre_prev": "pre-R-R",
                "rr_irregularity": "R-R irregularity (mean successive change)"}
RHYTHM_BASES = {"rel": "the recording's median", "local": "the local average R-R",
                "long": "the five-minute average R-R", "pre": "the pre-R-R", "prev": "the previous beat's pre-R-R",
                "irregularity": "the local average R-R"}
# The rest of a recording's features (pipeline.rhythm), in words with the beat's value.
RECORDING_WORDS = {
    "irregularity_median": "R-R irregularity over a minute (median change {value:.2f} of the local R-R)",
    "irregularity_share": "{value:.0%} of the surrounding minute's beats changed R-R by over 10%",
    "irregularity_median_short": "R-R irregularity over 15 beats (median change {value:.2f} of the local R-R)",
    "morph_corr_qrs": "QRS correlates {value:.2f} with the recording's median beat",
    "morph_corr_beat": "QRS and T correlate {value:.2f} with the recording's median beat",
    "morph_rms_qrs": "QRS differs from the recording's median beat by {value:.2f} (RMS)",
    "morph_slope_ratio": "QRS slopes {value:.2f} x the recording's median beat's",
    "morph_fall_delta": "R wave falls {value:+.0f} samples later than the recording's median beat",
    "morph_trough_delta": "trough after R {value:+.2f} deeper than the recording's median beat",
}


def _describe(group: Group, features: np.ndarray, normal: np.ndarray, names: tuple[str, ...]) -> tuple[str, tuple | None]:
    """Words for a group's values on this beat, against the average normal training beat where that means something."""
    if group.key.startswith("wave "):
        a, b = group.span
        level, usual = features[list(group.columns)].mean(), normal[list(group.columns)].mean()
        side = "higher" if level > usual else "lower"
        return (f"waveform {ms(a):.0f}-{ms(b):.0f} ms after the R peak {side} than a normal beat "
                f"({level:.2f} vs {usual:.2f})"), group.span
    if group.key.startswith("slope "):
        a, b = group.span
        steep, usual = np.abs(features[list(group.columns)]).max(), np.abs(normal[list(group.columns)]).max()
        side = "steeper" if steep > usual else "flatter"
        return f"QRS slopes {ms(a):.0f}-{ms(b):.0f} ms after the R peak {side} than a normal beat", group.span
    value = float(features[group.columns[0]])
    name = names[group.columns[0]]
    length = float(features[names.index("segment_length")]) if "segment_length" in names else N_SAMPLES
    end = int(min(max(length, 1), N_SAMPLES))
    words = {
        "segment_length": (f"next beat about {ms(value / 1.2):.0f} ms later (the row spans 1.2 R-R)", (end - 1, end)),
        "next_peak_pos": (f"next R peak {ms(value):.0f} ms after this one", (int(value), int(value) + 1)),
        "next_peak_frac": (f"next R peak {value:.0%} of the way along the beat", None),
        "next_peak_value": (f"next R peak height {value:.2f}", None),
        "next_trough_pos": (f"lowest point after the T wave at {ms(value):.0f} ms", (int(value), int(value) + 1)),
        "next_trough_frac": (f"lowest point after the T wave {value:.0%} of the way along the beat", None),
        "segment_mean": (f"mean level of the beat {value:.2f}", None),
        "segment_std": (f"spread of the beat's values {value:.2f}", None),
    }
    if name in RHYTHM_WORDS:
        return f"{RHYTHM_WORDS[name]} {value:.2f} of {RHYTHM_BASES[name.rsplit('_', 1)[1]]}", None
    if name in RECORDING_WORDS:
        return RECORDING_WORDS[name].format(value=value), None
    return words.get(name, (f"{name.replace('_', ' ')} {value:.2f}", None))


def _reasons(weights: np.ndarray, grouped: list[Group], features: np.ndarray, normal: np.ndarray,
             names: tuple[str, ...]) -> tuple[Reason, ...]:
    reasons = []
    for group, weight in zip(grouped, weights):
        text, span = _describe(group, features, normal, names)
        reasons.append(Reason(group.key, text, float(weight), span))
    return tuple(sorted(reasons, key=lambda r: -abs(r.weight)))


def _group_sums(per_feature: np.ndarray, grouped: list[Group]) -> np.ndarray:
    """(n, features) -> (n, groups): SHAP values are additive, so a group's is the sum of its features'."""
    return np.column_stack([per_feature[:, list(g.columns)].sum(axis=1) for g in grouped])


def _occlusion(booster, features: np.ndarray, references: np.ndarray, shares: np.ndarray,
               grouped: list[Group], chosen: np.ndarray) -> np.ndarray:
    """(n, groups): the expected drop in log P(chosen | abnormal) when a group takes a reference beat's values.

    The references (m, features) are the abnormal class templates, weighted by their shares of
    the training beats (the background of an interventional SHAP estimate): against one average
    beat, a group that looks like it would seem to weigh nothing for the class it resembles.
    """
    n, k, m = len(features), len(grouped), len(references)
    occluded = np.repeat(features[:, None, None, :], m, axis=1).repeat(k + 1, axis=2)  # slot 0: the beat itself
    for j, group in enumerate(grouped, start=1):
        cols = list(group.columns)
        occluded[:, :, j, cols] = references[:, cols][None]
    proba = booster.predict_proba(occluded.reshape(n * m * (k + 1), -1)).reshape(n, m, k + 1, -1)
    log_p = np.log(np.clip(np.take_along_axis(proba, chosen[:, None, None, None], axis=3)[..., 0], 1e-12, None))
    return np.einsum("m,nmk->nk", shares, log_p[:, :, :1] - log_p[:, :, 1:])


def abnormal_templates(templates: Mapping[str, Mapping], also: Mapping[str, Mapping] | None = None
                       ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The abnormal classes (those in `also` too, when given), their mean training beats (m, 187) and their
    shares of the abnormal training beats."""
    abnormal = [c for c in CLASSES[1:] if c in templates and (also is None or c in also)]
    counts = np.array([templates[c]["n"] for c in abnormal], dtype=float)
    return abnormal, np.array([templates[c]["mean"] for c in abnormal], dtype=np.float32), counts / counts.sum()


def explain_beats(cascade, X: np.ndarray, templates: Mapping[str, Mapping],
                  extra_templates: Mapping[str, Mapping] | None = None,
                  proba: np.ndarray | None = None) -> list[BeatExplanation]:
    """One explanation per beat of X (rows as cascade.predict_proba takes them).

    `proba`: the beats' five probabilities as the cascade gave them in their recording (with look-alikes averaged
    in, which a beat alone cannot show); the decision is read from them, the reasons from each beat's own inputs.

    `templates` is the report's class templates (class -> n, mean): the average normal beat
    the words compare against, and the abnormal classes' average beats that the multi-class
    stage's occlusion puts in place of each group. `extra_templates` (class -> n, mean of the
    cascade's extra columns; the report's recordings.feature_templates for the rhythm-aware
    cascade) lets the occlusion replace the extra columns too; without it they weigh nothing there.
    """
    X = np.asarray(X, dtype=np.float32)
    names = tuple(cascade.feature_names)
    grouped = groups(names)
    features = cascade.feature_matrix(X)
    extra, rows = len(cascade.extra_columns), cascade.row_features
    normal = _reference_features(templates["N"]["mean"], extra, rows)
    abnormal, beats, shares = abnormal_templates(templates, extra_templates)
    references = np.vstack([_reference_features(b, extra, rows) for b in beats])
    if extra and extra_templates:
        references[:, len(names) - extra:] = [extra_templates[c]["mean"] for c in abnormal]

    binary = cascade.binary_booster
    contributions = binary.get_booster().predict(xgb.DMatrix(features, feature_names=list(names)),
                                                 pred_contribs=True)
    abnormal_weights = _group_sums(contributions[:, :-1], grouped)
    own_abnormal = binary.predict_proba(features)[:, 1]
    given_abnormal = cascade.multiclass_booster.predict_proba(features)
    if proba is None:
        p_abnormal, decided = own_abnormal, given_abnormal
    else:
        proba = np.asarray(proba, dtype=np.float64)
        p_abnormal = 1.0 - proba[:, 0]
        decided = proba[:, ABNORMAL_CLASSES] / np.maximum(p_abnormal, 1e-12)[:, None]
    chosen = np.argmax(decided, axis=1)  # the abnormal class the decision names; its reasons are sought
    # Without extra_templates a template has no recording (extra) features: those are never replaced,
    # so they weigh nothing in this stage.
    replaceable = [g if g.columns[0] < len(names) - extra or extra_templates else Group(g.key, (), g.span)
                   for g in grouped]
    class_weights = np.vstack([
        _occlusion(cascade.multiclass_booster, features[i:i + CHUNK], references, shares, replaceable,
                   chosen[i:i + CHUNK])
        for i in range(0, len(features), CHUNK)])

    threshold = float(cascade.threshold_)
    out = []
    for i in range(len(X)):
        is_abnormal = p_abnormal[i] >= threshold
        toward = abnormal_weights[i] if is_abnormal else -abnormal_weights[i]
        out.append(BeatExplanation(
            predicted_class=CLASSES[ABNORMAL_CLASSES[chosen[i]]] if is_abnormal else CLASSES[0],
            p_abnormal=float(p_abnormal[i]),
            threshold=threshold,
            base_log_odds=float(contributions[i, -1]),
            class_probabilities={CLASSES[c]: float(p) for c, p in zip(ABNORMAL_CLASSES, decided[i])},
            abnormal_reasons=_reasons(toward, grouped, features[i], normal, names),
            class_reasons=_reasons(class_weights[i], grouped, features[i], normal, names),
            own_p_abnormal=float(own_abnormal[i]),
            look_alikes=proba is not None and bool(cascade.look_alikes),
        ))
    return out


def _reference_features(beat, extra: int, rows: bool = True) -> np.ndarray:
    row = beat_features(np.asarray(beat, dtype=np.float32)[None, :])[0] if rows else np.zeros(0, np.float32)
    return np.concatenate([row, np.zeros(extra, dtype=np.float32)])  # extras: set from extra_templates or never read
