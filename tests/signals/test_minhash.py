"""Template signatures: variants of one script stay similar, unrelated messages do not."""

from __future__ import annotations

import pytest

from scoring.minhash import (
    NUM_PERM,
    TemplateSignature,
    band_keys,
    similarity,
    template_signature,
    template_tokens,
)

SCRIPT = (
    "Bonjour {name}, votre {item} à {price} euros m'intéresse beaucoup. Je suis en déplacement pour "
    "le travail, je vous paie par virement et mon transporteur passera le récupérer. Écrivez-moi à "
    "{email} ou au {phone}"
)


def script(name: str = "Marie", item: str = "canapé", price: str = "120", email: str = "a.b@gmail.com",
           phone: str = "06 12 34 56 78") -> str:  # fmt: skip
    return SCRIPT.format(name=name, item=item, price=price, email=email, phone=phone)


def sig(text: str) -> TemplateSignature:
    signature = template_signature(text)
    assert signature is not None
    return signature


def test_masks_names_numbers_links_and_addresses() -> None:
    tokens = template_tokens("Bonjour Marie, 120 € sur https://x.example/p ou jean@gmail.com, 06 12 34 56 78")
    assert tokens[:2] == ["bonjour", "<name>"]
    assert "<num>" in tokens and "<url>" in tokens and "<email>" in tokens
    assert "marie" not in tokens and "jean" not in tokens


@pytest.mark.parametrize(
    "variant",
    [
        script(name="Paul", price="75", email="zz.top@hotmail.fr", phone="07 99 88 77 66"),
        script(name="Sophie", item="vélo"),
        script().replace("beaucoup", "vraiment"),
        script().upper(),
        script().replace("é", "e").replace("à", "a"),
    ],
    ids=["name-price-contacts", "item", "one-word", "case", "accents"],
)
def test_variants_of_a_script_are_similar(variant: str) -> None:
    assert similarity(sig(script()), sig(variant)) >= 0.7
    # LSH finds them: at least one band in common.
    assert set(band_keys(sig(script()))) & set(band_keys(sig(variant)))


@pytest.mark.parametrize(
    "other",
    [
        "Bonjour, est-ce que le vélo est encore disponible ? Je peux passer ce soir après le travail pour "
        "le voir et payer en espèces.",
        "Hello, is the sofa still available? I could pick it up on Saturday morning and pay cash.",
        "Merci pour l'achat, le colis part demain matin par Colissimo, je vous envoie le suivi ce soir.",
    ],
)
def test_unrelated_messages_are_not_similar(other: str) -> None:
    assert similarity(sig(script()), sig(other)) < 0.3


def test_short_messages_have_no_signature() -> None:
    assert template_signature("Bonjour, toujours disponible ?") is None
    assert template_signature("Bonjour, toujours disponible ?", min_tokens=3) is not None


def test_signature_is_stable_and_round_trips() -> None:
    a = sig(script())
    assert a == sig(script())  # deterministic across calls (and processes: fixed seeds)
    assert len(a.hashes) == NUM_PERM
    assert TemplateSignature.from_bytes(a.to_bytes()).hashes == a.hashes
    with pytest.raises(ValueError):
        TemplateSignature.from_bytes(b"short")
