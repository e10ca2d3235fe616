"""Choose the fusion parameters and warn thresholds by cross-validation on the TRAINING corpus.

    python bench/tune_operating_point.py [--max-fpr 0.01] [--no-public]

Trains K=5 text models on 4/5 of fixtures/corpus/train (folds by conversation and near-duplicate script;
public training parts always on the training side when ../shared/data/dev exists), scores the held-out
fifth, replays fusion + policy over a grid of settings (scoring/operating_point.py) and prints the best
settings under the honest false-positive budget. The holdout corpus is never read here.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.cli.scoring_commands import (  # noqa: E402
    DEFAULT_PUBLIC_DATA,
    corpus_input,
    corpus_rows,
    public_file,
    read_jsonl,
)
from scoring import operating_point as op  # noqa: E402
from scoring import training  # noqa: E402
from scoring.engine import Scorer  # noqa: E402
from scoring.lookalike import DomainAnalyzer  # noqa: E402
from scoring.model import UrlModel  # noqa: E402
from scoring.rulepack import load_rulepack  # noqa: E402
from scoring.types import Kind  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-fpr", type=float, default=0.01)
    parser.add_argument("--no-public", action="store_true")
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()

    rows = corpus_rows(ROOT / "fixtures" / "corpus" / "train")
    extra: list[training.Example] = []
    if not args.no_public:
        for dataset in training.PUBLIC_TEXT_SETS:
            path = public_file(DEFAULT_PUBLIC_DATA, dataset)
            if path is not None:
                extra += training.public_text_examples(dataset, read_jsonl(path))
    print(f"training rows: {len(rows)}; public training examples: {len(extra)}")
    # The K model fits dominate the run time; cache them by the exact inputs and training code.
    digest = hashlib.sha256()
    for part in (json.dumps(rows, sort_keys=True), *(f"{e.text}|{e.label}|{e.source}" for e in extra)):
        digest.update(part.encode("utf-8"))
    for code in ("scoring/training.py", "scoring/model.py", "scoring/operating_point.py"):
        digest.update((ROOT / code).read_bytes())
    cache = ROOT / "var" / "tune" / f"oof-{digest.hexdigest()[:16]}.npy"
    t0 = time.perf_counter()
    if cache.exists():
        probs = np.load(cache)
    else:
        probs = op.out_of_fold_probabilities(rows, extra)
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, probs)
    print(f"out-of-fold probabilities in {time.perf_counter() - t0:.1f}s ({cache.name})")

    pack = load_rulepack()
    scorer = Scorer(pack, url_model=UrlModel.load(), analyzer=DomainAnalyzer.default())
    inputs = [corpus_input(r) for r in rows]
    labels = [1 if r["label"] == "scam" else 0 for r in rows]
    samples = op.build_samples(scorer, inputs, labels, probs)
    current = op.Setting(
        pack.fusion.model_weight,
        pack.fusion.model_only_min_p,
        pack.fusion.model_support_min_rule,
        pack.thresholds[Kind.MESSAGE].warn,
        pack.thresholds[Kind.LISTING].warn,
    )
    rules_only = op.Setting(0.0, 1.01, 0.0, current.warn_message, current.warn_listing)
    outcomes = op.search(samples, pack)
    head = f"{'weight':>7}{'only_p':>8}{'support':>8}{'warn_m':>7}{'warn_l':>7}{'recall':>8}{'FPR':>7}"
    head += f"{'FR R':>8}{'FR FPR':>8}"

    def line(o: op.Outcome, tag: str = "") -> str:
        s = o.setting
        fr_r = f"{100 * o.recall_fr:.1f}%" if o.recall_fr is not None else "-"
        fr_f = f"{100 * o.fpr_fr:.1f}%" if o.fpr_fr is not None else "-"
        return (
            f"{s.model_weight:>7.2f}{s.model_only_min_p:>8.2f}{s.model_support_min_rule:>8.2f}"
            f"{s.warn_message:>7.2f}{s.warn_listing:>7.2f}{100 * o.recall:>7.1f}%{100 * o.fpr:>6.1f}%"
            f"{fr_r:>8}{fr_f:>8}  {tag}"
        )

    print("\nout-of-fold (train corpus, 5 folds by conversation and near-duplicate script)")
    print(head)
    print(line(op.evaluate(samples, pack, rules_only), "rules only"))
    print(line(op.evaluate(samples, pack, current), "current pack"))
    ok = sorted(
        (o for o in outcomes if max(o.fpr, o.fpr_fr or 0.0) <= args.max_fpr),
        key=lambda o: (-(o.recall_fr or 0.0), -o.recall, o.fpr),
    )
    for o in ok[: args.top]:
        print(line(o))
    print("\nmodel-only bar alone (other parameters as chosen below)")
    chosen = op.best(outcomes, args.max_fpr)
    if chosen is not None:
        for only_p in op.DEFAULT_GRID["model_only_min_p"]:
            alt = op.Setting(**{**_fields(chosen.setting), "model_only_min_p": only_p})
            print(line(op.evaluate(samples, pack, alt)))
        print()
    print(line(chosen, f"CHOSEN (max FPR {args.max_fpr:.1%})") if chosen else "no setting within budget")


def _fields(setting: op.Setting) -> dict[str, float]:
    return {name: getattr(setting, name) for name in op.Setting.__slots__}


if __name__ == "__main__":
    main()
