"""English: the app's reference texts (every key is here)."""

from __future__ import annotations

NAME = "English"


def plural(n: int) -> str:
    return "one" if n == 1 else "other"


TEXTS: dict[str, str | dict[str, str]] = {
    # ------------------------------------------------------------ the page
    "app.page_title": "digitnet: draw a digit",
    "app.tagline": "A neural network written from scratch in NumPy reads your handwriting.",
    "app.language": "Language",
    "tab.draw": "Draw",
    "tab.explore": "Explore",
    "tab.how": "How it works",
    "tab.train": "Train",
}
