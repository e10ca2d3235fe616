"""Choose [fusion] url_model_min_p / url_model_weight from out-of-fold URL-model probabilities.

Training side only: the URL examples are built as `vigie train` builds them (training parts of the
public URL sets + the fixtures' links), a 5-fold group CV (by registrable domain, same folds, seed and
calibration as `scoring.training.fit_linear`) gives every training host a probability from a model that
never saw it, and the full Scorer (rules, domain analyzer, text model) is replayed over the training-part
rows of phishtank_2025_urls (one row per URL) and top_domains_even_rank with those probabilities for
each (min_p, weight) of a grid. Prints recall / popular-domain flagged rate per setting; the report parts
are never read.

    .venv/bin/python bench/tune_url_fusion.py [--data DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from api.cli.scoring_commands import (
    DEFAULT_CORPUS,
    DEFAULT_PUBLIC_DATA,
    corpus_rows,
    read_jsonl,
    url_training_examples,
)
from scoring import training
from scoring.detectors import detect_field, has_prose
from scoring.engine import Scorer
from scoring.fusion import fuse
from scoring.model import FEATURE_SCHEMAS, UrlModel, canonical_host, count_matrix, tfidf_rows
from scoring.policy import decide
from scoring.types import Kind, ScoreInput, Verdict

MIN_PS = (0.5, 0.6, 0.7, 0.75, 0.80, 0.85, 0.88, 0.90, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99)
WEIGHTS = (0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6)


def url_examples(public: Path) -> list[training.Example]:
    """The UrlModel training examples, as `vigie train` builds them."""
    examples, _ = url_training_examples(corpus_rows(DEFAULT_CORPUS / "train"), public)
    return examples


def out_of_fold(
    examples: list[training.Example], config: training.TrainConfig
) -> tuple[dict[str, float], float]:
    """host -> calibrated out-of-fold P(phishing), with fit_linear's folds, solver and calibration; and
    the operating threshold `vigie train` would write (its out-of-fold popular-domain rate)."""
    analyzer = FEATURE_SCHEMAS["url"][1]
    y = np.asarray([ex.label for ex in examples])
    w = np.asarray([ex.weight for ex in examples])
    counts = count_matrix([ex.text for ex in examples], analyzer, config.n_bits)
    active, idf_full, _ = training._idf(counts, len(examples))
    x = tfidf_rows(counts, idf_full)[:, active]
    groups = [ex.group or f"#{i}" for i, ex in enumerate(examples)]
    oof = np.zeros(len(y))
    folds = StratifiedGroupKFold(n_splits=config.folds, shuffle=True, random_state=config.seed)
    for train_idx, test_idx in folds.split(np.zeros(len(y)), y, groups):
        clf = training._classifier(config).fit(x[train_idx], y[train_idx], sample_weight=w[train_idx])
        oof[test_idx] = clf.decision_function(x[test_idx])
    a, b = training._platt(oof, y, w, config.seed)
    proba = 1.0 / (1.0 + np.exp(a * oof + b))
    in_rate = np.asarray([config.rate_source in (None, ex.source) or ex.label == 1 for ex in examples])
    assert config.max_negative_rate is not None
    threshold = training._threshold_for_rate(proba[in_rate], y[in_rate], config.max_negative_rate)
    return {ex.text: float(p) for ex, p in zip(examples, proba, strict=True)}, threshold


class OofUrlModel:
    """Answers with the out-of-fold probability of a host; the shipped model for hosts never trained on."""

    def __init__(self, oof: dict[str, float]) -> None:
        self.oof = oof
        self.fallback = UrlModel.load()
        self.version = "oof"

    def predict_many(self, urls: list[str]) -> list[float]:
        out = []
        for url in urls:
            p = self.oof.get(canonical_host(url))
            out.append(p if p is not None else self.fallback.predict_many([url])[0])
        return out


def replay(scorer: Scorer, texts: list[str]) -> list[tuple[list, float | None, bool, float, bool, bool]]:
    """Per row: reasons without the URL-model one, text-model p, denied, URL-model p (0 if none),
    whether the text has something to anchor a model-only verdict on (the Scorer allows it otherwise),
    and whether it has prose (detectors.has_prose: a bare link holds the model alone to a higher bar)."""
    out = []
    for start in range(0, len(texts), 512):
        items = [
            ScoreInput(id=str(i), kind=Kind.MESSAGE, text=t) for i, t in enumerate(texts[start : start + 512])
        ]
        ctxs_all = [scorer._contexts(it) for it in items]
        ps = scorer._text_probabilities(items, ctxs_all)
        url_probs = scorer._url_probabilities(ctxs_all)
        for ctxs, p in zip(ctxs_all, ps, strict=True):
            ctxs = [dataclasses.replace(c, url_probs=url_probs) for c in ctxs]
            reasons = [r for c in ctxs for r in detect_field(c)]
            url_p = max(
                (r.detail["probability"] for r in reasons if r.code == "link.model_phishing"), default=0.0
            )
            kept = [r for r in reasons if r.code != "link.model_phishing"]
            anchor = scorer._model_reason(ctxs, p or 0.0) is not None
            prose = any(has_prose(c) for c in ctxs)
            out.append((kept, p, scorer._denied(ctxs, p), url_p, anchor, prose))
    return out


def flagged_share(scorer: Scorer, rows: list, min_p: float, weight: float) -> float:
    return sum(flags(scorer, rows, min_p, weight)) / max(1, len(rows))


def per_site(flagged: list[bool], sites: list[str]) -> float:
    """Recall averaged over registrable domains: a campaign of 1,000 URLs on one site counts once."""
    by_site: dict[str, list[bool]] = {}
    for flag, site in zip(flagged, sites, strict=True):
        by_site.setdefault(site, []).append(flag)
    return sum(sum(v) / len(v) for v in by_site.values()) / max(1, len(by_site))


def flags(scorer: Scorer, rows: list, min_p: float, weight: float) -> list[bool]:
    from scoring.types import Category, Reason

    params = scorer.pack.fusion
    out = []
    for kept, p, denied, url_p, anchor, prose in rows:
        reasons = kept
        if url_p >= min_p:
            reasons = [
                *kept,
                Reason("link.model_phishing", Category.PHISHING_LINK, min(1.0, weight * url_p), "", (0, 1)),
            ]
        fused = fuse(reasons, p, params, 1.0, denied=denied, prose=prose)
        flagged = decide(fused, Kind.MESSAGE, scorer.pack).rank >= Verdict.WARN.rank
        # As Scorer._result: a verdict with no span in the text to show is dropped unless anchored.
        out.append(bool(flagged and (anchor or any(r.span is not None for r in reasons))))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_PUBLIC_DATA)
    parser.add_argument(
        "--misses",
        type=Path,
        default=None,
        help="write the missed training-part phishing URLs (shipped setting)",
    )
    args = parser.parse_args(argv)
    if not (args.data / "phishtank_2025_urls.jsonl.gz").exists():
        print(f"public dev data not found under {args.data}: nothing to tune")
        return 0
    config = training.TrainConfig(
        n_bits=20, c=16.0, max_negative_rate=0.002, rate_source="top_domains_even_rank"
    )
    examples = url_examples(args.data)
    oof, threshold = out_of_fold(examples, config)
    print(f"out-of-fold probabilities for {len(oof)} training hosts; model threshold {threshold:.4f}")
    base = Scorer.load()
    # min_p 0 and weight 1: every URL-model probability shows up as a reason, to be re-weighted below.
    fusion = dataclasses.replace(base.pack.fusion, url_model_min_p=0.0, url_model_weight=1.0)
    scorer = Scorer(
        dataclasses.replace(base.pack, fusion=fusion),
        text_model=base.text_model,
        url_model=OofUrlModel(oof),
        analyzer=base.links.analyzer,
    )
    sets = {}
    sites: list[str] = []
    for name, label in (("phishtank_2025_urls", "scam"), ("top_domains_even_rank", "not_scam")):
        texts = [
            str(r["text"])
            for r in read_jsonl(args.data / f"{name}.jsonl.gz")
            if r["label"] == label and training.is_training_part(training.url_split_key(str(r["text"])))
        ]
        sets[name] = replay(scorer, texts)
        if label == "scam":
            sites = [training.url_split_key(t) for t in texts]
        if args.misses is not None and label == "scam":
            shipped = base.pack.fusion
            with args.misses.open("w", encoding="utf-8") as out:
                for text, row in zip(texts, sets[name], strict=True):
                    if not flagged_share(scorer, [row], shipped.url_model_min_p, shipped.url_model_weight):
                        codes = sorted({f"{r.code}:{r.weight:.2f}" for r in row[0]})
                        out.write(f"{row[3]:.3f}\t{text[:160]}\t{' '.join(codes)}\n")
        print(f"{name}: {len(texts)} training-part rows replayed")
    print(f"\n{'min_p':>7s} {'weight':>6s} {'phish recall':>13s} {'per site':>9s} {'popular flagged':>16s}")
    # The model's own threshold moves with every retraining: it is always on the grid.
    min_ps = sorted({*MIN_PS, round(threshold, 4)})
    for min_p, weight in [(2.0, 0.0)] + [(m, w) for m in min_ps for w in WEIGHTS]:
        phish = flags(scorer, sets["phishtank_2025_urls"], min_p, weight)
        fp = flagged_share(scorer, sets["top_domains_even_rank"], min_p, weight)
        shown = "(none)" if min_p > 1 else f"{min_p:.4f}"
        recall = sum(phish) / max(1, len(phish))
        print(f"{shown:>7s} {weight:6.2f} {recall:13.2%} {per_site(phish, sites):9.2%} {fp:16.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
