"""Retraining the TextModel on moderator labels, and the comparison that gates its promotion.

Pure: examples in, parameters and figures out. The database export (`moderation.labels`), the
registry (`moderation.model_registry`) and the job (`workers.nightly`) are the shell around it.

Splits (deterministic, the same on every machine and run):
- labels are split by conversation (a label without one is its own group) with `stable_fraction`:
  `LABEL_HOLDOUT_FRACTION` of the groups are held out, so no turn of a held-out scam script is
  trained on;
- the fixtures' holdout corpus contributes its `dev` half only (`scoring.evaluation.holdout_half`);
  its `report` half is never looked at here.
The candidate and the active model are evaluated on exactly the same held-out examples, each at its
own operating threshold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scoring.evaluation import Confusion, holdout_half
from scoring.model import LinearParams
from scoring.training import Example, TrainConfig, TrainReport, fit_linear, stable_fraction

LABEL_HOLDOUT_FRACTION = 0.3
LABEL_SOURCE = "labels"
# The gate's precision rule is "not worse": by default (`DEFAULT_PRECISION_TOLERANCE`) the
# candidate's held-out precision must be >= the active model's. An operator may allow a small
# absolute drop (`VIGIE_PROMOTE_PRECISION_TOLERANCE`): on the ~450-message held-out split one extra
# false positive moves precision by ~0.2 points, so a strict rule can refuse a retrain that learnt a
# whole scam script over a single message. Never more than `MAX_PRECISION_TOLERANCE`: beyond that
# the rule no longer says "not worse".
DEFAULT_PRECISION_TOLERANCE = 0.0
MAX_PRECISION_TOLERANCE = 0.05
# The gate's recall rule: a candidate may not lose more than this much recall (absolute) on the
# held-out split. Precision alone can be "won" by flagging almost nothing; this stops a model that
# became timid from being promoted because its few flags are right.
MAX_RECALL_DROP = 0.05


@dataclass(frozen=True, slots=True)
class LabelExample:
    """A moderator label in model input form (see `moderation.labels.export_labels`)."""

    text: str  # `scoring.training.model_text` of the labelled revision
    label: int  # 1 = scam
    group: str  # conversation id, else the submission id
    source: str = LABEL_SOURCE


def label_is_held_out(group: str, fraction: float = LABEL_HOLDOUT_FRACTION) -> bool:
    """Whether a label group belongs to the held-out part (by a hash of the group, never random)."""
    return stable_fraction("labels:" + group) < fraction


def split_labels(labels: Sequence[LabelExample]) -> tuple[list[Example], list[Example]]:
    """(train, held_out) training examples from labels, split by group."""
    train: list[Example] = []
    held: list[Example] = []
    for lab in labels:
        ex = Example(lab.text, lab.label, lab.source, group=f"label:{lab.group}")
        (held if label_is_held_out(lab.group) else train).append(ex)
    return train, held


def dev_holdout_rows(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The `dev` half of the fixtures' holdout corpus (the `report` half stays unseen)."""
    return [row for row in rows if holdout_half(row) == "dev"]


Predictor = Callable[[Sequence[str]], Sequence[float]]


def confusion_at(predict: Predictor, threshold: float, examples: Sequence[Example]) -> Confusion:
    """Confusion counts of a model flagging `probability >= threshold` on `examples`."""
    probabilities = predict([ex.text for ex in examples]) if examples else []
    tp = fp = tn = fn = 0
    for ex, p in zip(examples, probabilities, strict=True):
        flagged = p >= threshold
        if ex.label:
            tp, fn = (tp + 1, fn) if flagged else (tp, fn + 1)
        else:
            fp, tn = (fp + 1, tn) if flagged else (fp, tn + 1)
    return Confusion(tp=tp, fp=fp, tn=tn, fn=fn)


def evaluate_model(
    predict: Predictor, threshold: float, held_out: Mapping[str, Sequence[Example]]
) -> dict[str, Any]:
    """Figures of one model on each held-out part and on all of them together ("all")."""
    out: dict[str, Any] = {"threshold": threshold}
    everything: list[Example] = []
    for name, examples in held_out.items():
        out[name] = confusion_at(predict, threshold, examples).to_dict()
        everything.extend(examples)
    out["all"] = confusion_at(predict, threshold, everything).to_dict()
    return out


@dataclass(frozen=True)
class GateResult:
    passed: bool
    reasons: tuple[str, ...]
    precision_tolerance: float = DEFAULT_PRECISION_TOLERANCE  # the tolerance it was judged with

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "reasons": list(self.reasons),
            "precision_tolerance": self.precision_tolerance,
        }


def check_precision_tolerance(value: float) -> float:
    """`value` if it is a usable gate tolerance (in [0, `MAX_PRECISION_TOLERANCE`]), else ValueError."""
    if not 0.0 <= value <= MAX_PRECISION_TOLERANCE:
        raise ValueError(f"precision tolerance must be in [0, {MAX_PRECISION_TOLERANCE}], got {value}")
    return value


def promotion_gate(
    candidate: Mapping[str, Any],
    active: Mapping[str, Any] | None,
    precision_tolerance: float = DEFAULT_PRECISION_TOLERANCE,
) -> GateResult:
    """The promotion rule, on the "all" held-out figures of `evaluate_model`.

    Passes when (1) the candidate flags something (its precision is defined), (2) its precision at
    its threshold is >= the active model's precision at the active threshold minus
    `precision_tolerance` (0 by default: strictly not worse; an active model that flags nothing sets
    no precision bar), and (3) its recall is not more than `MAX_RECALL_DROP` below the active
    model's. No active model (`None`): only rule 1 applies. A tolerance outside
    [0, `MAX_PRECISION_TOLERANCE`] raises ValueError.
    """
    check_precision_tolerance(precision_tolerance)
    cand = candidate["all"]
    reasons: list[str] = []
    if cand["precision"] is None:
        return GateResult(False, ("the candidate flags nothing on the held-out split",))
    if active is not None:
        act = active["all"]
        if act["precision"] is not None and cand["precision"] < act["precision"] - precision_tolerance:
            allowed = f" by more than {precision_tolerance}" if precision_tolerance else ""
            reasons.append(f"precision {cand['precision']:.4f} below active {act['precision']:.4f}{allowed}")
        cand_recall = cand["recall"] or 0.0
        if act["recall"] is not None and cand_recall < act["recall"] - MAX_RECALL_DROP:
            reasons.append(
                f"recall {cand_recall:.4f} more than {MAX_RECALL_DROP:.2f} below active {act['recall']:.4f}"
            )
    verdict = "not worse than the active model"
    if precision_tolerance:
        verdict += f" (precision tolerance {precision_tolerance})"
    return GateResult(not reasons, tuple(reasons) or (verdict,), precision_tolerance)


@dataclass(frozen=True)
class LabelTraining:
    """The outcome of `train_with_labels`: parameters, training report and the held-out parts."""

    params: LinearParams
    report: TrainReport
    held_out: dict[str, list[Example]]
    n_fixtures: int
    n_label_train: int


def train_with_labels(
    fixture_train: Sequence[Example],
    fixture_dev: Sequence[Example],
    labels: Sequence[LabelExample],
    config: TrainConfig | None = None,
) -> LabelTraining:
    """Fit a TextModel on the fixtures' training corpus plus the training part of the labels.

    `fixture_dev` (the `dev` half of the fixtures' holdout, `dev_holdout_rows`) and the held-out
    labels are returned as the evaluation split, never trained on.
    """
    label_train, label_held = split_labels(labels)
    params, report = fit_linear("text", [*fixture_train, *label_train], config)
    held_out = {"labels_held_out": label_held, "fixtures_dev": list(fixture_dev)}
    return LabelTraining(params, report, held_out, len(fixture_train), len(label_train))


def comparison_table(candidate: Mapping[str, Any], active: Mapping[str, Any] | None) -> str:
    """A Markdown table of precision/recall/FPR of the candidate and the active model per part."""
    lines = [
        "| part | model | n | precision | recall | false positive rate |",
        "|---|---|---|---|---|---|",
    ]
    parts = [k for k in candidate if k != "threshold"]
    for part in parts:
        for name, figures in (("candidate", candidate), ("active", active)):
            if figures is None or part not in figures:
                continue
            row = figures[part]
            lines.append(
                f"| {part} | {name} | {row['n']} | {_pct(row['precision'])} | {_pct(row['recall'])}"
                f" | {_pct(row['false_positive_rate'])} |"
            )
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"
