"""Numbers in words: plurals and shares written the same way on every page."""
from __future__ import annotations

from pipeline.report import share  # noqa: F401 (the pipeline's sentences write shares the same way)


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 beat', '2 beats', '21,892 beats'."""
    return f"{n:,} {word if n == 1 else many or word + 's'}"
