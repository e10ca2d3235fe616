"""normalize(): each obfuscation is undone, ordinary text is left alone, spans map back."""

from __future__ import annotations

import re

import pytest

from scoring.normalize import normalize

OBFUSCATIONS = [
    ("fullwidth", "ｐａｙｐａｌ", "paypal"),
    ("cyrillic homoglyphs", "pаypаl", "paypal"),
    ("greek omicron", "whatsapp cοde", "whatsapp code"),
    ("zero-width", "wh\u200bats\u200dapp", "whatsapp"),
    ("bidi control", "pay\u202epal", "paypal"),
    ("spaced letters", "w h a t s a p p", "whatsapp"),
    ("dotted letters", "p.a.y.p.a.l", "paypal"),
    ("dashed letters", "c-o-d-e", "code"),
    ("spaced domain keeps its punctuation", "l e b o n c o i n - p a y . c o m", "leboncoin-pay.com"),
    ("spaced international number", "+ 4 4 7 9 1 1 2 0 3 5 8 1", "+447911203581"),
    ("arobase", "jean arobase gmail point com", "jean@gmail.com"),
    ("bracket at/dot", "jean(at)gmail[.]com", "jean@gmail.com"),
    ("english at/dot", "john at gmail dot com", "john@gmail.com"),
    ("spaced at", "lea.b @ orange . fr", "lea.b@orange.fr"),
    ("hxxp defang", "hxxps://evil[.]net/p", "https://evil.net/p"),
    ("ocr scheme", "http //x.com", "http://x.com"),
    ("number words fr", "zéro six douze trente-quatre cinquante-six soixante-dix-huit", "0612345678"),
    ("number words mixed", "ZÉRO 6 52 26 91 04", "0652269104"),
    ("letter o for zero", "O6 18 3O 72 42", "06 18 30 72 42"),
    ("leetspeak", "p4yp4l et wh4ts4pp", "paypal et whatsapp"),
    ("leet at", "telegr@m", "telegram"),
    ("leet symbols", "wha†sapp et vir€ment", "whatsapp et virement"),
    (
        "leet words",
        "b3soin du c0de à 6 ch1ffres qu3 tu v4s r3c3voir",
        "besoin du code a 6 chiffres que tu vas recevoir",
    ),
    ("spaced words", "j e   s u i s   l à", "je suis la"),
    ("small capitals", "ᴘᴀɪᴇᴍᴇɴᴛ ᴘᴀʀ ᴛʀᴀɴsᴄᴀsʜ", "paiement par transcash"),
    ("greek capitals", "WRΙΤΕ ΜΕ ΟΝ WΗΑΤSΑΡΡ", "write me on whatsapp"),
    ("accents", "Sécurisé Élégant", "securise elegant"),
    ("typographic apostrophe", "m’envoyer", "m'envoyer"),
    ("whitespace runs", "a  b\t\tc\n\n d", "a b c\nd"),
]


@pytest.mark.parametrize(("name", "raw", "expected"), OBFUSCATIONS, ids=[o[0] for o in OBFUSCATIONS])
def test_obfuscation_is_undone(name: str, raw: str, expected: str) -> None:
    assert normalize(raw).text == expected


HONEST = [
    "au point de vue du prix, je suis au point relais",
    "je suis at home",
    "ps5 iphone13 4x4 mp3 2cv",
    "taille 38 40 42 et 44",
    "un vélo neuf six vitesses",
    "Merci. Me contacter ici",
    "IP http://1.2.3.4/x",
    "A bientôt, à demain",
]


@pytest.mark.parametrize("raw", HONEST)
def test_ordinary_text_keeps_its_words(raw: str) -> None:
    """Only case and accents change: no word is invented, joined or rewritten."""
    text = normalize(raw).text
    expected = normalize(raw.lower()).text
    assert text == expected
    words_in = re.findall(r"[a-z0-9]+", raw.lower().replace("à", "a").replace("ô", "o").replace("é", "e"))
    assert re.findall(r"[a-z0-9]+", text) == words_in


@pytest.mark.parametrize(
    ("raw", "needle", "original"),
    [
        ("Contactez-moi sur w h a t s a p p au 06", "whatsapp", "w h a t s a p p"),
        ("mon mail: jean arobase gmail point com !", "jean@gmail.com", "jean arobase gmail point com"),
        ("Paiement ｐａｙｐａｌ ok", "paypal", "ｐａｙｐａｌ"),
        (
            "tél zéro six douze trente-quatre cinquante-six soixante-dix-huit",
            "0612345678",
            "zéro six douze trente-quatre cinquante-six soixante-dix-huit",
        ),
        ("Voilà: hxxp://leboncoin[.]fr/x", "http://leboncoin.fr/x", "hxxp://leboncoin[.]fr/x"),
        ("café ß wh\u200bats", "ss", "ß"),
    ],
)
def test_spans_map_back_to_the_original(raw: str, needle: str, original: str) -> None:
    norm = normalize(raw)
    start = norm.text.index(needle)
    s, e = norm.to_original(start, start + len(needle))
    assert raw[s:e] == original


def test_to_original_clamps_and_handles_empty_spans() -> None:
    norm = normalize("a  b")
    assert norm.to_original(-5, 100) == (0, 4)
    s, e = norm.to_original(2, 2)
    assert s == e


@pytest.mark.parametrize(
    "raw", ["a" * 100_000, "http://" * 10_000, "0 " * 50_000, "w " * 50_000, "un " * 30_000, "[.]" * 30_000]
)
def test_pathological_inputs_stay_bounded(raw: str) -> None:
    norm = normalize(raw)
    s, e = norm.to_original(0, len(norm.text))
    assert 0 <= s <= e <= len(raw)
