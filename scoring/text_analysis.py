"""A text's normalisation and extracted entities, computed once per text object and shared.

The worker gathers signals (`workers.signals`: which entities a message carries) before the Scorer
scores the same items, and both need `normalize(text)` and `extract(text, norm)`, the costliest pure
steps after rule matching. `analyze_text` memoises them for the text OBJECTS in flight: an entry is
found only for the very same `str` object (the item handed from one stage to the next), never for an
equal text met elsewhere, so a benchmark of repeated phrasings measures the work, not a cache. The memo
keeps the last `MEMO_SIZE` texts of at most `MAX_MEMO_CHARS` characters (a few batches), which bounds
its memory to a few megabytes; longer texts are analysed each time.

Both values are immutable (frozen dataclasses of tuples), so sharing them across stages and threads
is safe.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from scoring.extract import Entities, extract
from scoring.normalize import Normalized, normalize

MEMO_SIZE = 1024  # items: more than a batch, so a batch's signals and its scoring share every entry
MAX_MEMO_CHARS = 4000


@dataclass(frozen=True, slots=True)
class TextAnalysis:
    """What every consumer of a text reads first."""

    norm: Normalized
    entities: Entities


def analyze(text: str) -> TextAnalysis:
    """Normalise `text` and extract its entities (no memo)."""
    norm = normalize(text)
    return TextAnalysis(norm, extract(text, norm))


# id(text) -> (text, analysis); the text is kept so that its id cannot be reused while it is here.
_memo: dict[int, tuple[str, TextAnalysis]] = {}
_lock = threading.Lock()


def analyze_text(text: str) -> TextAnalysis:
    """`analyze(text)`, memoised for this text object (see the module docstring); thread-safe."""
    if len(text) > MAX_MEMO_CHARS:
        return analyze(text)
    key = id(text)
    entry = _memo.get(key)
    if entry is not None and entry[0] is text:
        return entry[1]
    result = analyze(text)
    with _lock:
        if len(_memo) >= MEMO_SIZE:
            # Oldest first (dicts keep insertion order): the batch before the previous one is done.
            for old in list(_memo)[: MEMO_SIZE // 4]:
                del _memo[old]
        _memo[key] = (text, result)
    return result
