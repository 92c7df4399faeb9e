"""Numbers in words: plurals and shares written the same way on every page."""
from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 beat', '2 beats', '21,892 beats'."""
    return f"{n:,} {word if n == 1 else many or word + 's'}"


def share(fraction: float) -> str:
    """A share as a percentage that never rounds a small one to 0% or a large one to 100%."""
    if fraction <= 0 or fraction >= 1:
        return f"{fraction:.0%}"
    if fraction < 0.0001:
        return "<0.01%"
    if fraction > 0.9999:
        return ">99.99%"
    if fraction < 0.01 or fraction > 0.99:
        return f"{fraction:.2%}"
    return f"{fraction:.1%}"
