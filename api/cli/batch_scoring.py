"""The batch scoring loop behind `vigie score` (DESIGN.md contract 2).

Input: one JSON object per line; output: one JSON object per input line, in the same order, either
`ScoreResult.to_dict()` or `{"id"?, "error"}` for a line that cannot be scored. Lines are read and
written in chunks so memory stays flat on any file size while `Scorer.score_many` amortises its
per-call cost over the chunk.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import IO, Any, Protocol

from scoring.types import Kind, ScoreInput, ScoreResult, Sender


class BatchScorer(Protocol):
    def score_many(self, inputs: Sequence[ScoreInput]) -> list[ScoreResult]: ...


class LineError(ValueError):
    """A line that cannot be scored; carries the line's id when it could be read."""

    def __init__(self, message: str, line_id: str | None = None) -> None:
        super().__init__(message)
        self.line_id = line_id


def _opt_str(obj: dict[str, Any], key: str, where: str = "") -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{where}{key} must be a string")
    return value


def _opt_number(obj: dict[str, Any], key: str, where: str = "") -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    # bool is an int subclass in Python; `true` is not a price.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{where}{key} must be a finite number")
    if value < 0:
        raise ValueError(f"{where}{key} must not be negative")
    return float(value)


def _sender(value: Any) -> Sender | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError("sender must be an object")
    is_pro = value.get("is_pro")
    if is_pro is not None and not isinstance(is_pro, bool):
        raise ValueError("sender.is_pro must be a boolean")
    return Sender(
        id=_opt_str(value, "id", "sender."),
        email=_opt_str(value, "email", "sender."),
        account_age_days=_opt_number(value, "account_age_days", "sender."),
        is_pro=is_pro,
        siret=_opt_str(value, "siret", "sender."),
    )


def parse_line(line: str) -> ScoreInput:
    """Validate one contract-2 input line into a ScoreInput; raises LineError saying what is wrong.

    Unknown fields are ignored (files often carry labels or notes); known fields must have their type.
    """
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise LineError(f"invalid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(obj, dict):
        raise LineError("a line must be a JSON object")
    raw_id = obj.get("id")
    line_id = raw_id if isinstance(raw_id, str) and raw_id else None
    try:
        if line_id is None:
            raise ValueError("id must be a non-empty string")
        kind = obj.get("kind")
        if kind not in (Kind.MESSAGE.value, Kind.LISTING.value):
            raise ValueError('kind must be "message" or "listing"')
        text = obj.get("text")
        if not isinstance(text, str):
            raise ValueError("text must be a string")
        recipient = obj.get("recipient")
        if recipient is not None and not isinstance(recipient, dict):
            raise ValueError("recipient must be an object")
        lang = obj.get("lang")
        if lang is not None and lang not in ("fr", "en"):
            raise ValueError('lang must be "fr" or "en"')
        return ScoreInput(
            id=line_id,
            kind=Kind(kind),
            text=text,
            title=_opt_str(obj, "title"),
            price=_opt_number(obj, "price"),
            category=_opt_str(obj, "category"),
            conversation_id=_opt_str(obj, "conversation_id"),
            sender=_sender(obj.get("sender")),
            recipient_id=_opt_str(recipient, "id", "recipient.") if recipient else None,
            lang=lang,
        )
    except ValueError as exc:
        raise LineError(str(exc), line_id) from None


def _error(message: str, line_id: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": line_id} if line_id is not None else {}
    out["error"] = message
    return out


def _score_one(scorer: BatchScorer, item: ScoreInput) -> dict[str, Any]:
    try:
        return scorer.score_many([item])[0].to_dict()
    except Exception as exc:  # reported on the line, the batch goes on
        return _error(f"scoring failed: {type(exc).__name__}", item.id)


def _score_chunk(scorer: BatchScorer, inputs: list[ScoreInput]) -> list[dict[str, Any]]:
    try:
        results = scorer.score_many(inputs)
    except Exception:
        # One poisonous input must not sink its chunk: retry one by one, failures reported on their line.
        return [_score_one(scorer, item) for item in inputs]
    return [r.to_dict() for r in results]


def score_stream(
    scorer: BatchScorer, src: Iterable[str], dst: IO[str], batch_size: int = 256
) -> dict[str, int]:
    """Score every line of `src` into `dst` (one output line per non-blank input line, same order).

    Returns counts {"scored", "errors"}. Blank lines are skipped silently.
    """
    counts = {"scored": 0, "errors": 0}
    slots: list[dict[str, Any] | ScoreInput] = []

    def flush() -> None:
        pending = [s for s in slots if isinstance(s, ScoreInput)]
        scored = iter(_score_chunk(scorer, pending) if pending else [])
        for slot in slots:
            out = next(scored) if isinstance(slot, ScoreInput) else slot
            counts["errors" if "error" in out else "scored"] += 1
            dst.write(json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n")
        dst.flush()
        slots.clear()

    for number, line in enumerate(src, start=1):
        if not line.strip():
            continue
        try:
            slots.append(parse_line(line))
        except LineError as exc:
            slots.append(_error(f"line {number}: {exc}", exc.line_id))
        if len(slots) >= batch_size:
            flush()
    flush()
    return counts
