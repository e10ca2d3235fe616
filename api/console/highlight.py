"""Cut a message into display segments: plain, evidence (highlighted) and personal data (masked).

The result is plain data; the template renders each segment's `text` through Jinja's autoescape
inside its own element, so user text is never marked safe and a `<script>` in a message stays text.
Masked personal data is replaced by a placeholder here, on the server: the real value is not in
the page at all until the moderator reveals it (an audited POST).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from moderation.case_file import Span

MASK_LABELS = {"phone": "téléphone", "email": "e-mail", "iban": "IBAN", "crypto": "adresse crypto"}


@dataclass(frozen=True)
class Segment:
    text: str
    evidence: tuple[str, ...] = ()  # reason codes whose evidence covers this segment
    masked_kind: str | None = None  # set when the text is a placeholder for hidden personal data
    personal_kind: str | None = None  # set on revealed personal data


def _merge(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            merged[-1] = Span(last.start, max(last.end, span.end), last.kind)
        else:
            merged.append(span)
    return merged


def segments(text: str, evidence: list[Span], personal: list[Span], reveal: bool) -> list[Segment]:
    """Segments covering `text` in order. Personal spans are atomic: masked as one placeholder."""
    personal = _merge([p for p in personal if 0 <= p.start < p.end <= len(text)])
    evidence = [e for e in evidence if 0 <= e.start < e.end <= len(text)]
    cuts = {0, len(text)}
    for span in (*evidence, *personal):
        cuts.update((span.start, span.end))
    out: list[Segment] = []
    bounds = sorted(cuts)
    for start, end in itertools.pairwise(bounds):
        codes = tuple(dict.fromkeys(e.label for e in evidence if e.start < end and start < e.end))
        owner = next((p for p in personal if p.start <= start and end <= p.end), None)
        if owner is None:
            out.append(Segment(text[start:end], codes))
        elif reveal:
            out.append(Segment(text[start:end], codes, personal_kind=owner.kind))
        elif start == owner.start:
            # One placeholder for the whole entity, whatever evidence cuts it into pieces.
            covering = tuple(
                dict.fromkeys(e.label for e in evidence if e.start < owner.end and owner.start < e.end)
            )
            label = MASK_LABELS.get(owner.kind, owner.kind)
            out.append(Segment(f"[{label} masqué]", covering, masked_kind=owner.kind))
    return out
