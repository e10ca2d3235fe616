"""DomainAnalyzer URL risk with no brand involved: shorteners, IP hosts, free hosting, odd shapes.

These are moderate weights by design: a link alone must not flag a popular legitimate domain.
"""

from __future__ import annotations

import pytest

from scoring.lookalike import DomainAnalyzer
from scoring.types import Category

ANALYZER = DomainAnalyzer.default()


def codes(url: str) -> dict[str, float]:
    return {s.code: s.weight for s in ANALYZER.assess_url(url)}


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://bit.ly/3xYz", "url.shortener"),
        ("tinyurl.com/abc", "url.shortener"),
        ("https://t.co/xyz", "url.shortener"),
        ("http://192.168.10.4/paiement", "url.ip_host"),
        ("http://[2001:db8::1]:8080/x", "url.ip_host"),
        ("https://mon-annonce-42.weebly.com", "url.free_hosting"),
        ("https://reglement-commande.web.app/", "url.free_hosting"),
        ("https://abc123.ngrok-free.app/", "url.free_hosting"),
        ("https://sites.google.com/view/remboursement", "url.free_hosting"),
        ("https://commande-validee.xyz/", "url.suspicious_tld"),
        ("https://secure-login-account-update.com/", "url.phishing_words_host"),
        ("https://example.org/account/verify", "url.phishing_words_path"),
        ("https://xkqzvbnmwt.com/", "url.random_label"),
        ("https://user@example.org/", "url.userinfo"),
        ("https://example.org:8081/", "url.port"),
        ("https://a-b-c-d-e.com/", "url.odd_label"),
        ("https://a.b.c.d.e.example.org/", "url.deep_subdomains"),
    ],
)
def test_risky_shapes_raise_their_signal(url: str, code: str) -> None:
    assert code in codes(url), ANALYZER.assess_url(url)


def test_shortener_category_and_warning_weight() -> None:
    # A shortened link hides its destination: it warns alone (0.5), far from a hold.
    (signal,) = ANALYZER.assess_url("https://bit.ly/3xYz")
    assert signal.category is Category.URL_SHORTENER
    assert signal.weight == 0.5
    assert signal.detail == {
        "domain": "bit.ly",
        "brand": None,
        "technique": "shortener",
        "shortener": "bit.ly",
    }


def test_shape_signals_are_phishing_link_without_brand() -> None:
    for signal in ANALYZER.assess_url("http://10.0.0.1:8080/login"):
        assert signal.category is Category.PHISHING_LINK
        assert signal.detail["brand"] is None
        assert 0.0 < signal.weight <= 1.0


@pytest.mark.parametrize(
    "url",
    [
        "https://www.lemonde.fr/economie/article/2025/01/01/x.html",
        "https://fr.wikipedia.org/wiki/Paris",
        "https://github.com/pallets/flask",
        "https://www.youtube.com/watch?v=abc",
        "https://www.ouest-france.fr/",
        "https://www.decathlon.fr/p/velo",
        "https://maps.app.goo.gl/abc",
        "https://www.sncf-connect.com/",
        "https://www.blablacar.fr/",
        "https://www.boulanger.com/",
    ],
)
def test_ordinary_links_stay_below_flag_line(url: str) -> None:
    assert max((s.weight for s in ANALYZER.assess_url(url)), default=0.0) < 0.5, ANALYZER.assess_url(url)


@pytest.mark.parametrize(
    ("url", "category"),
    [
        ("https://suivi-colis-livraison.com/", Category.FAKE_DELIVERY),
        ("https://paiement-securise-transaction.fr/", Category.FAKE_SECURE_PAYMENT),
    ],
)
def test_scam_vocabulary_domains_without_brand_get_a_weak_specific_signal(
    url: str, category: Category
) -> None:
    signals = [s for s in ANALYZER.assess_url(url) if s.category is category]
    assert signals and 0.0 < signals[0].weight < 0.5
    assert signals[0].detail["brand"] is None


@pytest.mark.parametrize("url", ["", "   ", "https://", "://", "mailto:", "http://[::1", "\x00\x00", "@@@"])
def test_garbage_never_raises(url: str) -> None:
    assert isinstance(ANALYZER.assess_url(url), list)
    assert isinstance(ANALYZER.assess_email(url), list)
    assert isinstance(ANALYZER.registrable_domain(url), str)
    assert isinstance(ANALYZER.is_allowed(url), bool)
