"""Deployment settings for the dashboard, read from the environment in one place."""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = REPO_ROOT / "assets"
SAMPLE_CSV = ASSETS_DIR / "random_test_sample.csv"

MB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    models_dir: Path
    upload_dir: Path
    max_upload_bytes: int
    upload_ttl_seconds: int
    upload_store_bytes: int
    upload_store_url: str  # redis://... for the Redis store; empty for the disk store


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not a number; unset it or give a number.") from None


def settings() -> Settings:
    """Settings as the environment has them now (cheap; read on every use so tests can change them)."""
    models_dir = Path(os.environ.get("MODELS_DIR") or REPO_ROOT / "models")
    upload_dir = Path(
        os.environ.get("UPLOAD_DIR") or Path(tempfile.gettempdir()) / "heartbeat-dashboard-uploads"
    )
    return Settings(
        models_dir=models_dir,
        upload_dir=upload_dir,
        max_upload_bytes=int(_number("UPLOAD_MAX_MB", 200) * MB),
        upload_ttl_seconds=int(_number("UPLOAD_TTL_MINUTES", 60) * 60),
        upload_store_bytes=int(_number("UPLOAD_STORE_MAX_MB", 2048) * MB),
        upload_store_url=os.environ.get("UPLOAD_STORE_URL", "").strip(),
    )
