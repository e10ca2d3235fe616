"""extract(): every entity kind, with spans that point into the ORIGINAL text."""

from __future__ import annotations

import pytest

from scoring.extract import Entity, extract, iban_is_valid, luhn_is_valid
from scoring.normalize import normalize


def entities(raw: str, kind: str) -> list[Entity]:
    return [e for e in extract(raw, normalize(raw)).all() if e.kind == kind]


CASES = [
    (
        "url",
        "Va sur leboncoin.fr.reception-fonds.com/tx vite",
        "leboncoin.fr.reception-fonds.com/tx",
        "leboncoin.fr.reception-fonds.com/tx",
    ),
    ("url", "lien: bit.ly/x3Yz.", "bit.ly/x3yz", "bit.ly/x3Yz"),
    ("url", "OCR: http //x.com/a", "http://x.com/a", "http //x.com/a"),
    ("url", "defanged hxxps://evil[.]net/p", "https://evil.net/p", "hxxps://evil[.]net/p"),
    # Scheme-less: a shortener on a rarer two-letter TLD, and a raw IPv4 host with a path.
    ("url", "Régularisez : rb.gy/urssaf-vig", "rb.gy/urssaf-vig", "rb.gy/urssaf-vig"),
    (
        "url",
        "lien : 185.73.41.208/luxesafe/pay?id=7761",
        "185.73.41.208/luxesafe/pay?id=7761",
        "185.73.41.208/luxesafe/pay?id=7761",
    ),
    ("email", "mail jean arobase gmail point com svp", "jean@gmail.com", "jean arobase gmail point com"),
    ("email", "Écrivez à Jean.Dupont@hotmail.fr.", "jean.dupont@hotmail.fr", "Jean.Dupont@hotmail.fr"),
    ("phone", "Appelez le 06 12 34 56 78 !", "+33612345678", "06 12 34 56 78"),
    ("phone", "whatsapp +44 7911 123456", "+447911123456", "+44 7911 123456"),
    (
        "phone",
        "au zéro six douze trente-quatre cinquante-six soixante-dix-huit",
        "+33612345678",
        "zéro six douze trente-quatre cinquante-six soixante-dix-huit",
    ),
    (
        "iban",
        "IBAN FR76 3000 6000 0112 3456 7890 189 merci",
        "FR7630006000011234567890189",
        "FR76 3000 6000 0112 3456 7890 189",
    ),
    (
        "crypto",
        "eth 0x52908400098527886E0F7030069857D2E4169EE7",
        "0x52908400098527886e0f7030069857d2e4169ee7",
        "0x52908400098527886E0F7030069857D2E4169EE7",
    ),
    (
        "crypto",
        "btc bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
    ),
    (
        "crypto",
        "legacy 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
    ),
    ("amount", "Prix 150€ ferme", "150", "150€"),
    ("amount", "soit 1 200 euros", "1200", "1 200 euros"),
    ("amount", "je fais 150e", "150", "150e"),
    ("amount", "total 99,90 EUR", "99.90", "99,90 EUR"),
    ("handle", "paye sur paypal.me/jeandupont", "paypal.me/jeandupont", "paypal.me/jeandupont"),
    ("handle", "wa.me/33612345678", "wa.me/33612345678", "wa.me/33612345678"),
    ("handle", "sur telegram @vendeur_pro", "@vendeur_pro", "@vendeur_pro"),
    ("siret", "SIRET 732 829 320 00074", "73282932000074", "732 829 320 00074"),
]


@pytest.mark.parametrize(("kind", "raw", "value", "original"), CASES)
def test_entity_value_and_span(kind: str, raw: str, value: str, original: str) -> None:
    found = entities(raw, kind)
    assert [e.value for e in found] == [value]
    s, e = found[0].span
    assert raw[s:e] == original


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        ("url", "ok.merci, m.dupont et v2.0 ou 1.5"),
        ("url", "version 1.2.3.4/5, rdv le 12.03.2024/15h et M.Dupont/Mme"),
        ("phone", "commande 1234 5678 du 12/05"),
        ("iban", "FR76 1111 2222 3333 4444 5555 000"),  # checksum fails
        ("siret", "12345678901234"),  # Luhn fails
        ("email", "rdv à 14h @ la gare"),
    ],
)
def test_lookalikes_that_are_not_entities(kind: str, raw: str) -> None:
    assert entities(raw, kind) == []


def test_invalid_iban_shape_is_kept_apart() -> None:
    raw = "IBAN : FR0203332538478EK5GJBFA3364"
    ents = extract(raw, normalize(raw))
    assert ents.ibans == ()
    assert [raw[e.span[0] : e.span[1]] for e in ents.iban_like] == ["FR0203332538478EK5GJBFA3364"]


def test_checksums() -> None:
    assert iban_is_valid("FR7630006000011234567890189")
    assert not iban_is_valid("FR7630006000011234567890188")
    assert luhn_is_valid("73282932000074")
    assert not luhn_is_valid("73282932000075")


@pytest.mark.parametrize(
    "raw", ["a" * 100_000, "http://" * 10_000, "0 " * 50_000, "1" * 100_000, "€1 " * 30_000]
)
def test_pathological_inputs_are_capped(raw: str) -> None:
    ents = extract(raw, normalize(raw))
    for e in ents.all():
        assert 0 <= e.span[0] <= e.span[1] <= len(raw)
    assert len(ents.amounts) <= 32
