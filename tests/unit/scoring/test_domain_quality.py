"""Look-alike and phishing-link mechanisms, table-driven: what must warn and what must stay quiet.

Two levels: the DomainAnalyzer's signals (weights before fusion; FLAG = what warns alone), and the
rules-only Scorer's verdict for a link sent alone in a message (what a recipient would see).
Decisions documented here:
- a context word that is part of the imitated token backs nothing up (`mail.com` is not "gmail" +
  "mail", `huaweicloud.com` is not "icloud" + "cloud");
- worldwide brands register their name on other TLDs and name products after themselves: alone, that
  stays under FLAG; next to a scam word, or in a sub-domain of someone else's site, it is a claim;
- a shortened link warns on its own; the shortener's home page does not;
- a customer's site on a brand's platform (PSL private suffix) is not the brand speaking;
- a domain written inside another host (`x.nl.evil.com`, `allegro.pl-offer.shop`) is a disguise.
"""

from __future__ import annotations

import pytest

from scoring.engine import Scorer
from scoring.lookalike import DomainAnalyzer
from scoring.types import Category, Kind, ScoreInput, Verdict

ANALYZER = DomainAnalyzer.default()
FLAG = 0.5


def strongest(url: str) -> tuple[float, str | None]:
    """(weight, code) of the strongest signal for `url`, or (0, None)."""
    signals = ANALYZER.assess_url(url)
    if not signals:
        return 0.0, None
    best = max(signals, key=lambda s: s.weight)
    return best.weight, best.code


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("amazon-remboursement.com", "url.fake_secure_payment"),
        ("paypal-secure-login.com", "url.fake_secure_payment"),
        ("googledrive.myblog.co.za", "url.spoofed_domain"),  # brand in someone else's sub-domain
        ("dh1.fr", "url.spoofed_domain"),  # digits for letters are deliberate, even on a short token
        ("bit.ly/3xQz9", "url.shortener"),
        ("https://tinyurl.com/mr-colis-1234", "url.shortener"),
        ("mijn.overheid.nl.berichten.example.com", "url.domain_in_subdomain"),
        ("allegro.pl-oferta123.shop", "url.domain_in_subdomain"),
        ("paypal.com.evil.xyz", "url.spoofed_domain"),
        ("amazon.co.jp.evil.cn", "url.spoofed_domain"),
    ],
)
def test_flagged_alone(url: str, code: str) -> None:
    weight, found = strongest(url)
    assert weight >= FLAG, (url, weight, found)
    assert found == code


@pytest.mark.parametrize(
    "url",
    [
        "mail.com",  # one letter from "gmail": "mail" is the token itself, not a service word next to it
        "huaweicloud.com",  # "icloud" inside, "cloud" is part of it
        "selcloud.ru",
        "googleblog.com",  # a worldwide brand's product name on a registrable domain
        "amazonfresh.com",
        "microsoftedge.com",
        "amazon.lu",  # a worldwide brand's name on another TLD
        "lci.fr",  # i/l swap of a short token
        "lbc.co.uk",
        "bit.ly",  # the shortener's home page hides nothing
        "https://tinyurl.com/",
        "tenant.eu.saasapp.com",  # a region label, not a domain
        "www.ca-paris.fr",
        "fast-delivery.net",  # one delivery word ("delivery" also contains "deliver")
        "securemail.example.org",  # one kit word, counted once (not also as a payment word)
    ],
)
def test_not_flagged_alone(url: str) -> None:
    weight, code = strongest(url)
    assert weight < FLAG, (url, weight, code)


@pytest.mark.parametrize(
    ("url", "hosting"),
    [
        ("https://mybucket.s3.eu-west-3.amazonaws.com/index.html", "s3.eu-west-3.amazonaws.com"),
        ("https://d1abcxyz.cloudfront.net/login", "cloudfront.net"),
        ("https://my-page.start.page/", "start.page"),
    ],
)
def test_customer_sites_on_platforms_are_not_the_platform(url: str, hosting: str) -> None:
    assert not ANALYZER.is_allowed(url)
    signals = {s.code: s for s in ANALYZER.assess_url(url)}
    assert signals["url.free_hosting"].detail["hosting"] == hosting


@pytest.mark.parametrize(
    ("address", "claimed"),
    [
        ("leboncoin-noreply@gmail.com", "leboncoin"),
        ("service.paypal@outlook.fr", "paypal"),
        ("marie.dupont@gmail.com", None),  # an ordinary free-mail user claims nothing
        ("contact@mail.com", None),
        ("equipe@leboncoin.fr", None),  # the brand's own domain
    ],
)
def test_free_mail_brand_claims(address: str, claimed: str | None) -> None:
    brands = {s.detail["brand"] for s in ANALYZER.assess_email(address) if s.weight >= FLAG}
    assert brands == ({claimed} if claimed else set())


def test_single_kit_word_counts_once() -> None:
    codes = [s.code for s in ANALYZER.assess_url("doublesecure-example.com")]
    assert codes.count("url.phishing_words_host") == 1
    assert "url.payment_words" not in codes  # "secure" is not counted a second time as a payment word
    two = {s.code: s.weight for s in ANALYZER.assess_url("confirm-account-page.example.net")}
    assert two["url.phishing_words_host"] > {
        s.code: s.weight for s in ANALYZER.assess_url("confirm.net")
    }.get("url.phishing_words_host", 0.0)


# --- the whole rules-only scorer: a link alone in a message ----------------------------------------------


def verdict(scorer: Scorer, text: str) -> tuple[Verdict, set[str]]:
    result = scorer.score(ScoreInput(id="t", kind=Kind.MESSAGE, text=text))
    return result.verdict, {c.value for c in result.categories}


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("leb0ncoin.fr", Category.SPOOFED_DOMAIN),  # leet-decoded by normalisation, judged as written
        ("Payez ici : https://leb0ncoin.fr/paiement", Category.SPOOFED_DOMAIN),
        ("v1nted.fr", Category.SPOOFED_DOMAIN),
        ("leboncoin-paiement.com", Category.FAKE_SECURE_PAYMENT),
        ("paypal.com-receive.money", Category.SPOOFED_DOMAIN),
        ("xn--lboncoin-f1a.fr", Category.SPOOFED_DOMAIN),  # punycode of "lеboncoin" (Cyrillic е)
        ("mondialrelay-livraison.fr", Category.FAKE_DELIVERY),
        ("Suivez votre colis : bit.ly/3xQz9", Category.URL_SHORTENER),
        ("Écrivez à leboncoin-noreply@gmail.com pour valider", Category.SPOOFED_DOMAIN),
    ],
)
def test_lookalikes_warn(rules_scorer: Scorer, text: str, category: Category) -> None:
    found, categories = verdict(rules_scorer, text)
    assert found.rank >= Verdict.WARN.rank, (text, found, categories)
    assert category.value in categories


@pytest.mark.parametrize(
    "text",
    [
        "leboncoin.fr",
        "https://www.leboncoin.fr/ad/123",
        "www.laposte.fr",
        "mondialrelay.fr",
        "wikipedia.org",
        "lemonde.fr",
        "google.com",
        "amazon.de",
        "microsoftedge.com",
        "mail.com",
    ],
)
def test_real_and_popular_domains_allowed(rules_scorer: Scorer, text: str) -> None:
    found, categories = verdict(rules_scorer, text)
    assert found is Verdict.ALLOW, (text, found, categories)
