"""Which entities are remembered across messages, under which key."""

from __future__ import annotations

from scoring.entity_keys import CommonDomains, default_common_domains, indexable_entities, key_of
from scoring.types import Category, Kind, ScoreInput

TEXT = (
    "Payez sur paypal.me/JeanMichel75 ou par virement FR76 3000 6000 0112 3456 7890 189, "
    "whatsapp 06 12 34 56 78, jean.m@gmail.com, suivi sur mondialrelay-livraison.fr/colis "
    "ou https://www.leboncoin.fr/aide et bit.ly/abc"
)


def message(text: str, title: str | None = None) -> ScoreInput:
    return ScoreInput(id="s1", kind=Kind.MESSAGE, text=text, title=title)


def test_payment_contact_and_domain_entities_are_keyed() -> None:
    found = {e.key: e for e in indexable_entities(message(TEXT))}
    assert set(found) == {
        "handle:paypal.me/jeanmichel75",
        "iban:FR7630006000011234567890189",
        "phone:+33612345678",
        "email:jean.m@gmail.com",
        "domain:mondialrelay-livraison.fr",
    }
    handle = found["handle:paypal.me/jeanmichel75"]
    assert TEXT[handle.span[0] : handle.span[1]] == "paypal.me/JeanMichel75" == handle.evidence
    assert handle.category is Category.EXTERNAL_PAYMENT
    assert found["phone:+33612345678"].category is Category.OFF_PLATFORM
    assert found["domain:mondialrelay-livraison.fr"].category is Category.PHISHING_LINK


def test_platform_and_shared_hosts_are_not_identities() -> None:
    keys = {e.key for e in indexable_entities(message("Écrivez à noreply@leboncoin.fr ou voyez bit.ly/x"))}
    assert not any(k.startswith("domain:") for k in keys)
    assert "email:noreply@leboncoin.fr" not in keys


def test_title_entities_point_into_the_title() -> None:
    found = indexable_entities(message("rien ici", title="Contact 06 12 34 56 78"))
    assert [(e.field, e.evidence) for e in found] == [("title", "06 12 34 56 78")]


def test_custom_common_domains() -> None:
    common = CommonDomains(is_allowed=lambda host: host.endswith("example.org"))
    keys = {e.key for e in indexable_entities(message("voir shop.example.org et evil-shop.com"), common)}
    assert keys == {"domain:evil-shop.com"}
    assert default_common_domains() is default_common_domains()


def test_key_of_canonicalises_moderator_input() -> None:
    assert key_of("handle", " PayPal.me/JeanMichel75 ") == "handle:paypal.me/jeanmichel75"
    assert key_of("iban", "fr76 3000 6000") == "iban:FR7630006000"
