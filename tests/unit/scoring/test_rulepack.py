"""Rule pack loading: the shipped pack is valid, versions are content hashes, errors name the key."""

from __future__ import annotations

import re
import tomllib

import pytest

from scoring.rulepack import DEFAULT_RULES_PATH, RulePackError, load_rulepack, parse_rulepack
from scoring.types import Kind

CONTENT = DEFAULT_RULES_PATH.read_text(encoding="utf-8")


def test_default_pack_loads_with_ordered_thresholds() -> None:
    pack = load_rulepack()
    assert pack.rules
    for kind in Kind:
        t = pack.thresholds[kind]
        assert 0 < t.warn <= t.review <= t.hold <= 1


def test_version_is_declared_version_plus_content_hash() -> None:
    a = parse_rulepack(CONTENT)
    b = parse_rulepack(CONTENT)
    c = parse_rulepack(CONTENT + "\n# comment\n")
    assert a.version == b.version
    declared = tomllib.loads(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))["version"]
    assert a.version.startswith(f"{declared}+")
    assert c.version != a.version


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'code = "payment.paypal_friends"\ncategory = "external_payment"\nweight = 0.80',
            'code = "payment.paypal_friends"\ncategory = "external_payment"\nweight = 1.5',
            "rule[0] (payment.paypal_friends).weight",
        ),
        ('category = "external_payment"', 'category = "nonsense"', ".category: unknown category"),
        ('all = ["paypal", "friends_mode"]', 'all = ["paypal", "no_such_list"]', "'no_such_list'"),
        (
            "[thresholds.message]\nwarn = ",
            "[thresholds.message]\nwarn = 0.99\nunused = ",
            "thresholds.message",
        ),
        ('\nversion = "', '\nversion = 3\nunused = "', "version"),
        ("[masks]\n", '[masks]\nnot_a_lexicon = ["self_give"]\n', "masks.not_a_lexicon"),
        ("\nmodel_weight = ", '\nmodel_weight = "high"\nunused = ', "fusion.model_weight"),
        ("window = 60\nnegatable = true", "window = 60\nnegatable = true\ncolour = 1", "unknown key"),
        ("url_model_min_p = 0.80", 'url_model_min_p = "auto"', "fusion.url_model_min_p"),
        ("asked_allows = true", 'asked_allows = "yes"', "fusion.asked_allows"),
        ("model_only_min_p_bare = 1.01", "model_only_min_p_bare = 2", "fusion.model_only_min_p_bare"),
    ],
)
def test_invalid_pack_names_the_bad_key(old: str, new: str, message: str) -> None:
    assert old in CONTENT
    with pytest.raises(RulePackError, match=re.escape(message)):
        parse_rulepack(CONTENT.replace(old, new, 1))


def test_invalid_toml_is_a_rulepack_error() -> None:
    with pytest.raises(RulePackError, match="invalid TOML"):
        parse_rulepack("version = ")


def test_url_model_min_p_follows_the_loaded_url_model_unless_a_number_is_given() -> None:
    from scoring.engine import Scorer
    from scoring.model import UrlModel

    shipped = load_rulepack().fusion.url_model_min_p
    assert shipped is not None  # the shipped pack fixes a number (see the comment in default.toml)
    follows = parse_rulepack(
        CONTENT.replace(f"url_model_min_p = {shipped:.2f}", 'url_model_min_p = "model"', 1)
    )
    assert follows.fusion.url_model_min_p is None
    url_model = UrlModel.load()
    assert Scorer(follows, url_model=url_model).pack.fusion.url_model_min_p == url_model.threshold
    assert Scorer(follows).pack.fusion.url_model_min_p == 1.0  # no URL model, no URL-model reason
    assert Scorer(load_rulepack(), url_model=url_model).pack.fusion.url_model_min_p == shipped
