"""The URL-path analyser (scoring/url_path.py): kit mechanisms in the path fire, honest paths stay quiet.

Three levels, table-driven:
- `path_signals` alone: which mechanism a path shows;
- the DomainAnalyzer on the whole link (host + path signals, noisy-OR as fusion does): phishing kit
  links reach a warning, realistic legitimate links (brands' own pages, shops' account pages, articles,
  shared documents) stay under it;
- the full shipped Scorer on honest French marketplace messages carrying such links: verdict allow.
"""

from __future__ import annotations

import time

import pytest

from scoring.engine import Scorer
from scoring.fusion import noisy_or
from scoring.lookalike import DomainAnalyzer
from scoring.types import Category, Kind, ScoreInput, Verdict
from scoring.url_path import kit_words, looks_machine_made, path_signals

ANALYZER = DomainAnalyzer.default()
FLAG = 0.5


def path_codes(path: str, host: str = "example.org") -> dict[str, float]:
    return {s.code: s.weight for s in path_signals(path, host, host)}


def link_score(url: str) -> float:
    """What the link alone contributes after fusion: noisy-OR of the strongest weight per code."""
    best: dict[str, float] = {}
    for s in ANALYZER.assess_url(url):
        best[s.code] = max(best.get(s.code, 0.0), s.weight)
    return noisy_or(best.values())


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/net/login.php", "url.path_kit_page"),
        ("/brt/confirm-card.php", "url.path_kit_page"),
        ("/Webmail/4/Webmail/webmail.php", "url.path_kit_page"),
        ("/suivi-colis.html", "url.path_kit_page"),
        ("/wp-includes/css/2023/", "url.path_site_internals"),
        ("/wp-content/plugins/x/verify.html", "url.path_site_internals"),
        ("/.well-known/pki-validation/bank/index.html", "url.path_site_internals"),
        ("/Login/", "url.phishing_words_path"),
        ("/update.email/update2", "url.phishing_words_path"),
        ("/moncompte/free/index.php", "url.phishing_words_path"),
        ("/x/?email=jean.dupont@orange.fr", "url.path_email"),
        ("/index.html#jean.dupont@orange.fr", "url.path_email"),
        ("/cgi/aHR0cHM6Ly93d3cuZXZpbC5jb20v", "url.path_hidden_url"),
        ("/r/?e=amVhbi5kdXBvbnRAb3JhbmdlLmZy", "url.path_hidden_email"),
        ("/away.php?to=https%3A%2F%2Fevil.example%2Flogin", "url.path_redirect"),
        ("/a/8f3e1c9b2d4a6e7f/b7c6d5e4f3a2b1c0d9/", "url.path_random_folders"),
        ("/wp-content/arubapanel/arubapanel/", "url.path_site_internals"),
        ("/.cel/", "url.path_site_internals"),
        ("/kundeniono.de/", "url.path_domain_folder"),
        ("/paypal.com/signin", "url.path_domain_folder"),
        ("/K2UyaHZONGF4cnlTaVR4QlJmcGgvNk01Qm9hQmJNcEFFMzZEdmJKQW4", "url.path_opaque_token"),
        ("/captcha", "url.phishing_words_path"),
        ("/css/themes.php", "url.path_script_in_assets"),
        ("/wp-content/uploads/", "url.path_site_internals"),
        ("/updatemail.plala.or.jp/Sites/index.html", "url.path_domain_folder"),
        ("/type.php?r=bD1odHRwczovL25hZ295YS16b250YS5vcmcvP2NpZD1Oems1TmpJeA=", "url.path_hidden_url"),
        ("/Main/Login", "url.phishing_words_path"),
        ("/ipfs/bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi/index.html", "url.path_ipfs"),
    ],
)
def test_kit_mechanisms_in_the_path(path: str, code: str) -> None:
    assert code in path_codes(path), path_signals(path, "example.org", "example.org")


def test_signals_are_phishing_link_with_domain_detail() -> None:
    signals = path_signals("/wp-admin/secure/login.php", "evil.example", "evil.example")
    assert signals
    for s in signals:
        assert s.category is Category.PHISHING_LINK
        assert s.detail["domain"] == "evil.example"
        assert s.detail["brand"] is None
        assert 0.0 < s.weight <= 0.55


def test_open_redirect_key_weighs_more_than_a_bare_embedded_url() -> None:
    redirect = path_codes("/away.php?to=https://evil.example/")["url.path_redirect"]
    embedded = path_codes("/landing?utm_image=http%3A%2F%2Fcdn.example%2Fa.png")["url.path_redirect"]
    assert redirect > embedded


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/",
        "/fr/fr/p/kallax-etagere-blanc-80275887/",
        "/blog/2024/05/how-to-secure-your-account-in-five-steps",
        "/comment-suivre-son-colis-sans-numero",
        "/wp-content/uploads/2023/05/velo.jpg",
        "/wp-content/uploads/2023/05/notice.pdf",
        "/docs/node.js/guide",
        "/index.php?route=product/product&product_id=42",
        "/images/login.png",
        "/produit/12345?ref=accueil",
        "/articles/winxpsecuritychecklist.htm",
        "/catalogue/velos/vtt-rockrider-st-520",
        "/search?q=velo+electrique&page=2",
    ],
)
def test_ordinary_paths_raise_nothing(path: str) -> None:
    assert path_codes(path) == {}


@pytest.mark.parametrize(
    "url",
    [
        "https://philipdaviesheritage-example.co.uk/net/wp-includes/login.php",
        "https://ginimin-logen.gitbook.io/sign-in/",
        "http://freeaddposting.example/wp-includes/theme-compat/bmo/index.htm",
        "https://absf4csecurity.example/rFbaEjo93k/auth/login.php",
        "https://xiziotiselevator.example/cgi/aHR0cHM6Ly93d3cuZ29vZ2xlLmNvbS8",
        "https://www.lbank.site/login.html",
        "http://198.51.100.7/secure/update/index.php",
        "https://abc123.web.app/verify/account",
    ],
)
def test_phishing_kit_links_warn(url: str) -> None:
    assert link_score(url) >= FLAG, ANALYZER.assess_url(url)


@pytest.mark.parametrize(
    "url",
    [
        # the brands' own pages: allowed domains raise nothing, whatever the path says
        "https://www.leboncoin.fr/ad/velos/2400032278",
        "https://www.leboncoin.fr/compte/connexion?redirect=https://www.leboncoin.fr/mes-annonces",
        "https://www.laposte.fr/outils/suivre-vos-envois?code=6A00404307343",
        "https://www.mondialrelay.fr/suivi-de-colis/?numeroExpedition=51905172&codePostal=44000",
        "https://www.vinted.fr/items/3209382293-sac-longchamp",
        "https://www.paypal.com/signin?returnUri=https%3A%2F%2Fwww.paypal.com%2Fmyaccount",
        "https://docs.google.com/document/d/1aBcD3fGhIjKlMnOpQrStUvWxYz/edit?usp=sharing",
        "https://drive.google.com/file/d/1aBcD3fGhIjKlMnOpQrStUvWxYz/view?usp=sharing",
        "https://youtu.be/dQw4w9WgXcQ",
        # shops' and services' own account and login pages
        "https://www.boulanger.com/account/login",
        "https://www.example-shop.fr/customer/account/login/",
        "https://www.fnac.com/a17246131/Apple-iPhone-15-128-Go-Noir",
        "https://www.ikea.com/fr/fr/p/kallax-etagere-blanc-80275887/",
        "https://forum.example-velo.fr/login.php",
        "https://www.decathlon.fr/p/velo-vtt-st-520/_/R-p-300727",
        # articles about security or parcels
        "https://www.example-blog.fr/2024/03/comment-securiser-son-compte-paypal/",
        "https://www.lemonde.fr/pixels/article/2024/01/12/arnaques-au-colis-comment-les-reperer_6210.html",
        "https://www.example-news.com/tech/how-to-verify-your-account-safely",
        # newsletters and tracking links
        "https://www.example-shop.fr/unsubscribe?email=client@example.fr",
        "https://click.example-mail.com/?url=https%3A%2F%2Fwww.example-shop.fr%2Fsoldes",
        "https://www.example-shop.fr/wp-content/uploads/2024/02/canape-3-places.jpg",
    ],
)
def test_legitimate_links_stay_under_a_warning(url: str) -> None:
    assert link_score(url) < FLAG, ANALYZER.assess_url(url)


def test_brand_pages_raise_no_path_signal() -> None:
    for url in (
        "https://www.laposte.fr/outils/suivre-vos-envois?code=6A00404307343",
        "https://www.leboncoin.fr/compte/connexion/login.php",
    ):
        assert ANALYZER.assess_url(url) == []


def test_brand_in_the_path_of_a_kit_page_warns() -> None:
    # The brand named in the path (spoofed_domain, brand_in_path) and a kit page combine across
    # categories: that is the impersonation.
    url = "https://hustleboxing.example/leboncoin/paiement/login.php"
    codes = {s.code for s in ANALYZER.assess_url(url)}
    assert {"url.spoofed_domain", "url.path_kit_page"} <= codes
    assert link_score(url) >= FLAG


@pytest.mark.parametrize(
    ("url", "technique", "weight"),
    [
        ("http://ztymnabbiw.duckdns.org/en/", "dynamic_dns", 0.45),
        ("https://nftsite.ipfs.dweb.link/", "ipfs_gateway", 0.45),
        ("https://bkt.s3.us-east-1.amazonaws.com/finish.html", "object_storage", 0.35),
        ("https://quickrides-9ac18.web.app/", "free_hosting", 0.35),
        ("https://teachable.com/courses/myaccount678", "published_by_path", 0.35),
        # a brand's own publishing service: the brand signal judges the host
        ("https://sites.google.com/view/monatelier", "free_hosting", 0.3),
    ],
)
def test_hosting_kinds(url: str, technique: str, weight: float) -> None:
    (signal,) = [s for s in ANALYZER.assess_url(url) if s.code == "url.free_hosting"]
    assert (signal.detail["technique"], signal.weight) == (technique, weight)


def test_a_page_served_from_a_bucket() -> None:
    codes = {s.code for s in ANALYZER.assess_url("https://bkt.s3.us-east-1.amazonaws.com/finish.html")}
    assert "url.storage_page" in codes
    codes = {s.code for s in ANALYZER.assess_url("https://bkt.s3.us-east-1.amazonaws.com/photo.jpg")}
    assert "url.storage_page" not in codes
    # the platform's own home page publishes nothing
    assert ANALYZER.assess_url("https://campsite.bio/") == []


@pytest.mark.parametrize(
    ("url", "short"),
    [
        ("https://zrr.kr/rsqK", True),
        ("https://u3l.co/FD2Dv", True),
        ("https://qr.fm/KDcnqz", True),
        ("https://abc.fr/contact", False),
        ("https://abc.fr/2024", False),
        ("https://youtu.be/dQw4w9WgXcQ", False),
        ("https://longername.com/AbC12", False),
        ("https://sub.abc.io/AbC12", False),
    ],
)
def test_opaque_short_links(url: str, short: bool) -> None:
    codes = {s.code for s in ANALYZER.assess_url(url)}
    assert ("url.opaque_short_link" in codes) is short


def test_helpers() -> None:
    assert kit_words("webmail.php") == {"webmail"}
    assert kit_words("sign-in") == {"signin"}
    assert kit_words("how-to-secure-your-account") == set()
    assert kit_words("winxpsecuritychecklist.htm") == set()
    assert looks_machine_made("8f3e1c9b2d4a6e7f")
    assert looks_machine_made("x7Kq9ZpW3tRb")
    assert not looks_machine_made("2400032278")
    assert not looks_machine_made("velo-electrique")


def test_paths_are_bounded_and_fast() -> None:
    # No pattern backtracks: adversarial 4 KB paths take microseconds, not seconds.
    nasty = [
        "/" + "a-" * 2000,
        "/?" + "=" * 4000,
        "/" + "A" * 4000 + "=",
        "/" + "login/" * 700,
        "/" + "x@" * 2000,
        "/?to=" + "http%3A%2F%2F" * 300,
    ]
    start = time.perf_counter()
    for path in nasty:
        ANALYZER.assess_url("https://example.org" + path)
    assert time.perf_counter() - start < 0.2


@pytest.fixture(scope="module")
def shipped() -> Scorer:
    return Scorer.load()


@pytest.mark.parametrize(
    "text",
    [
        "Bonjour, le vélo est toujours dispo : https://www.leboncoin.fr/ad/velos/2400032278 je peux le "
        "garder jusqu'à samedi.",
        "Colis déposé ce matin, voici le suivi : https://www.laposte.fr/outils/suivre-vos-envois?code=6A00404307343",
        "C'est le même modèle que celui-ci https://www.ikea.com/fr/fr/p/kallax-etagere-blanc-80275887/ "
        "en blanc.",
        "J'ai mis la notice ici si besoin : https://docs.google.com/document/d/1aBcD3fGhIjKlMnOpQrStUvWxYz/edit",
        "La fiche du constructeur : https://www.decathlon.fr/p/velo-vtt-st-520/_/R-p-300727 merci !",
        "Voilà la vidéo du moteur qui tourne : https://youtu.be/dQw4w9WgXcQ",
        "Un article utile sur les arnaques au colis : https://www.lemonde.fr/pixels/article/2024/01/12/"
        "arnaques-au-colis-comment-les-reperer_6210.html",
    ],
)
def test_honest_messages_with_links_are_allowed(shipped: Scorer, text: str) -> None:
    result = shipped.score(ScoreInput(id="h", kind=Kind.MESSAGE, text=text))
    assert result.verdict is Verdict.ALLOW, result.reasons
