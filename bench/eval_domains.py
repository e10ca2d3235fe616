"""DomainAnalyzer alone on the public dev data (../shared/data/dev) and the project's look-alike holdout.

Uses the project's one split of each data set: `--part training` is the training part of the public
sets (`scoring.training.is_training_part` on the registrable domain, as `vigie train` uses it) and the
"dev" half of fixtures/corpus/holdout/lookalike_domains.jsonl (`scoring.evaluation.holdout_half`):
errors there may be listed (`--show N`) to guide general fixes. `--part report` is the reserved report
part and the holdout's "report" half: aggregates only, `--show` is refused.
  (a) share of popular legitimate domains (top_domains_even_rank) flagged,
  (b) recall on phishing URLs/domains that name a protected brand (phishtank_2025_urls, blocklist_domains),
  (c) eth_phishing_domains: flagged share of scam vs not_scam rows,
  (d) the look-alike holdout: flagged share of scam vs legitimate rows,
  and the analyzer's cost per call. "Flagged" = at least one signal with weight >= --threshold.
  (`vigie evaluate` measures the whole Scorer; this isolates the analyzer and is fast.)

    .venv/bin/python bench/eval_domains.py [--data DIR] [--part training|report] [--plot out.png] [--show N]

The data is read, never copied into the repository. Without the directory the script says so and exits 0.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from scoring.domains import parse_url
from scoring.evaluation import holdout_half
from scoring.lookalike import DomainAnalyzer, DomainSignal, skeleton
from scoring.training import is_training_part, url_split_key

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "dev"
LOOKALIKES = (
    Path(__file__).resolve().parent.parent / "fixtures" / "corpus" / "holdout" / "lookalike_domains.jsonl"
)
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def rows(path: Path, part: str) -> Iterator[dict[str, str]]:
    """Rows of one public file in `part` ("training" or "report"), split by registrable domain."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            training = is_training_part(url_split_key(str(row["text"])))
            if training == (part == "training"):
                yield row


def lookalike_rows(part: str) -> Iterator[dict[str, str]]:
    """The look-alike holdout's "dev" half for the training part, its "report" half otherwise."""
    half = "dev" if part == "training" else "report"
    if LOOKALIKES.exists():
        with LOOKALIKES.open(encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                if holdout_half(row) == half:
                    yield row


def max_weight(signals: list[DomainSignal]) -> float:
    return max((s.weight for s in signals), default=0.0)


def brand_mention(analyzer: DomainAnalyzer, host: str) -> str | None:
    """The protected brand a host names (skeleton contains a token of 5+ characters), chosen WITHOUT
    the analyzer's own matching rules so that recall is not measured on what it already finds."""
    skel = skeleton(host.replace(".", "-"))
    for brand in analyzer.index.brands:
        for token in brand.tokens:
            flat = token.replace("-", "")
            if len(flat) >= 5 and skeleton(flat) in skel:
                return brand.name
    return None


def rate(hits: int, total: int) -> str:
    return f"{hits / total:7.2%}" if total else "    n/a"


def evaluate(data: Path, split: str, threshold: float, show: int, plot: Path | None) -> None:
    analyzer = DomainAnalyzer.default()
    analyzer.assess_url("warm.up")  # build lazy tables outside the timing

    # (a) popular legitimate domains
    top_weights: list[float] = []
    top_flagged: list[tuple[str, list[DomainSignal]]] = []
    started = time.perf_counter()
    for row in rows(data / "top_domains_even_rank.jsonl.gz", split):
        signals = analyzer.assess_url(row["text"])
        top_weights.append(max_weight(signals))
        if max_weight(signals) >= threshold:
            top_flagged.append((row["text"], signals))
    per_call_us = (time.perf_counter() - started) / max(1, len(top_weights)) * 1e6

    # (b) brand-related phishing
    brand_weights: dict[str, list[float]] = {}
    misses: list[str] = []
    own_domain = 0
    for name in ("phishtank_2025_urls", "blocklist_domains"):
        weights = brand_weights.setdefault(name, [])
        for row in rows(data / f"{name}.jsonl.gz", split):
            host = parse_url(row["text"]).host
            if not host or brand_mention(analyzer, host) is None:
                continue
            if analyzer.is_allowed(host):
                own_domain += 1  # phishing hosted on the brand's own domain: not a look-alike
                continue
            w = max_weight(analyzer.assess_url(row["text"]))
            weights.append(w)
            if w < threshold:
                misses.append(f"{name[:9]} {brand_mention(analyzer, host)!s:12s} {row['text']}")

    # (c) crypto phishing vs brand-like legitimate domains
    eth: dict[str, list[float]] = {"scam": [], "not_scam": []}
    for row in rows(data / "eth_phishing_domains.jsonl.gz", split):
        eth.setdefault(row["label"], []).append(max_weight(analyzer.assess_url(row["text"])))

    # (d) the project's look-alike holdout
    look: dict[str, list[float]] = {"scam": [], "not_scam": []}
    look_errors: list[str] = []
    for row in lookalike_rows(split):
        w = max_weight(analyzer.assess_url(row["text"]))
        look.setdefault(row["label"], []).append(w)
        if (w >= threshold) != (row["label"] == "scam"):
            look_errors.append(f"{row['label']:8s} {w:.2f} {row.get('technique')!s:24s} {row['text']}")

    print(f"DomainAnalyzer on the {split!r} part of {data} (flagged = a signal with weight >= {threshold})")
    print(f"{'set':48s} {'rows':>7s} {'flagged':>8s}")
    top_hits = sum(w >= threshold for w in top_weights)
    label = "(a) top_domains_even_rank (legitimate)"
    print(f"{label:48s} {len(top_weights):7d} {rate(top_hits, len(top_weights))}")
    for name, weights in brand_weights.items():
        label = f"(b) {name}, names a protected brand"
        print(f"{label:48s} {len(weights):7d} {rate(sum(w >= threshold for w in weights), len(weights))}")
    all_brand = [w for ws in brand_weights.values() for w in ws]
    brand_hits = sum(w >= threshold for w in all_brand)
    print(f"{'(b) both, recall':48s} {len(all_brand):7d} {rate(brand_hits, len(all_brand))}")
    print(f"{'    (skipped: hosted on the brand own domain)':48s} {own_domain:7d}")
    for label, weights in eth.items():
        name = f"(c) eth_phishing_domains {label}"
        print(f"{name:48s} {len(weights):7d} {rate(sum(w >= threshold for w in weights), len(weights))}")
    for label, weights in look.items():
        name = f"(d) lookalike holdout {label}"
        print(f"{name:48s} {len(weights):7d} {rate(sum(w >= threshold for w in weights), len(weights))}")
    print(f"cost: {per_call_us:.0f} µs per assess_url (mean over the top-domain rows, one core)")

    print("\nthreshold sweep: legitimate flagged vs brand recall")
    for t in THRESHOLDS:
        fp = sum(w >= t for w in top_weights) / max(1, len(top_weights))
        rec = sum(w >= t for w in all_brand) / max(1, len(all_brand))
        print(f"  >= {t:.1f}: top flagged {fp:7.2%}  brand recall {rec:7.2%}")

    if show:
        print(f"\nlegitimate domains flagged (first {show}):")
        for host, signals in top_flagged[:show]:
            best = max(signals, key=lambda s: s.weight)
            brand, technique = best.detail.get("brand"), best.detail["technique"]
            print(f"  {host:40s} {best.code} {best.weight:.2f} {brand} {technique}")
        print(f"\nbrand-related phishing missed (first {show}):")
        step = max(1, len(misses) // show)
        for text in misses[::step][:show]:
            print(f"  {text[:100]}")
        print("\nlook-alike holdout errors (dev half):")
        for text in look_errors[:show]:
            print(f"  {text[:110]}")

    if plot is not None:
        write_plot(plot, top_weights, all_brand)
        print(f"\nplot written to {plot}")


def write_plot(path: Path, legit: list[float], phishing: list[float]) -> None:
    """Brand recall against legitimate flagged share, one point per threshold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = [i / 100 for i in range(5, 100, 5)]
    fp = [sum(w >= t for w in legit) / max(1, len(legit)) for t in grid]
    rec = [sum(w >= t for w in phishing) / max(1, len(phishing)) for t in grid]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(fp, rec, marker="o")
    for t, x, y in zip(grid, fp, rec, strict=True):
        if round(t * 100) % 20 == 0:
            ax.annotate(f"{t:.1f}", (x, y), textcoords="offset points", xytext=(4, -10), fontsize=8)
    ax.set_xlabel("popular legitimate domains flagged")
    ax.set_ylabel("recall, brand look-alike phishing")
    ax.set_title("DomainAnalyzer: weight threshold sweep")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="directory of the public dev data")
    parser.add_argument("--part", choices=("training", "report"), default="training")
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--show", type=int, default=0, help="list N false positives and misses")
    parser.add_argument("--plot", type=Path, default=None, help="write a PNG of the threshold sweep")
    args = parser.parse_args(argv)
    if args.part == "report" and args.show:
        parser.error("--show lists errors: only on the training part (report parts are read in aggregate)")
    if not (args.data / "top_domains_even_rank.jsonl.gz").exists():
        print(f"public dev data not found under {args.data}: nothing to evaluate (pass --data DIR)")
        return 0
    evaluate(args.data, args.part, args.threshold, args.show, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
