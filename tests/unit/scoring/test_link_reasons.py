"""Link reasons: homographs only in the host, no host-model verdict on a shortener, user-info links."""

from __future__ import annotations

import pytest

from scoring.engine import Scorer
from scoring.types import Kind, ScoreInput, Verdict


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer.load()


def test_accented_path_on_a_real_site_is_not_a_homograph(scorer: Scorer) -> None:
    text = "Le point sur Google Maps : https://www.google.com/maps/place/Résidence+Les+Acacias bâtiment B"
    result = scorer.score(ScoreInput(id="t", kind=Kind.MESSAGE, text=text))
    assert "domain.homoglyph_letters" not in {r.code for r in result.reasons}
    assert result.verdict is Verdict.ALLOW


@pytest.mark.parametrize("link", ["https://www.lеboncoin.fr/paiement", "http://раypal.com/x"])
def test_cyrillic_letters_in_the_host_still_count(scorer: Scorer, link: str) -> None:
    result = scorer.score(ScoreInput(id="t", kind=Kind.MESSAGE, text=f"Payez ici {link}"))
    reasons = {r.code: r for r in result.reasons}
    assert "domain.homoglyph_letters" in reasons
    start, end = reasons["domain.homoglyph_letters"].span or (0, 0)
    assert link.startswith(f"Payez ici {link}"[start:end][:10])
    assert result.verdict.rank >= Verdict.REVIEW.rank


def test_a_shortener_host_gets_no_host_model_verdict(scorer: Scorer) -> None:
    # The host model's opinion of a shortener's own domain is the same for every link it hides.
    text = "Le parking du rendez-vous : https://maps.app.goo.gl/qT7mWx2KpR8vN3sZ6 derrière la salle"
    result = scorer.score(ScoreInput(id="t", kind=Kind.MESSAGE, text=text))
    codes = {r.code for r in result.reasons}
    assert "url.shortener" in codes
    assert "link.model_phishing" not in codes
    assert result.verdict is Verdict.ALLOW


@pytest.mark.parametrize(
    "text",
    ["https://www.leboncoin.fr@evil-pay.cn/confirm", "Confirmez ici : https://leboncoin.fr@secure-pay.top"],
)
def test_a_userinfo_link_is_a_link_not_an_address(scorer: Scorer, text: str) -> None:
    result = scorer.score(ScoreInput(id="t", kind=Kind.MESSAGE, text=text))
    codes = {r.code for r in result.reasons}
    assert {"url.userinfo", "url.spoofed_domain"} <= codes
    assert not any(code.startswith(("email.", "contact.email")) for code in codes)
    assert result.verdict is Verdict.HOLD
