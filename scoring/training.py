"""Training of the hashed linear models: pure functions over in-memory records.

`vigie train` (api/cli/scoring_commands.py) reads the files and writes the artifacts; everything here
takes values and returns values, so a test can train a tiny model in milliseconds. Same records and
settings give the same parameters: folds, solvers and splits are all seeded or hash-based.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold

from scoring.model import FEATURE_SCHEMAS, LinearParams, canonical_host, count_matrix, host_parts, tfidf_rows

SEED = 20240611
# Share of each public data set used for training; the rest is reserved for `vigie evaluate` to report on.
PUBLIC_TRAIN_FRACTION = 0.6


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled training input, already in the model's input form (normalised text, or a URL)."""

    text: str
    label: int  # 1 = scam / phishing, 0 = legitimate
    source: str  # provenance, e.g. "fixtures" or "mendeley_smishing"
    weight: float = 1.0
    lang: str | None = None
    # Examples sharing a group (a conversation, a registrable domain) always fall in the same fold, so
    # out-of-fold scores, hence calibration and thresholds, are not flattered by near-duplicates.
    group: str | None = None


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters; defaults are the shipped ones."""

    n_bits: int = 20
    c: float = 16.0  # inverse L2 strength of the logistic regression (chosen on out-of-fold scores)
    folds: int = 5  # cross-validation folds that provide out-of-fold margins for calibration
    seed: int = SEED
    # Operating point: the calibrated probability above which the model calls an input a scam. When
    # `max_negative_rate` is set, the threshold is instead the lowest one keeping the out-of-fold false
    # positive rate on legitimate inputs at or below it (UrlModel: popular domains ≤ 0.5%).
    threshold: float = 0.5
    max_negative_rate: float | None = None
    # Legitimate examples the rate is measured on (a source name); None = all legitimate examples. The
    # UrlModel uses the popular-domain list alone: augmented sub-domains and allow-lists are easier.
    rate_source: str | None = None


@dataclass(frozen=True)
class TrainReport:
    """What happened during training, for the metadata file and the command's output."""

    n_examples: int
    n_positive: int
    per_source: dict[str, dict[str, int]]
    out_of_fold: dict[str, float] = field(default_factory=dict)
    threshold: float = 0.5

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_examples": self.n_examples,
            "n_positive": self.n_positive,
            "per_source": self.per_source,
            "out_of_fold": self.out_of_fold,
            "threshold": self.threshold,
        }


def stable_fraction(key: str) -> float:
    """A deterministic number in [0, 1) for `key` (same on every machine and Python run)."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def is_training_part(key: str, fraction: float = PUBLIC_TRAIN_FRACTION) -> bool:
    """Whether a public row belongs to the training part (else to the reserved report part).

    `key` is the row id for texts; for URLs and domains it is the registrable domain (`url_split_key`),
    so that one phishing site never sits on both sides and recall is measured on unseen sites.
    """
    return stable_fraction(key) < fraction


def url_split_key(url_or_domain: str) -> str:
    """The grouping key of a URL/domain for the train/report split: its registrable domain."""
    host = canonical_host(url_or_domain)
    _, label, suffix = host_parts(host)
    return f"{label}.{suffix}" if suffix else host


def model_text(text: str, title: str | None = None) -> str:
    """The TextModel input for raw content: `normalize(title) + "\\n" + normalize(text)` (no title: text)."""
    from scoring.normalize import normalize

    body = normalize(text).text
    if title:
        return normalize(title).text + "\n" + body
    return body


def summarize(examples: Sequence[Example]) -> dict[str, dict[str, int]]:
    """Per-source counts of positives and negatives (the training data summary of the metadata)."""
    counts: dict[str, Counter[str]] = {}
    for ex in examples:
        counts.setdefault(ex.source, Counter())["scam" if ex.label else "not_scam"] += 1
    return {src: dict(sorted(c.items())) for src, c in sorted(counts.items())}


def balance_sources(examples: Sequence[Example], anchor: str, max_share: float) -> list[Example]:
    """Reweight so that sources other than `anchor` weigh at most `max_share` of the anchor's total.

    The project's own French marketplace corpus is the anchor; large English public sets would otherwise
    drown it and teach the model SMS-spam vocabulary rather than marketplace scams.
    """
    anchor_total = sum(ex.weight for ex in examples if ex.source == anchor)
    other_total = sum(ex.weight for ex in examples if ex.source != anchor)
    if anchor_total == 0 or other_total == 0 or other_total <= max_share * anchor_total:
        return list(examples)
    factor = max_share * anchor_total / other_total
    return [
        ex if ex.source == anchor else dataclasses.replace(ex, weight=ex.weight * factor) for ex in examples
    ]


def _idf(counts: Any, n_docs: int) -> tuple[np.ndarray, np.ndarray, float]:
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    active = np.flatnonzero(df).astype(np.int64)
    # Smoothed IDF as in sklearn's TfidfTransformer(smooth_idf=True).
    idf_full = np.log((1.0 + n_docs) / (1.0 + df)) + 1.0
    default_idf = math.log(1.0 + n_docs) + 1.0
    return active, idf_full, default_idf


def _classifier(config: TrainConfig) -> LogisticRegression:
    return LogisticRegression(C=config.c, class_weight="balanced", max_iter=3000, random_state=config.seed)


def _platt(margins: np.ndarray, labels: np.ndarray, weights: np.ndarray, seed: int) -> tuple[float, float]:
    """Platt scaling fitted on out-of-fold margins; returns (a, b) for P = 1 / (1 + exp(a·m + b)).

    Weighted like the training examples, so that many easy public rows (down-weighted by
    `balance_sources`) do not make the probabilities overconfident on marketplace text.
    """
    lr = LogisticRegression(C=1e4, max_iter=1000, random_state=seed)
    lr.fit(margins.reshape(-1, 1), labels, sample_weight=weights)
    return -float(lr.coef_[0, 0]), -float(lr.intercept_[0])


def _threshold_for_rate(probas: np.ndarray, labels: np.ndarray, max_rate: float) -> float:
    negatives = np.sort(probas[labels == 0])
    if negatives.size == 0:
        return 0.5
    allowed = math.floor(max_rate * negatives.size)
    # Flagged means proba >= threshold: put the threshold just above the (allowed+1)-th highest negative.
    cut = negatives[negatives.size - allowed - 1]
    return float(np.nextafter(cut, 1.0))


def _rates(flagged: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    out = {}
    if (labels == 1).any():
        out["recall"] = round(float(flagged[labels == 1].mean()), 4)
    if (labels == 0).any():
        out["false_positive_rate"] = round(float(flagged[labels == 0].mean()), 4)
    return out


def fit_linear(
    kind: str, examples: Sequence[Example], config: TrainConfig | None = None
) -> tuple[LinearParams, TrainReport]:
    """Fit a calibrated hashed linear model of `kind` ("text" or "url") on `examples`.

    The returned parameters score exactly as `scoring.model.TextModel`/`UrlModel` will once saved.
    Calibration and the operating point come from out-of-fold margins, never from the data a fold's
    model was fitted on. Needs at least `config.folds` examples of each class.
    """
    config = config or TrainConfig()
    analyzer = FEATURE_SCHEMAS[kind][1]
    texts = [ex.text for ex in examples]
    y = np.asarray([ex.label for ex in examples], dtype=np.int64)
    w = np.asarray([ex.weight for ex in examples], dtype=np.float64)
    n_pos = int(y.sum())
    if min(n_pos, len(y) - n_pos) < config.folds:
        raise ValueError(f"need at least {config.folds} examples of each class, got {n_pos}/{len(y) - n_pos}")
    counts = count_matrix(texts, analyzer, config.n_bits)
    active, idf_full, default_idf = _idf(counts, len(texts))
    # Columns never seen in training keep a zero weight under L2, so fitting on the active columns only
    # gives the same model, many times faster than on all 2**n_bits hashed columns.
    x = tfidf_rows(counts, idf_full)[:, active]

    oof = np.zeros(len(y))
    groups = [ex.group if ex.group is not None else f"#{i}" for i, ex in enumerate(examples)]
    folds = StratifiedGroupKFold(n_splits=config.folds, shuffle=True, random_state=config.seed)
    for train_idx, test_idx in folds.split(np.zeros(len(y)), y, groups):
        clf = _classifier(config).fit(x[train_idx], y[train_idx], sample_weight=w[train_idx])
        oof[test_idx] = clf.decision_function(x[test_idx])
    platt_a, platt_b = _platt(oof, y, w, config.seed)
    oof_proba = 1.0 / (1.0 + np.exp(platt_a * oof + platt_b))
    if config.max_negative_rate is not None:
        in_rate = np.asarray([config.rate_source in (None, ex.source) or ex.label == 1 for ex in examples])
        threshold = _threshold_for_rate(oof_proba[in_rate], y[in_rate], config.max_negative_rate)
    else:
        threshold = config.threshold

    final = _classifier(config).fit(x, y, sample_weight=w)
    coef = final.coef_.ravel()
    params = LinearParams(
        kind=kind,
        n_bits=config.n_bits,
        active=active,
        idf=idf_full[active].astype(np.float32),
        coef=coef.astype(np.float32),
        default_idf=default_idf,
        intercept=float(final.intercept_[0]),
        platt_a=platt_a,
        platt_b=platt_b,
        threshold=threshold,
    )
    sources = np.asarray([ex.source for ex in examples])
    out_of_fold = _rates(oof_proba >= threshold, y)
    for source in sorted(set(sources)):
        mine = sources == source
        out_of_fold.update(
            {f"{source}:{k}": v for k, v in _rates(oof_proba[mine] >= threshold, y[mine]).items()}
        )
    report = TrainReport(
        n_examples=len(y),
        n_positive=n_pos,
        per_source=summarize(examples),
        out_of_fold=out_of_fold,
        threshold=threshold,
    )
    return params, report


# --- Turning rows of the data files into examples (pure: rows in, examples out) ----------------------

# Public text sets usable for the TextModel, and how their labels map. `spam` (unwanted, not a scam) is
# left out of training: calling ads "legitimate" would teach the model that links and offers are fine,
# calling them scams would teach it to flag every promotion. Evaluation reports it separately.
PUBLIC_TEXT_SETS: dict[str, dict[str, int]] = {
    "mendeley_smishing": {"scam": 1, "not_scam": 0},
    "spamhunter_labelled_en": {"scam": 1},
    "nazario_phishing_email": {"scam": 1},
    "spamassassin_sample": {"not_scam": 0},
}
# Public URL/domain sets for the UrlModel.
PUBLIC_URL_SETS: dict[str, dict[str, int]] = {
    "phishtank_2025_urls": {"scam": 1},
    "top_domains_even_rank": {"not_scam": 0},
    "eth_phishing_domains": {"not_scam": 0},
}

# Legitimate sites very often show up with these sub-domains; the popular-domain list holds bare registrable
# domains, so without them "has a sub-domain" alone would look like phishing.
COMMON_SUBDOMAINS = (
    "m",
    "fr",
    "en",
    "app",
    "api",
    "blog",
    "help",
    "support",
    "shop",
    "mail",
    "static",
    "news",
)


def fixture_examples(rows: Iterable[Mapping[str, Any]], source: str = "fixtures") -> list[Example]:
    """TextModel examples from the project's corpus rows ({"kind","text","title"?,"label","lang"}).

    The CV group of a row joins its conversation and every near-duplicate of its text
    (`scoring.near_duplicates`): scripts recur across conversations, and calibrating on folds that
    split a script's twins made the model over-confident on voices it had never seen.
    """
    from scoring.near_duplicates import template_groups

    rows = list(rows)
    out = []
    for row, group in zip(rows, template_groups(rows), strict=True):
        title = row.get("title") if row.get("kind") == "listing" else None
        label = 1 if row["label"] == "scam" else 0
        out.append(Example(model_text(str(row["text"]), title), label, source, 1.0, row.get("lang"), group))
    return out


def public_text_examples(dataset: str, rows: Iterable[Mapping[str, Any]]) -> list[Example]:
    """TextModel examples from the training part of one public text set (see PUBLIC_TEXT_SETS)."""
    labels = PUBLIC_TEXT_SETS[dataset]
    out = []
    for row in rows:
        label = labels.get(str(row["label"]))
        if label is None or not is_training_part(str(row["id"])):
            continue
        out.append(Example(model_text(str(row["text"])), label, dataset, 1.0, row.get("lang")))
    return out


def public_url_examples(dataset: str, rows: Iterable[Mapping[str, Any]]) -> list[Example]:
    """UrlModel examples (canonical hosts, deduplicated) from the training part of one public set.

    Phishing pages hosted on a popular platform (docs.google.com, bit.ly) are dropped from the positives:
    the host is legitimate there, only the path is not, and the UrlModel judges hosts.
    """
    labels = PUBLIC_URL_SETS[dataset]
    seen: set[str] = set()
    out = []
    for row in rows:
        label = labels.get(str(row["label"]))
        host = canonical_host(str(row["text"]))
        if label is None or not host or host in seen:
            continue
        if not is_training_part(url_split_key(host)):
            continue
        seen.add(host)
        group = url_split_key(host)
        out.append(Example(host, label, dataset, group=group))
        if label == 0 and stable_fraction("sub:" + host) < 0.3:
            sub = COMMON_SUBDOMAINS[int(stable_fraction("which:" + host) * len(COMMON_SUBDOMAINS))]
            out.append(Example(f"{sub}.{host}", 0, dataset + "+subdomain", group=group))
    return out


def drop_platform_hosted(examples: Sequence[Example], legitimate_domains: set[str]) -> list[Example]:
    """Remove positives whose registrable domain is a legitimate (popular) domain."""
    return [ex for ex in examples if not (ex.label == 1 and url_split_key(ex.text) in legitimate_domains)]


_URLISH = re.compile(
    r"(?i)\b(?:https?://)?(?:[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?\.)+[a-z]{2,24}\b(?:/[^\s]*)?"
)


def fixture_url_examples(
    rows: Iterable[Mapping[str, Any]], imitates_brand: Callable[[str], bool] | None = None
) -> list[Example]:
    """UrlModel examples from links in the project's corpus: hosts seen only in scams vs only in honest text.

    A host that appears on both sides (a courier's real site quoted by a scammer) is left out.

    Honest users quote the scam links they received ("is royalmail-redeliver-uk.com a scam?"), so a
    host seen only in honest rows is a negative only when `imitates_brand` (the domain analyzer's
    look-alike verdict) does not call it a brand look-alike: a quoted fake is never taught as legitimate.
    """
    sides: dict[str, set[int]] = {}
    for row in rows:
        label = 1 if row.get("label") == "scam" else 0
        text = f"{row.get('title') or ''}\n{row.get('text') or ''}"
        for match in _URLISH.finditer(text):
            # Skip both halves of an e-mail address: "jean.dupont" is no host, and a scammer's
            # gmail.com address says nothing about gmail.com.
            before = text[match.start() - 1 : match.start()]
            after = text[match.end() : match.end() + 1]
            host = canonical_host(match.group(0))
            if "." in host and "@" not in (before, after):
                sides.setdefault(host, set()).add(label)
    return [
        Example(host, next(iter(labels)), "fixtures", group=url_split_key(host))
        for host, labels in sorted(sides.items())
        if len(labels) == 1 and not (labels == {0} and imitates_brand is not None and imitates_brand(host))
    ]
