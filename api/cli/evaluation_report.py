"""`vigie evaluate`: measure the full Scorer against the TF-IDF baseline and write the report.

Data: the project's holdout corpus (never used for training or thresholds) and, when the public dev
data is present, the reserved *report parts* of the public sets (`scoring.training.is_training_part`
is false) plus public sets never used for training. Writes `summary.json`, `summary.md` and
`pr_curve.png` into the output directory and prints the Markdown.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.cli.scoring_commands import corpus_input, corpus_rows, public_file, read_jsonl
from scoring import evaluation as ev
from scoring.baseline import Baseline, baseline_input
from scoring.model import UrlModel
from scoring.training import PUBLIC_TEXT_SETS, is_training_part, url_split_key
from scoring.types import Kind, ScoreInput, ScoreResult, Verdict

Echo = Callable[[str], None]

# Public text sets to report on; the ones also in PUBLIC_TEXT_SETS contribute only their report part.
REPORT_TEXT_SETS = (
    "mendeley_smishing",
    "spamhunter_labelled_en",
    "nazario_phishing_email",
    "spamassassin_sample",
    "uci_sms_spam",
    "uci_sms_machine_translated_fr",
)
TARGETS = {
    "fr_marketplace_recall": 0.95,
    "fr_honest_fpr": 0.02,
    "lookalike_recall": 0.95,
    "popular_domains_flagged": 0.005,
    "phishing_url_recall": 0.80,
}


@dataclass(frozen=True)
class Item:
    """One evaluation input with its truth, in both the Scorer's and the baseline's form."""

    score_input: ScoreInput
    baseline_text: str
    label: int  # 1 scam, 0 legitimate, -1 unwanted-but-not-scam (spam: reported apart)
    source: str
    lang: str | None
    categories: tuple[str, ...] = ()


def _flagged(result: ScoreResult) -> bool:
    return result.verdict.rank >= Verdict.WARN.rank


def _content_item(row: dict[str, Any], source: str, label: int) -> Item:
    item = corpus_input(row)
    return Item(
        item,
        baseline_input(item.text, item.title),
        label,
        source,
        row.get("lang"),
        tuple(row.get("categories") or ()),
    )


def _domain_item(row: dict[str, Any], source: str, label: int) -> Item:
    # A link or domain arrives inside a message; score it as the whole message.
    text = str(row["text"])
    return Item(ScoreInput(id=str(row["id"]), kind=Kind.MESSAGE, text=text), text, label, source, None)


_LABELS = {"scam": 1, "not_scam": 0, "spam": -1}


def holdout_items(corpus_dir: Path, half: str | None = None) -> list[Item]:
    """Holdout corpus items; `half` ("dev" | "report", see `scoring.evaluation.holdout_half`) keeps one."""
    holdout = corpus_dir / "holdout"
    items = []
    for row in corpus_rows(holdout) if holdout.is_dir() else []:
        if half is not None and ev.holdout_half(row) != half:
            continue
        items.append(_content_item(row, f"holdout:{row.get('kind')}", _LABELS[str(row["label"])]))
    return items


def public_text_items(public_dir: Path | None) -> list[Item]:
    items = []
    for dataset in REPORT_TEXT_SETS:
        path = public_file(public_dir, dataset)
        if path is None:
            continue
        for row in read_jsonl(path):
            if dataset in PUBLIC_TEXT_SETS and is_training_part(str(row["id"])):
                continue
            items.append(_content_item({**row, "kind": "message"}, dataset, _LABELS[str(row["label"])]))
    return items


def baseline_training(corpus_dir: Path, public_dir: Path | None) -> tuple[list[str], list[int]]:
    """The same rows the TextModel trains on, as raw text for the baseline."""

    texts: list[str] = []
    labels: list[int] = []
    train_dir = corpus_dir / "train"
    for row in corpus_rows(train_dir) if train_dir.is_dir() else []:
        title = row.get("title") if row.get("kind") == "listing" else None
        texts.append(baseline_input(str(row["text"]), title))
        labels.append(1 if row["label"] == "scam" else 0)
    for dataset, mapping in PUBLIC_TEXT_SETS.items():
        path = public_file(public_dir, dataset)
        for row in read_jsonl(path) if path is not None else []:
            label = mapping.get(str(row["label"]))
            if label is not None and is_training_part(str(row["id"])):
                texts.append(str(row["text"]))
                labels.append(label)
    return texts, labels


def _score(scorer: Any, items: Sequence[Item], chunk: int = 512) -> list[ScoreResult]:
    out: list[ScoreResult] = []
    for start in range(0, len(items), chunk):
        out += scorer.score_many([it.score_input for it in items[start : start + chunk]])
    return out


def _rows(
    items: Sequence[Item], flags: Sequence[bool], scores: Sequence[float], preds: Sequence[tuple[str, ...]]
):
    return [
        ev.EvalRow(it.label, f, s, it.source, it.lang, it.categories, p)
        for it, f, s, p in zip(items, flags, scores, preds, strict=True)
        if it.label >= 0
    ]


def _table(
    title: str, systems: dict[str, list[ev.EvalRow]], by: Callable[..., dict[str, ev.Confusion]]
) -> str:
    return ev.markdown_table(title, {name: by(rows) for name, rows in systems.items()})


def run_evaluation(output_dir: Path, corpus_dir: Path, public_dir: Path | None, echo: Echo) -> dict[str, Any]:
    """Evaluate, write the report files into `output_dir`, print the Markdown; returns the summary."""
    from scoring.engine import Scorer

    output_dir.mkdir(parents=True, exist_ok=True)
    md: list[str] = ["# Vigie detection quality", ""]
    if public_dir is None:
        md.append("Public dev data: **absent** (or --no-public): project holdout only.\n")
    else:
        md.append(f"Public dev data: `{public_dir}` — reserved report parts only.\n")

    scorer = Scorer.load()
    md.append(
        f"Scorer: model `{scorer.model_version}`, rules `{scorer.rules_version}`; flagged = verdict ≥ warn."
    )
    md.append("Baseline: word TF-IDF + LogisticRegression on raw text, same training data, threshold 0.5.\n")
    texts, labels = baseline_training(corpus_dir, public_dir)
    baseline = Baseline.fit(texts, labels)

    # The holdout is reported in its two fixed halves: errors of "holdout-dev" may guide general fixes,
    # "holdout-report" is only ever read in aggregate (the targets are measured on it).
    public = public_text_items(public_dir)
    summary: dict[str, Any] = {"public_data": str(public_dir) if public_dir else None, "sets": {}}
    all_rows: dict[str, dict[str, list[ev.EvalRow]]] = {}
    for set_name, items in (
        ("holdout-dev", holdout_items(corpus_dir, "dev")),
        ("holdout-report", holdout_items(corpus_dir, "report")),
        ("public_report", public),
    ):
        if not items:
            continue
        results = _score(scorer, items)
        b_scores = baseline.predict_many([it.baseline_text for it in items])
        systems = {
            "vigie": _rows(
                items,
                [_flagged(r) for r in results],
                [r.score for r in results],
                [tuple(c.value for c in r.categories) for r in results],
            ),
            "baseline": _rows(
                items, [s >= baseline.threshold for s in b_scores], b_scores, [()] * len(items)
            ),
        }
        all_rows[set_name] = systems
        md.append(f"## {set_name} ({len(systems['vigie'])} labelled items)\n")
        md.append(
            _table("Overall", {k: v for k, v in systems.items()}, lambda rows: {"all": ev.confusion(rows)})
        )
        md.append(_table("By language", systems, ev.by_language))
        md.append(_table("By source", systems, ev.by_source))
        md.append(
            _table(
                "By scam category (recall; FPR over the same sources' legitimate items)",
                systems,
                ev.by_category,
            )
        )
        spam = [(it, r) for it, r in zip(items, results, strict=True) if it.label < 0]
        set_summary: dict[str, Any] = {
            name: {
                "overall": ev.confusion(rows).to_dict(),
                "by_language": {k: c.to_dict() for k, c in ev.by_language(rows).items()},
                "by_source": {k: c.to_dict() for k, c in ev.by_source(rows).items()},
                "by_category": {k: c.to_dict() for k, c in ev.by_category(rows).items()},
                "average_precision": ev.pr_curve(rows).average_precision,
            }
            for name, rows in systems.items()
        }
        set_summary["vigie"]["category_attribution"] = ev.category_attribution(systems["vigie"])
        if spam:
            rate = sum(_flagged(r) for _, r in spam) / len(spam)
            set_summary["spam_flagged_rate_vigie"] = round(rate, 4)
            md.append(
                f"Unwanted-but-not-scam (`spam`) rows flagged by Vigie: {100 * rate:.1f}% of {len(spam)}.\n"
            )
        summary["sets"][set_name] = set_summary

    summary["domains"] = _domain_report(scorer, UrlModel.load(), corpus_dir, public_dir, md)
    summary["targets"] = _targets(all_rows.get("holdout-report", {}).get("vigie", []), summary["domains"], md)
    _plot(all_rows, output_dir / "pr_curve.png")
    md.append("PR curves: `pr_curve.png`.")
    text = "\n".join(md) + "\n"
    (output_dir / "summary.md").write_text(text, encoding="utf-8")
    (output_dir / "summary.json").write_text(
        json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    echo(text)
    echo(f"wrote {output_dir / 'summary.md'}, {output_dir / 'summary.json'}, {output_dir / 'pr_curve.png'}")
    return summary


def _rate(flags: Sequence[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def _domain_report(
    scorer: Any, url_model: Any, corpus_dir: Path, public_dir: Path | None, md: list[str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    md.append("## Domains and links\n")
    md.append("| set | n | Vigie flagged | UrlModel alone flagged |")
    md.append("|---|---|---|---|")

    def measure(name: str, items: list[Item]) -> None:
        if not items:
            md.append(f"| {name} | 0 (absent) | – | – |")
            return
        flags = [_flagged(r) for r in _score(scorer, items)]
        url_flags = [
            p >= url_model.threshold for p in url_model.predict_many([it.baseline_text for it in items])
        ]
        out[name] = {"n": len(items), "vigie_flagged": _rate(flags), "url_model_flagged": _rate(url_flags)}
        shown = [f"{100 * (_rate(f) or 0):.2f}%" for f in (flags, url_flags)]
        md.append(f"| {name} | {len(items)} | {shown[0]} | {shown[1]} |")

    lookalike = corpus_dir / "holdout" / "lookalike_domains.jsonl"
    rows = list(read_jsonl(lookalike)) if lookalike.exists() else []
    measure(
        "lookalike_domains (scam)", [_domain_item(r, "lookalike", 1) for r in rows if r["label"] == "scam"]
    )
    measure(
        "lookalike_domains (legitimate)",
        [_domain_item(r, "lookalike", 0) for r in rows if r["label"] != "scam"],
    )
    popular: set[str] = set()
    top = public_file(public_dir, "top_domains_even_rank")
    top_rows = list(read_jsonl(top)) if top is not None else []
    popular = {url_split_key(str(r["text"])) for r in top_rows}
    measure(
        "popular domains (top_domains report part)",
        [_domain_item(r, "top", 0) for r in top_rows if not is_training_part(url_split_key(str(r["text"])))],
    )
    phish = public_file(public_dir, "phishtank_2025_urls")
    phish_items = [
        _domain_item(r, "phishtank", 1)
        for r in (read_jsonl(phish) if phish is not None else [])
        if not is_training_part(url_split_key(str(r["text"])))
    ]
    measure("phishing URLs (phishtank report part)", phish_items)
    measure(
        "phishing URLs on their own domain (not a popular platform)",
        [it for it in phish_items if url_split_key(it.baseline_text) not in popular],
    )
    md.append("")
    return out


def _targets(holdout_rows: Sequence[ev.EvalRow], domains: dict[str, Any], md: list[str]) -> dict[str, Any]:
    fr = [r for r in holdout_rows if r.lang == "fr"]
    fr_conf = ev.confusion(fr)
    measured = {
        "fr_marketplace_recall": fr_conf.recall,
        "fr_honest_fpr": fr_conf.false_positive_rate,
        "lookalike_recall": domains.get("lookalike_domains (scam)", {}).get("vigie_flagged"),
        "popular_domains_flagged": domains.get("popular domains (top_domains report part)", {}).get(
            "vigie_flagged"
        ),
        "phishing_url_recall": domains.get("phishing URLs (phishtank report part)", {}).get("vigie_flagged"),
    }
    md.append("## Targets (holdout-report half for the French targets)\n")
    md.append("| target | goal | measured | met |")
    md.append("|---|---|---|---|")
    out = {}
    for name, goal in TARGETS.items():
        value = measured[name]
        lower_is_better = name in ("fr_honest_fpr", "popular_domains_flagged")
        met = None if value is None else (value <= goal if lower_is_better else value >= goal)
        out[name] = {"goal": goal, "measured": None if value is None else round(value, 4), "met": met}
        shown = "not measured (data absent)" if value is None else f"{100 * value:.2f}%"
        verdict = "–" if met is None else ("yes" if met else "NO")
        sign = "≤" if lower_is_better else "≥"
        md.append(f"| {name} | {sign} {100 * goal:g}% | {shown} | {verdict} |")
    md.append("")
    return out


def _plot(all_rows: dict[str, dict[str, list[ev.EvalRow]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, max(len(all_rows), 1), figsize=(6 * max(len(all_rows), 1), 5), squeeze=False)
    for ax, (set_name, systems) in zip(axes[0], all_rows.items(), strict=False):
        for name, rows in systems.items():
            curve = ev.pr_curve(rows)
            if curve.average_precision is None:
                continue
            ax.plot(curve.recall, curve.precision, label=f"{name} (AP {curve.average_precision:.3f})")
            point = ev.confusion(rows)
            if point.recall is not None and point.precision is not None:
                ax.scatter([point.recall], [point.precision], marker="o")
        ax.set_title(f"{set_name}: precision–recall (dot = operating point)")
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.set_xlim(0, 1.01)
        ax.set_ylim(0, 1.01)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="lower left")
        else:  # a set with a single class has no curve
            ax.text(0.5, 0.5, "no curve: one class only", ha="center", transform=ax.transAxes)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
