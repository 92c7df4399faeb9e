"""Read-only data shared by every page: the model bundle, loaded once per worker process."""
from __future__ import annotations

import functools
import os

from pipeline.bundle import Bundle, BundleError, load_bundle

from dashboard.settings import settings

__all__ = ["Bundle", "BundleError", "get_bundle", "get_report"]


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
