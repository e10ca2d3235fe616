"""Training helpers: deterministic splits, source balancing, URL example building, operating point."""

from __future__ import annotations

import numpy as np
import pytest

from scoring.training import (
    Example,
    TrainConfig,
    _threshold_for_rate,
    balance_sources,
    drop_platform_hosted,
    fit_linear,
    fixture_url_examples,
    is_training_part,
    public_text_examples,
    public_url_examples,
    stable_fraction,
    url_split_key,
)


def test_split_is_deterministic_and_near_its_fraction() -> None:
    keys = [f"row-{i}" for i in range(4000)]
    first = [is_training_part(k) for k in keys]
    assert first == [is_training_part(k) for k in keys]
    assert 0.57 < sum(first) / len(keys) < 0.63
    assert all(0.0 <= stable_fraction(k) < 1.0 for k in keys[:50])


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("https://login.paypal.co.uk.evil.com/x", "evil.com"),
        ("docs.google.com/forms/d/1", "google.com"),
        ("www.bbc.co.uk", "bbc.co.uk"),
        ("10.0.0.1", "10.0.0.1"),
    ],
)
def test_url_split_key_is_the_registrable_domain(raw: str, key: str) -> None:
    assert url_split_key(raw) == key


def test_balance_caps_other_sources_at_share_of_anchor() -> None:
    examples = [Example("a", 1, "fixtures")] * 10 + [Example("b", 0, "public")] * 100
    balanced = balance_sources(examples, anchor="fixtures", max_share=0.5)
    public = sum(e.weight for e in balanced if e.source == "public")
    assert public == pytest.approx(5.0)
    assert sum(e.weight for e in balanced if e.source == "fixtures") == 10
    # Already under the cap: unchanged.
    assert balance_sources(examples[:12], "fixtures", 0.5) == examples[:12]


def test_public_text_examples_keep_training_part_and_skip_spam() -> None:
    rows = [
        {"id": f"m-{i}", "text": "win a prize", "label": lab} for i, lab in enumerate(["scam", "spam"] * 50)
    ]
    out = public_text_examples("mendeley_smishing", rows)
    train_ids = {r["id"] for r in rows if r["label"] == "scam" and is_training_part(r["id"])}
    assert len(out) == len(train_ids)
    assert {e.label for e in out} == {1}


def test_public_url_examples_use_hosts_deduplicated() -> None:
    rows = [
        {"id": str(i), "text": f"https://secure-{i % 7}.example-pay.top/login?n={i}", "label": "scam"}
        for i in range(60)
    ]
    out = public_url_examples("phishtank_2025_urls", rows)
    hosts = [e.text for e in out]
    assert len(hosts) == len(set(hosts))
    assert all("/" not in h and ":" not in h for h in hosts)


def test_platform_hosted_phishing_is_dropped() -> None:
    examples = [
        Example("docs.google.com", 1, "p"),
        Example("evil-pay.top", 1, "p"),
        Example("google.com", 0, "t"),
    ]
    kept = drop_platform_hosted(examples, {"google.com"})
    assert [e.text for e in kept] == ["evil-pay.top", "google.com"]


def test_fixture_urls_seen_on_both_sides_and_email_domains_are_left_out() -> None:
    rows = [
        {
            "label": "scam",
            "text": "payez https://mondialrelay-frais.com/p, suivez mondialrelay.fr, jean.dupont@gmail.com",
        },
        {"label": "not_scam", "text": "suivi du colis sur mondialrelay.fr"},
    ]
    assert [(e.text, e.label) for e in fixture_url_examples(rows)] == [("mondialrelay-frais.com", 1)]


def test_threshold_for_rate_bounds_false_positives() -> None:
    probas = np.array([0.1, 0.2, 0.3, 0.9, 0.95, 0.4, 0.8])
    labels = np.array([0, 0, 0, 0, 1, 1, 1])
    threshold = _threshold_for_rate(probas, labels, max_rate=0.0)
    assert ((probas >= threshold) & (labels == 0)).sum() == 0
    threshold = _threshold_for_rate(probas, labels, max_rate=0.25)
    assert ((probas >= threshold) & (labels == 0)).sum() == 1


def test_fit_refuses_too_few_examples_per_class() -> None:
    with pytest.raises(ValueError, match="each class"):
        fit_linear("text", [Example("a", 1, "x"), Example("b", 0, "x")], TrainConfig(folds=3))


def test_fit_reports_per_source_counts() -> None:
    examples = [Example(f"paypal lien {i}", 1, "s1") for i in range(6)]
    examples += [Example(f"bonjour samedi {i}", 0, "s2") for i in range(6)]
    params, report = fit_linear("text", examples, TrainConfig(n_bits=12, folds=3))
    assert report.per_source == {"s1": {"scam": 6}, "s2": {"not_scam": 6}}
    assert params.active.size == params.coef.size == params.idf.size > 0


def test_url_model_learns_host_shape_not_scheme_or_path() -> None:
    from scoring.model import UrlModel

    phishing = [f"https://secure-{w}-verif.top/login?id={i}" for i, w in enumerate("abcdefgh")]
    phishing += [f"http://{w}.colis-frais-{i}.xyz/pay" for i, w in enumerate("ijklmnop")]
    legit = [
        "leboncoin.fr",
        "laposte.fr",
        "ikea.com",
        "wikipedia.org",
        "lemonde.fr",
        "sncf.com",
        "fnac.com",
        "boulanger.com",
        "darty.com",
        "free.fr",
        "orange.fr",
        "amazon.fr",
        "decathlon.fr",
        "ameli.fr",
        "impots.gouv.fr",
        "service-public.fr",
    ]
    examples = [Example(u, 1, "p", group=url_split_key(u)) for u in phishing]
    examples += [Example(d, 0, "l", group=d) for d in legit]
    params, _ = fit_linear("url", examples, TrainConfig(n_bits=16, folds=4))
    model = UrlModel(params, {})
    assert model.predict_one("secure-zz-verif.top") > model.predict_one("carrefour.fr")
    # Scheme and path carry no weight: only the host is featurised.
    assert model.predict_one("https://www.carrefour.fr/a/b?c=1") == model.predict_one("carrefour.fr")


def test_a_quoted_lookalike_in_an_honest_row_is_not_taught_as_legitimate() -> None:
    rows = [
        {"label": "not_scam", "text": "Reçu 'paiement sur vinted-secure-payout.com', c'est une arnaque ?"},
        {"label": "not_scam", "text": "Le suivi est sur https://www.laposte.fr/outils/suivre-vos-envois"},
    ]
    assert [(e.text, e.label) for e in fixture_url_examples(rows)] == [
        ("laposte.fr", 0),
        ("vinted-secure-payout.com", 0),
    ]
    kept = fixture_url_examples(rows, imitates_brand=lambda host: host.startswith("vinted-"))
    assert [(e.text, e.label) for e in kept] == [("laposte.fr", 0)]
