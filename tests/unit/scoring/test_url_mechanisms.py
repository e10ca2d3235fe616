"""URL mechanisms that hide a destination or collect data off the platform (url_shape / url_path).

Pages published by path on form, survey, link-in-bio, note and design platforms, mass-mailing click
trackers (by host, and by the tracking path on a customer's own domain), unknown shortener shapes, kit
pages in kit folders, kit folders unpacked twice, and a victim's e-mail carried through a redirect. Each
table has its honest counterpart that must stay under a warning, and honest marketplace messages with
links stay allowed through the whole shipped Scorer.
"""

from __future__ import annotations

import pytest

from scoring.engine import Scorer
from scoring.fusion import noisy_or
from scoring.lookalike import DomainAnalyzer
from scoring.rulepack import RulePackError, load_brands, parse_brands
from scoring.types import Category, Kind, ScoreInput, Verdict
from scoring.url_path import path_signals

ANALYZER = DomainAnalyzer.default()
WARN = 0.5


def signals(url: str) -> dict[str, float]:
    best: dict[str, float] = {}
    for s in ANALYZER.assess_url(url):
        best[s.code] = max(best.get(s.code, 0.0), s.weight)
    return best


def link_score(url: str) -> float:
    return noisy_or(signals(url).values())


@pytest.mark.parametrize(
    ("url", "platform"),
    [
        ("https://form.jotform.com/251255259851562", "jotform.com"),
        ("https://forms.gle/aB3dE5fG7hJ9kL1m8", "forms.gle"),
        ("https://www.surveymonkey.com/r/9GXBYQS", "surveymonkey.com"),
        ("https://linkin.bio/colis-suivi", "linkin.bio"),
        ("https://share.evernote.com/note/51a69dfd-dc47-c356-494f-08878fa41e94", "evernote.com"),
        ("https://rp.mockplus.com/run/Xy12AbC/index.html", "mockplus.com"),
        ("https://telegra.ph/Remboursement-Vinted-05-12", "telegra.ph"),
    ],
)
def test_a_page_published_on_a_user_content_platform_warns(url: str, platform: str) -> None:
    (signal,) = [s for s in ANALYZER.assess_url(url) if s.code == "url.user_page"]
    assert signal.detail["platform"] == platform
    assert signal.category is Category.PHISHING_LINK
    assert link_score(url) >= WARN
    # one page is one signal: the platform's free-hosting entry does not count it a second time
    assert "url.free_hosting" not in signals(url)


@pytest.mark.parametrize("url", ["https://www.jotform.com/", "https://linkin.bio", "https://evernote.com/"])
def test_the_platforms_home_page_raises_nothing(url: str) -> None:
    assert "url.user_page" not in signals(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://u32934010.ct.sendgrid.net/ls/click?upn=u001.C7GiZ-2FSmbwgP-2BHbO4F36MZwbZgJMM3dB4",
        "https://cl.s13.exct.net/?qs=fe0a363f78548551b54aef4013fe5f62f7a0ca526da22c9dbd18b38535e6",
        "https://href.li/?https://example.org/login",
        "https://r20.rs6.net/tn.jsp?f=001abc&c=xyz",
        # a customer's own SendGrid tracking domain: the path gives it away
        "http://url5157.crm-example.com/ls/click?upn=u001.5IPFqzDNVGgeNG9k2WIJ-2Fy-2BJI1V7aQqZhUE",
    ],
)
def test_click_trackers_hide_the_destination_like_a_shortener(url: str) -> None:
    found = [s for s in ANALYZER.assess_url(url) if s.code == "url.click_tracker"]
    assert found and all(s.category is Category.URL_SHORTENER for s in found)
    assert link_score(url) >= WARN


@pytest.mark.parametrize(
    ("url", "short"),
    [
        ("https://tyni.at/HHVHTHN", True),  # capitals only
        ("https://tapk.it/uhghfgjg", True),  # letters no one reads as a word
        ("https://flowto.it/8CJe3xJKt?fc=0", True),  # six-letter label, query ignored
        ("https://hotm.ex/HUGV893482348", True),  # a 13-character token
        ("https://lidl.fr/promo", False),
        ("https://ikea.fr/cuisine", False),
        ("https://abc.fr/contact", False),
        ("https://bulksms.example/NetFxs", False),  # seven-letter label: a name, not a shortener
        ("https://abc.fr/strength", False),  # a real word, even consonant-heavy, has vowels
    ],
)
def test_unknown_shortener_shapes(url: str, short: bool) -> None:
    assert ("url.opaque_short_link" in signals(url)) is short


def test_a_kit_page_in_a_kit_folder_warns_a_kit_page_alone_does_not() -> None:
    deep = "http://zuza.example.pl/Webmail/68/Webmail/webmail.php"
    assert link_score(deep) >= WARN, ANALYZER.assess_url(deep)
    assert link_score("https://forum.example-velo.fr/login.php") < WARN
    codes = {s.detail["technique"] for s in path_signals("/secure/login.php", "x.example", "x.example")}
    assert {"kit_page", "kit_page_in_kit_folder"} <= codes


@pytest.mark.parametrize(
    ("path", "repeated"),
    [
        ("/wp-content/arubapanel/arubapanel/", "arubapanel"),
        ("/bm/aruba2/x/aruba2/de/indexo.php", "aruba2"),
        ("/fr/fr/p/kallax-etagere-blanc-80275887/", ""),  # short locale folders repeat honestly
        ("/2024/05/2024/photo", ""),  # numbers are not names
    ],
)
def test_a_folder_unpacked_twice(path: str, repeated: str) -> None:
    found = [s for s in path_signals(path, "x.example", "x.example") if s.code == "url.path_repeated_folder"]
    assert [s.detail["folder"] for s in found] == ([repeated] if repeated else [])


def test_national_login_pages_are_kit_pages() -> None:
    for path in ("/no/bankid/BankID.htm", "/fc/franceconnect-login.php"):
        codes = {s.code for s in path_signals(path, "x.example", "x.example")}
        assert "url.path_kit_page" in codes, path


def test_an_email_carried_through_a_redirect_is_both_mechanisms() -> None:
    url = "https://social.example/away.php?to=https%3A%2F%2Fx.example%2F%3Femail%3Djean%40orange.fr"
    found = signals(url)
    assert {"url.path_email", "url.path_redirect"} <= set(found)
    assert link_score(url) >= WARN
    # a newsletter's own unsubscribe link carries the address but sends nowhere else
    assert link_score("https://www.example-shop.fr/unsubscribe?email=client@example.fr") < WARN


def test_the_case_of_a_link_as_written_reaches_the_path_analyser() -> None:
    # Normalisation lowercases; base64 and short-link tokens are read on the link as written.
    scorer = Scorer.load()
    for text in ("https://deetech.example/res.php#bWljaGVsLmZ1Y2hzQHVuaWwuY2g=", "https://go.ly/lkjRR"):
        result = scorer.score(ScoreInput(id="x", kind=Kind.MESSAGE, text=text))
        codes = {r.code for r in result.reasons}
        assert codes & {"url.path_hidden_email", "url.opaque_short_link"}, (text, codes)


@pytest.mark.parametrize(
    "text",
    [
        "Voilà les photos en grand : https://photos.app.goo.gl/Xy12AbCdEf34GhIj5 je peux en faire d'autres.",
        "Le même modèle chez Decathlon https://www.decathlon.fr/p/velo-vtt-st-520/_/R-p-300727 neuf à 400€",
        "Je vous ai mis l'adresse : https://www.google.com/maps/place/Mairie+de+Nantes on se voit devant",
        "La notice du fabricant est ici https://www.bosch-home.fr/service/notices si besoin",
        "Voici le suivi Mondial Relay https://www.mondialrelay.fr/suivi-de-colis/?numeroExpedition=51905172",
    ],
)
def test_honest_messages_with_links_stay_allowed(text: str) -> None:
    result = Scorer.load().score(ScoreInput(id="h", kind=Kind.MESSAGE, text=text))
    assert result.verdict is Verdict.ALLOW, result.reasons


def test_the_new_lists_are_in_the_brand_list_schema() -> None:
    data = load_brands().data["lists"]
    assert "jotform.com" in data["user_pages"] and "sendgrid.net" in data["click_trackers"]
    with pytest.raises(RulePackError, match="user_pages"):
        parse_brands(
            'version = "t"\n[[brand]]\nname = "x"\ntokens = ["x"]\ndomains = ["x.fr"]\n'
            'kind = "platform"\n[lists]\nuser_pages = "jotform.com"\n'
        )
