"""Read-only data shared by every page: the model bundle, loaded once per worker process, and the report as pages read it.

Every page reads the report through this module, so a change in how the report is stored is a change here only.
"""
from __future__ import annotations

import functools
import os

from pipeline.bundle import Bundle, BundleError, load_bundle

from dashboard.settings import settings

__all__ = ["Bundle", "BundleError", "get_bundle", "get_report", "protocol_title", "training_beats", "templates"]


@functools.lru_cache(maxsize=4)
def _load(directory: str, pid: int) -> Bundle:
    # Keyed by pid so a bundle loaded before gunicorn forks (e.g. --preload) is
    # never reused in a worker: XGBoost's OpenMP state does not survive fork.
    return load_bundle(directory)


def get_bundle() -> Bundle:
    """The verified bundle from MODELS_DIR (default models/); raises BundleError with a user sentence."""
    return _load(str(settings().models_dir), os.getpid())


@functools.lru_cache(maxsize=4)
def _report_dict(directory: str, pid: int) -> dict:
    return _load(directory, pid).report.to_dict()


def get_report() -> dict:
    """The bundle's report (typed and version-checked by the pipeline's loader), as the pages read it."""
    get_bundle()
    return _report_dict(str(settings().models_dir), os.getpid())


def templates() -> dict:
    """Each class's mean training beat: class -> n, mean, std."""
    return get_report()["templates"]


def protocol_title(report: dict, key: str) -> str:
    # One arrow everywhere: the report may write DS1 -> DS2.
    return report["protocols"][key].get("title", key).replace("->", "→")


def training_beats(report: dict, key: str) -> int:
    """How many beats the models of one protocol were trained on (its training split)."""
    return sum(report["protocols"][key]["splits"]["train"].values())
