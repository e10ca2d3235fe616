"""Errors of the shipped Scorer on the holdout DEV half and on the training corpus, with the reasons fired.

    python bench/dev_errors.py [--rules-only] [--lang fr] [--train] [--quiet] [--text-model F] [--rules F]
                               [--extra staged.jsonl]

Prints recall / honest FPR per language for the holdout "dev" half (scoring.evaluation.holdout_half) and
for fixtures/corpus/train, then each dev error (false negative or positive) with its text and reasons, so
that fixes target what GENERALLY fails. The "report" half is never read here: its rows are filtered out
before scoring, and only `vigie evaluate` reports it, in aggregate. `--rules-only` drops the text model
(the training-corpus figures with the model are in-sample and say little; rules alone are not).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.cli.scoring_commands import corpus_input, corpus_rows  # noqa: E402
from scoring.engine import Scorer  # noqa: E402
from scoring.evaluation import holdout_half  # noqa: E402
from scoring.types import ScoreResult, Verdict  # noqa: E402


def _score(scorer: Scorer, rows: Sequence[dict[str, Any]]) -> list[ScoreResult]:
    inputs = [corpus_input(r) for r in rows]
    out: list[ScoreResult] = []
    for start in range(0, len(inputs), 512):
        out += scorer.score_many(inputs[start : start + 512])
    return out


def report(name: str, scorer: Scorer, rows: list[dict[str, Any]], show: bool, lang: str | None) -> None:
    results = _score(scorer, rows)
    counts: dict[str, list[int]] = {}  # group -> [tp, fn, fp, tn]
    errors = []
    for row, result in zip(rows, results, strict=True):
        if row["label"] not in ("scam", "not_scam"):
            continue
        scam = row["label"] == "scam"
        flagged = result.verdict.rank >= Verdict.WARN.rank
        for group in ("all", str(row.get("lang") or "?")):
            c = counts.setdefault(group, [0, 0, 0, 0])
            c[0 if scam and flagged else 1 if scam else 2 if flagged else 3] += 1
        if scam != flagged and (lang is None or row.get("lang") == lang):
            errors.append((row, result))
    for group, (tp, fn, fp, tn) in sorted(counts.items()):
        recall = f"{tp / (tp + fn):.3f}" if tp + fn else "-"
        fpr = f"{fp / (fp + tn):.4f}" if fp + tn else "-"
        print(f"{name:8} {group:4} recall {recall} ({fn} FN/{tp + fn})  honest FPR {fpr} ({fp} FP/{fp + tn})")
    if not show:
        return
    for row, result in errors:
        kind = "FN" if row["label"] == "scam" else "FP"
        print(f"\n[{kind}] {row['id']} {row.get('lang')} {row.get('scenario')} {row.get('categories')}")
        print(f"    score {result.score:.2f} {result.verdict.value}: {str(row['text'])[:400]!r}")
        for reason in result.reasons:
            print(f"      - {reason.code} {reason.weight:.2f} {reason.evidence[:80]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules-only", action="store_true", help="score without the text model")
    parser.add_argument("--lang", default=None, help="list errors of this language only")
    parser.add_argument("--train", action="store_true", help="also list the training corpus errors")
    parser.add_argument("--quiet", action="store_true", help="figures only")
    parser.add_argument(
        "--text-model", default=None, help="a text model .skops to try instead of the shipped one"
    )
    parser.add_argument("--rules", default=None, help="a rule pack .toml to try instead of the shipped one")
    parser.add_argument(
        "--extra",
        type=Path,
        action="append",
        default=[],
        help="also report this JSONL set (e.g. a staged, not yet trained-on corpus file); repeatable",
    )
    args = parser.parse_args()
    scorer = Scorer.load(model_path=args.text_model, rules_path=args.rules)
    if args.rules_only:
        scorer = Scorer(scorer.pack, url_model=scorer.url_model, analyzer=scorer.analyzer)
    dev = [
        r
        for r in corpus_rows(ROOT / "fixtures" / "corpus" / "holdout")
        if r.get("kind") in ("message", "listing") and holdout_half(r) == "dev"
    ]
    report("dev", scorer, dev, not args.quiet, args.lang)
    train = corpus_rows(ROOT / "fixtures" / "corpus" / "train")
    report("train", scorer, train, args.train and not args.quiet, args.lang)
    for path in args.extra:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        report(path.stem[:8], scorer, rows, not args.quiet, args.lang)


if __name__ == "__main__":
    main()
