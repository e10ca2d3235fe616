"""`vigie score` honours DESIGN.md contract 2: one output line per input line, bad lines reported in place."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from api.cli.scoring_commands import register

GOOD = [
    {"id": "m1", "kind": "message", "text": "Bonjour, le vélo est toujours disponible ?"},
    {
        "id": "m2",
        "kind": "message",
        "text": "Je paie par PayPal entre amis, donnez-moi votre e-mail pour le lien de paiement sécurisé",
        "conversation_id": "c1",
        "sender": {"id": "u9", "email": "acheteur@example.com", "account_age_days": 1, "is_pro": False},
        "recipient": {"id": "u1"},
    },
    {
        "id": "l1",
        "kind": "listing",
        "title": "Canapé 3 places",
        "text": "Très bon état, à venir chercher sur place.",
        "price": 120,
        "category": "ameublement",
        "label": "ignored extra field",
    },
]
RESULT_KEYS = {"id", "score", "verdict", "categories", "reasons", "model_version", "rules_version"}


@pytest.fixture(scope="module")
def cli() -> click.Group:
    group = click.Group("vigie")
    register(group)
    return group


def _lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_good_lines_follow_the_contract(cli: click.Group, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    dst = tmp_path / "out.jsonl"
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in GOOD) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["score", "--input", str(src), "--output", str(dst)])
    assert result.exit_code == 0, result.output
    out = _lines(dst.read_text(encoding="utf-8"))
    assert [o["id"] for o in out] == ["m1", "m2", "l1"]
    for o in out:
        assert set(o) >= RESULT_KEYS
        assert 0.0 <= o["score"] <= 1.0
        assert o["verdict"] in {"allow", "warn", "review", "hold"}
        for reason in o["reasons"]:
            assert {"code", "category", "weight", "evidence", "span"} <= set(reason)
    honest, scam = out[0], out[1]
    assert honest["verdict"] == "allow"
    assert scam["verdict"] != "allow" and scam["score"] > honest["score"]
    assert "external_payment" in scam["categories"]


BAD = [
    ("{not json", None, "invalid JSON"),
    ("[1, 2]", None, "JSON object"),
    ('{"kind": "message", "text": "x"}', None, "id"),
    ('{"id": "a", "kind": "email", "text": "x"}', "a", "kind"),
    ('{"id": "b", "kind": "message"}', "b", "text"),
    ('{"id": "c", "kind": "message", "text": 5}', "c", "text"),
    ('{"id": "d", "kind": "listing", "text": "x", "price": "cheap"}', "d", "price"),
    ('{"id": "e", "kind": "listing", "text": "x", "price": -3}', "e", "price"),
    ('{"id": "f", "kind": "message", "text": "x", "sender": {"is_pro": "yes"}}', "f", "is_pro"),
    ('{"id": "g", "kind": "message", "text": "x", "sender": "bob"}', "g", "sender"),
    ('{"id": "h", "kind": "message", "text": "x", "recipient": {"id": 7}}', "h", "recipient.id"),
]


def test_bad_lines_are_reported_in_place_and_the_batch_goes_on(cli: click.Group) -> None:
    # Every bad line sits between two good ones, all in one run (loading the scorer once).
    good = json.dumps(GOOD[0], ensure_ascii=False)
    lines = [good]
    for bad_line, _, _ in BAD:
        lines += [bad_line, good]
    result = CliRunner().invoke(cli, ["score"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = _lines(result.stdout)
    assert len(out) == 2 * len(BAD) + 1
    assert all(o["id"] == "m1" and "verdict" in o for o in out[::2])
    for (_, expected_id, message), bad in zip(BAD, out[1::2], strict=True):
        assert set(bad) == ({"id", "error"} if expected_id else {"error"}), bad
        assert bad.get("id") == expected_id
        assert message in str(bad["error"]), bad
    assert f"{len(BAD)} errors" in result.stderr


def test_stdin_to_stdout_streams_many_chunks(cli: click.Group) -> None:
    n = 25
    lines = [json.dumps({"id": f"x{i}", "kind": "message", "text": f"Message numéro {i}"}) for i in range(n)]
    result = CliRunner().invoke(
        cli, ["score", "--input", "-", "--output", "-", "--batch-size", "4"], input="\n\n".join(lines)
    )
    assert result.exit_code == 0, result.output
    assert [o["id"] for o in _lines(result.stdout)] == [f"x{i}" for i in range(n)]
