"""`vigie train` and `vigie evaluate` on a tiny hand-written corpus (no public data, temp dirs only)."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from api.cli.scoring_commands import register
from scoring.evaluation import holdout_half
from scoring.model import TextModel

SCAM = [
    "Je paie par PayPal entre amis, envoyez votre mail, lien sur https://paiement-securise-{i}.top/recevoir",
    "Contactez-moi sur WhatsApp, le transporteur passe, frais sur http://livraison-colis-{i}.xyz/payer",
    "Envoyez le code reçu par SMS pour valider, sinon cliquez sur https://verif-compte-{i}.online/code",
]
HONEST = [
    "Bonjour, toujours disponible ? Je peux passer samedi, voici la notice https://www.ikea-{i}.fr/notice",
    "Merci, le suivi est sur https://www.laposte-{i}.fr/suivi, bonne journée",
    "Remise en main propre à Lyon, paiement en espèces, photos sur https://photos-{i}.fr/album",
]


def _corpus(root: Path) -> Path:
    rows = []
    for i in range(4):
        for j, text in enumerate(SCAM):
            rows.append(
                {
                    "id": f"s{i}{j}",
                    "kind": "message",
                    "text": text.format(i=i),
                    "lang": "fr",
                    "label": "scam",
                    "categories": ["external_payment"],
                }
            )
        for j, text in enumerate(HONEST):
            rows.append(
                {
                    "id": f"h{i}{j}",
                    "kind": "message",
                    "text": text.format(i=i),
                    "lang": "fr",
                    "label": "not_scam",
                    "categories": [],
                }
            )
    for part, chunk in (("train", rows[:18]), ("holdout", rows[18:])):
        (root / part).mkdir(parents=True)
        (root / part / "messages.jsonl").write_text(
            "\n".join(json.dumps(r, ensure_ascii=False) for r in chunk) + "\n", encoding="utf-8"
        )
    return root


@pytest.fixture(scope="module")
def cli() -> click.Group:
    group = click.Group("vigie")
    register(group)
    return group


def test_train_writes_loadable_reproducible_artifacts(cli: click.Group, tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus")
    outputs = []
    for name in ("a", "b"):
        out = tmp_path / name
        result = CliRunner().invoke(
            cli, ["train", "--corpus-dir", str(corpus), "--no-public", "--output-dir", str(out)]
        )
        assert result.exit_code == 0, result.output
        assert "training on fixtures only" in result.output
        outputs.append(out)
    # A handful of links is too little for a URL model: the command says so and leaves it alone.
    assert "url model: not retrained" in result.output
    files = sorted(p.name for p in outputs[0].iterdir())
    assert files == ["text_model.json", "text_model.skops"]
    for name in files:
        assert (outputs[0] / name).read_bytes() == (outputs[1] / name).read_bytes(), name
    meta = json.loads((outputs[0] / "text_model.json").read_text())
    assert meta["public_data_used"] is False
    assert meta["training"]["per_source"] == {"fixtures": {"not_scam": 9, "scam": 9}}
    text = TextModel.load(str(outputs[0] / "text_model.skops"))
    assert text.version == meta["version"]


def test_evaluate_writes_report_without_public_data(cli: click.Group, tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus")
    out = tmp_path / "eval"
    result = CliRunner().invoke(
        cli, ["evaluate", "--output-dir", str(out), "--corpus-dir", str(corpus), "--no-public"]
    )
    assert result.exit_code == 0, result.output
    assert "Public dev data: **absent**" in result.output
    summary = json.loads((out / "summary.json").read_text())
    # The holdout is reported in its two fixed halves (scoring.evaluation.holdout_half), never merged.
    rows = [json.loads(line) for line in (corpus / "holdout" / "messages.jsonl").read_text().splitlines()]
    for half in ("dev", "report"):
        expected = [r for r in rows if holdout_half(r) == half]
        got = summary["sets"].get(f"holdout-{half}")
        if not expected:
            assert got is None
            continue
        assert got["vigie"]["overall"]["n"] == got["baseline"]["overall"]["n"] == len(expected)
        assert got["vigie"]["overall"]["positives"] == sum(r["label"] == "scam" for r in expected)
    assert "holdout" not in summary["sets"]
    assert summary["targets"]["phishing_url_recall"]["measured"] is None
    assert (out / "pr_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "## Targets" in (out / "summary.md").read_text()
