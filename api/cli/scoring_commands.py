"""`vigie train`, `vigie evaluate` and `vigie score`: the I/O shell around `scoring.training`,
`scoring.evaluation` and the Scorer.

Heavy imports (scikit-learn, the scorer, matplotlib) happen inside the commands so `vigie --help` and
the other command families stay fast.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = PROJECT_ROOT / "fixtures" / "corpus"
# The shared public development data sits next to the project checkout when it exists at all.
DEFAULT_PUBLIC_DATA = PROJECT_ROOT.parent / "shared" / "data" / "dev"
MIN_URL_EXAMPLES_PER_CLASS = 100


def register(group: click.Group) -> None:
    """Attach the scoring commands to the `vigie` group."""
    group.add_command(train)
    group.add_command(evaluate)
    group.add_command(score)


# --- reading data files -------------------------------------------------------------------------------


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Rows of a `.jsonl` or `.jsonl.gz` file (blank lines skipped)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def corpus_rows(directory: Path) -> list[dict[str, Any]]:
    """Message and listing rows of every `*.jsonl` under `directory` (other kinds, e.g. domains, skipped)."""
    rows: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.jsonl")):
        rows.extend(r for r in read_jsonl(path) if r.get("kind") in ("message", "listing") and r.get("text"))
    return rows


def corpus_input(row: dict[str, Any]) -> Any:
    """The `ScoreInput` of a corpus row, as the API would receive it (a listing keeps its title and price)."""
    from scoring.types import Kind, ScoreInput

    kind = Kind.LISTING if row.get("kind") == "listing" else Kind.MESSAGE
    return ScoreInput(
        id=str(row["id"]),
        kind=kind,
        text=str(row["text"]),
        title=row.get("title") if kind is Kind.LISTING else None,
        price=row.get("price"),
        lang=row.get("lang"),
    )


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def public_file(public_dir: Path | None, dataset: str) -> Path | None:
    if public_dir is None:
        return None
    path = public_dir / f"{dataset}.jsonl.gz"
    return path if path.exists() else None


# --- vigie train ---------------------------------------------------------------------------------------

PROVENANCE = {
    "fixtures": "fixtures/corpus/train: French/English marketplace messages and listings written by the team",
    "mendeley_smishing": "Mishra & Soni, Mendeley Data 2022, doi 10.17632/f45bkkt8pr.1 (CC BY 4.0)",
    "spamhunter_labelled_en": "Tang et al., CCS 2022 (SpamHunter), Fraud rows only; no licence stated",
    "nazario_phishing_email": "Nazario phishing corpus, curated by Champa et al. 2024",
    "spamassassin_sample": "Apache SpamAssassin public corpus, ham rows only (PDDL/CC0)",
    "phishtank_2025_urls": (
        "PhishTank verified phishing URLs via Harpoon-AI (attribution required); hosts only"
    ),
    "top_domains_even_rank": "popular domains (Tranco-like list, every even rank); provenance unstated",
    "eth_phishing_domains": "MetaMask eth-phishing-detect allow-list (legitimate brand-like domains) only",
}


@click.command("train")
@click.option("--corpus-dir", type=click.Path(path_type=Path), default=DEFAULT_CORPUS, show_default=True)
@click.option(
    "--public-data",
    type=click.Path(path_type=Path),
    default=DEFAULT_PUBLIC_DATA,
    show_default=True,
    help="Public dev data directory; its training parts are used when it exists.",
)
@click.option("--no-public", is_flag=True, help="Train on the project's fixtures only.")
@click.option(
    "--output-dir", type=click.Path(path_type=Path), default=None, help="Default: scoring/artifacts."
)
@click.option(
    "--labels",
    is_flag=True,
    help="Train on fixtures + moderator labels from the database and register a candidate in the model "
    "registry instead of writing artifacts (same as `vigie model train`).",
)
@click.option("--promote", is_flag=True, help="With --labels: promote the candidate when the gate passes.")
def train(
    corpus_dir: Path, public_data: Path, no_public: bool, output_dir: Path | None, labels: bool, promote: bool
) -> None:
    """Retrain the text and URL models and write their artifacts (same inputs, same files)."""
    if labels:
        from api.cli.model_commands import run_label_training

        run_label_training(corpus_dir, promote)
        return
    from scoring import training
    from scoring.model import ARTIFACTS_DIR, TextModel, UrlModel, write_artifact

    out_dir = output_dir or ARTIFACTS_DIR
    public_dir = None if no_public or not public_data.is_dir() else public_data
    if public_dir is None:
        click.echo("public dev data: not used (absent or --no-public); training on fixtures only")
    else:
        click.echo(f"public dev data: {public_dir} (training parts only)")

    inputs: dict[str, str] = {}
    train_dir = corpus_dir / "train"
    fixture_rows = corpus_rows(train_dir) if train_dir.is_dir() else []
    for fixture_file in sorted(train_dir.glob("*.jsonl")) if train_dir.is_dir() else []:
        inputs[f"fixtures/corpus/train/{fixture_file.name}"] = file_digest(fixture_file)
    click.echo(f"fixtures: {len(fixture_rows)} rows from {train_dir}")

    # Text model.
    text_examples = training.fixture_examples(fixture_rows)
    for dataset in training.PUBLIC_TEXT_SETS:
        text_file = public_file(public_dir, dataset)
        if text_file is not None:
            inputs[text_file.name] = file_digest(text_file)
            text_examples += training.public_text_examples(dataset, read_jsonl(text_file))
    if fixture_rows:
        text_examples = training.balance_sources(text_examples, anchor="fixtures", max_share=0.5)
    text_config = training.TrainConfig()
    text_params, text_report = training.fit_linear("text", text_examples, text_config)
    text_meta = _metadata(text_report, inputs, public_dir is not None, text_config)
    written = write_artifact(text_params, out_dir / f"{TextModel.artifact_name}.skops", text_meta)
    click.echo(f"text model {written['version']}: {json.dumps(text_report.to_dict()['out_of_fold'])}")

    # URL model.
    url_examples, url_inputs = url_training_examples(fixture_rows, public_dir)
    n_pos = sum(ex.label for ex in url_examples)
    if min(n_pos, len(url_examples) - n_pos) < MIN_URL_EXAMPLES_PER_CLASS:
        # The project's own corpus holds a few dozen links, nearly all scams: a model fitted on that
        # would flag every link. Keep the previous URL artifact instead.
        click.echo(
            f"url model: not retrained ({n_pos} phishing / {len(url_examples) - n_pos} legitimate hosts,"
            f" needs {MIN_URL_EXAMPLES_PER_CLASS} of each: run with the public dev data)"
        )
        return
    url_config = training.TrainConfig(
        n_bits=20, c=16.0, max_negative_rate=0.002, rate_source="top_domains_even_rank"
    )
    try:
        url_params, url_report = training.fit_linear("url", url_examples, url_config)
    except ValueError as exc:
        # Fixtures alone may hold too few links to learn from; the previous URL artifact stays.
        click.echo(f"url model: not retrained ({exc})")
        return
    url_meta = _metadata(url_report, url_inputs, public_dir is not None, url_config)
    written = write_artifact(url_params, out_dir / f"{UrlModel.artifact_name}.skops", url_meta)
    click.echo(
        f"url model {written['version']}: threshold {url_params.threshold:.4f} "
        f"{json.dumps(url_report.to_dict()['out_of_fold'])}"
    )


def url_training_examples(
    fixture_rows: list[dict[str, Any]], public_dir: Path | None
) -> tuple[list[Any], dict[str, str]]:
    """The UrlModel's examples (fixture links + training parts of the public URL sets) and the digests
    of the files read; `vigie train` and bench/tune_url_fusion.py both build them here."""
    from scoring import training
    from scoring.lookalike import DomainAnalyzer
    from scoring.types import Category

    analyzer = DomainAnalyzer.default()

    def imitates_brand(host: str) -> bool:
        return any(sig.category is Category.SPOOFED_DOMAIN for sig in analyzer.assess_url(host))

    inputs: dict[str, str] = {}
    examples = training.fixture_url_examples(fixture_rows, imitates_brand)
    legit: set[str] = set()
    for dataset in training.PUBLIC_URL_SETS:
        url_file = public_file(public_dir, dataset)
        if url_file is None:
            continue
        inputs[url_file.name] = file_digest(url_file)
        rows = list(read_jsonl(url_file))
        # Every legitimate domain of the lists, report parts included: a phishing page hosted on one of
        # them (a popular platform) says nothing about its host, and is dropped below.
        legit |= {training.url_split_key(str(r["text"])) for r in rows if r["label"] == "not_scam"}
        examples += training.public_url_examples(dataset, rows)
    return training.drop_platform_hosted(examples, legit), inputs


def _metadata(report: Any, inputs: dict[str, str], used_public: bool, config: Any) -> dict[str, Any]:
    sources = sorted({s.split("+")[0] for s in report.per_source})
    return {
        "training": report.to_dict(),
        "inputs_sha256": inputs,
        "public_data_used": used_public,
        "provenance": {s: PROVENANCE.get(s, s) for s in sources},
        "config": {"n_bits": config.n_bits, "c": config.c, "folds": config.folds, "seed": config.seed},
        "built_by": "vigie train",
    }


# --- vigie score ---------------------------------------------------------------------------------------


@click.command("score")
@click.option(
    "--input", "input_path", default="-", show_default=True, help="JSON Lines file, or - for stdin."
)
@click.option(
    "--output", "output_path", default="-", show_default=True, help="JSON Lines file, or - for stdout."
)
@click.option("--batch-size", default=256, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--model", "model_path", default=None, help="TextModel artifact (default: the shipped one).")
def score(input_path: str, output_path: str, batch_size: int, model_path: str | None) -> None:
    """Score content in batch: one contract-2 JSON object per input line, one result per output line.

    A bad line produces {"id"?, "error"} in its place and the batch goes on; output order is input order.
    """
    from api.cli.batch_scoring import score_stream
    from scoring.engine import Scorer

    scorer = Scorer.load(model_path=model_path)
    with _open_text(input_path, "r") as src, _open_text(output_path, "w") as dst:
        counts = score_stream(scorer, src, dst, batch_size=batch_size)
    click.echo(f"scored {counts['scored']} lines, {counts['errors']} errors", err=True)


class _open_text:
    """Open a path for text I/O, `-` meaning stdin/stdout (which are left open on exit)."""

    def __init__(self, path: str, mode: str) -> None:
        self.path = path
        self.mode = mode
        self.fh: IO[str] | None = None

    def __enter__(self) -> IO[str]:
        if self.path == "-":
            return sys.stdin if self.mode == "r" else sys.stdout
        self.fh = open(self.path, self.mode, encoding="utf-8")  # closed in __exit__
        return self.fh

    def __exit__(self, *exc: object) -> None:
        if self.fh is not None:
            self.fh.close()


# --- vigie evaluate ------------------------------------------------------------------------------------


@click.command("evaluate")
@click.option("--output-dir", type=click.Path(path_type=Path), default=Path("var/eval"), show_default=True)
@click.option("--corpus-dir", type=click.Path(path_type=Path), default=DEFAULT_CORPUS, show_default=True)
@click.option(
    "--public-data", type=click.Path(path_type=Path), default=DEFAULT_PUBLIC_DATA, show_default=True
)
@click.option("--no-public", is_flag=True, help="Evaluate on the project's holdout only.")
def evaluate(output_dir: Path, corpus_dir: Path, public_data: Path, no_public: bool) -> None:
    """Precision/recall/FPR of the full Scorer vs a TF-IDF baseline; writes a PR curve and summaries."""
    from api.cli.evaluation_report import run_evaluation

    public_dir = None if no_public or not public_data.is_dir() else public_data
    run_evaluation(output_dir=output_dir, corpus_dir=corpus_dir, public_dir=public_dir, echo=click.echo)
