"""The rule pack: phrase lists, rules, weights and thresholds as validated data.

`load_rulepack(path)` parses a TOML file (default: `scoring/rules/default.toml`) into an immutable
`RulePack`; `parse_rulepack(text)` does the same from its content. Loading is a pure function of the
content: the same bytes always give the same pack and the same `rules_version`
("<declared version>+<first 10 hex of sha256(content)>"). Every validation error names the bad key
("rule[3].weight: must be a number in [0, 1]") so a moderator editing the pack can fix it.

The brand list (`scoring/rules/brands.toml`, read by `scoring.lookalike.DomainAnalyzer`) is checked
against `BRANDS_SCHEMA` by `parse_brands` / `load_brands`, with the same key-named errors and a
"<version>+<sha10>" version of its own. `combined_rules_version` joins both versions: that is the
`rules_version` stored on assessments, so a brand-list edit is visible in every verdict it changes.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scoring.types import Category, Kind

DEFAULT_RULES_PATH = Path(__file__).parent / "rules" / "default.toml"
DEFAULT_BRANDS_PATH = Path(__file__).parent / "rules" / "brands.toml"

# Groups provided by entity extraction rather than by phrase lists (see scoring.detectors.context).
ENTITY_GROUPS = frozenset(
    {
        "@url", "@url_external", "@url_allowed", "@iban_like", "@crypto_like",
        "@email", "@phone", "@iban", "@crypto", "@amount", "@siret",
        "@handle_paypal", "@handle_whatsapp", "@handle_telegram", "@handle_lydia", "@handle_revolut",
        "@handle_at",
    }
)  # fmt: skip


class RulePackError(ValueError):
    """The rule pack is invalid; the message names the offending key."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Score thresholds of one content kind: warn <= review <= hold, all in (0, 1]."""

    warn: float
    review: float
    hold: float


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    category: Category
    weight: float
    groups: tuple[str, ...]  # lexicon names or entity groups ("@phone"), all required
    window: int
    unless: tuple[str, ...] = ()
    negatable: bool = False
    kinds: frozenset[Kind] = frozenset(Kind)


@dataclass(frozen=True, slots=True)
class FusionParams:
    model_weight: float
    model_only_cap: float
    model_only_min_p: float
    hold_min_rule_score: float
    # None = the loaded URL model's own operating threshold (url_model.json "threshold"), resolved by the
    # Scorer, so that a retrained model never needs this number changed by hand (TOML: "model").
    url_model_min_p: float | None
    url_model_weight: float
    domain_signal_scale: float
    # Rule evidence below this does not "support" the model: a lone weak mention ("virement", a phone
    # number) plus the model is treated like the model alone, which needs `model_only_min_p`.
    model_support_min_rule: float = 0.0
    # The model's veto: rule evidence below `model_veto_max_rule` does not flag when the model is sure the
    # text is honest (p below `model_veto_p`). 0 / 0 turns it off.
    model_veto_max_rule: float = 0.0
    model_veto_p: float = 0.0
    # A message that asks whether something is legitimate ("c'est normal ?", "is this a scam?") is allowed on
    # its text alone: the asker is the target quoting what she received (policy.decide).
    asked_allows: bool = False
    # The model-only bar for a text that is little more than a link or an address (no prose to read).
    model_only_min_p_bare: float = 0.0


@dataclass(frozen=True, slots=True)
class ContextParams:
    new_account_days: float
    new_account_odds: float
    pro_with_siret_odds: float


@dataclass(frozen=True, slots=True)
class RulePack:
    version: str  # declared version + content hash
    thresholds: Mapping[Kind, Thresholds]
    fusion: FusionParams
    context: ContextParams
    negation_window: int
    lexicons: Mapping[str, tuple[str, ...]]
    rules: tuple[Rule, ...]
    # `[masks]`: lexicon -> lexicons whose hits cancel its overlapping hits (a first-person "je vous
    # donne le code" masks the "donne le" that would otherwise read as a request).
    masks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def _flag(table: Mapping[str, Any], key: str, where: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise RulePackError(f"{where}.{key}: expected true or false, got {value!r}")
    return value


def _number(
    table: Mapping[str, Any],
    key: str,
    where: str,
    lo: float = 0.0,
    hi: float = 1.0,
    default: float | None = None,
) -> float:
    """`table[key]` checked to lie in [lo, hi]; `default` when given and the key is absent (optional keys)."""
    if default is not None and key not in table:
        return default
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= float(value) <= hi:
        raise RulePackError(f"{where}.{key}: must be a number in [{lo:g}, {hi:g}], got {value!r}")
    return float(value)


def _table(data: Mapping[str, Any], key: str, where: str = "") -> Mapping[str, Any]:
    value = data.get(key)
    name = f"{where}.{key}" if where else key
    if not isinstance(value, dict):
        raise RulePackError(f"{name}: missing table")
    return value


def _str_list(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RulePackError(f"{where}: must be a list of non-empty strings")
    return tuple(value)


def _thresholds(data: Mapping[str, Any]) -> dict[Kind, Thresholds]:
    table = _table(data, "thresholds")
    out: dict[Kind, Thresholds] = {}
    for kind in Kind:
        t = _table(table, kind.value, "thresholds")
        where = f"thresholds.{kind.value}"
        warn, review, hold = (_number(t, k, where) for k in ("warn", "review", "hold"))
        if not 0 < warn <= review <= hold:
            raise RulePackError(f"{where}: need 0 < warn <= review <= hold, got {warn}, {review}, {hold}")
        out[kind] = Thresholds(warn, review, hold)
    return out


def _rule(raw: Any, index: int, lexicons: Mapping[str, tuple[str, ...]], default_window: int) -> Rule:
    where = f"rule[{index}]"
    if not isinstance(raw, dict):
        raise RulePackError(f"{where}: must be a table")
    code = raw.get("code")
    if not isinstance(code, str) or not code:
        raise RulePackError(f"{where}.code: must be a non-empty string")
    where = f"rule[{index}] ({code})"
    try:
        category = Category(str(raw.get("category")))
    except ValueError:
        raise RulePackError(f"{where}.category: unknown category {raw.get('category')!r}") from None
    groups = _str_list(raw.get("all"), f"{where}.all")
    unless = _str_list(raw.get("unless", []), f"{where}.unless") if raw.get("unless") else ()
    for group in (*groups, *unless):
        if group not in lexicons and group not in ENTITY_GROUPS:
            raise RulePackError(f"{where}: unknown lexicon or entity group {group!r}")
    window = raw.get("window", default_window)
    if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= 2000:
        raise RulePackError(f"{where}.window: must be an integer in [1, 2000]")
    negatable = raw.get("negatable", False)
    if not isinstance(negatable, bool):
        raise RulePackError(f"{where}.negatable: must be true or false")
    try:
        kinds = frozenset(
            Kind(k) for k in _str_list(raw.get("kinds", [k.value for k in Kind]), f"{where}.kinds")
        )
    except ValueError:
        raise RulePackError(f"{where}.kinds: values must be 'message' or 'listing'") from None
    unknown = set(raw) - {"code", "category", "weight", "all", "unless", "window", "negatable", "kinds"}
    if unknown:
        raise RulePackError(f"{where}: unknown key(s) {sorted(unknown)}")
    return Rule(
        code=code,
        category=category,
        weight=_number(raw, "weight", where),
        groups=groups,
        window=window,
        unless=unless,
        negatable=negatable,
        kinds=kinds,
    )


def parse_rulepack(content: str) -> RulePack:
    """Parse and validate rule-pack TOML `content`; raises `RulePackError` naming the bad key."""
    try:
        data = tomllib.loads(content)
    except tomllib.TOMLDecodeError as exc:
        raise RulePackError(f"invalid TOML: {exc}") from None
    version = data.get("version")
    if not isinstance(version, str) or not version:
        raise RulePackError("version: must be a non-empty string")
    lex_table = _table(data, "lexicon")
    lexicons = {name: _str_list(terms, f"lexicon.{name}") for name, terms in lex_table.items()}
    for required in ("negation", "negation_exempt"):
        if required not in lexicons:
            raise RulePackError(f"lexicon.{required}: missing list")
    fusion_t = _table(data, "fusion")
    fusion = FusionParams(
        model_weight=_number(fusion_t, "model_weight", "fusion"),
        model_only_cap=_number(fusion_t, "model_only_cap", "fusion"),
        model_only_min_p=_number(fusion_t, "model_only_min_p", "fusion"),
        hold_min_rule_score=_number(fusion_t, "hold_min_rule_score", "fusion"),
        url_model_min_p=(
            None
            if fusion_t.get("url_model_min_p") == "model"
            else _number(fusion_t, "url_model_min_p", "fusion")
        ),
        url_model_weight=_number(fusion_t, "url_model_weight", "fusion"),
        domain_signal_scale=_number(fusion_t, "domain_signal_scale", "fusion", 0.0, 2.0),
        model_support_min_rule=_number(fusion_t, "model_support_min_rule", "fusion", default=0.0),
        model_veto_max_rule=_number(fusion_t, "model_veto_max_rule", "fusion", default=0.0),
        model_veto_p=_number(fusion_t, "model_veto_p", "fusion", default=0.0),
        asked_allows=_flag(fusion_t, "asked_allows", "fusion"),
        model_only_min_p_bare=_number(fusion_t, "model_only_min_p_bare", "fusion", 0.0, 1.01, default=0.0),
    )
    ctx_t = _table(data, "context")
    context = ContextParams(
        new_account_days=_number(ctx_t, "new_account_days", "context", 0.0, 3650.0),
        new_account_odds=_number(ctx_t, "new_account_odds", "context", 1.0, 10.0),
        pro_with_siret_odds=_number(ctx_t, "pro_with_siret_odds", "context", 0.1, 1.0),
    )
    matching = _table(data, "matching")
    negation_window = int(_number(matching, "negation_window", "matching", 0, 500))
    default_window = int(_number(matching, "default_window", "matching", 1, 2000))
    raw_rules = data.get("rule")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise RulePackError("rule: need at least one [[rule]]")
    rules = tuple(_rule(r, i, lexicons, default_window) for i, r in enumerate(raw_rules))
    codes = [r.code for r in rules]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise RulePackError(f"rule.code: duplicated {duplicates}")
    masks: dict[str, tuple[str, ...]] = {}
    for name, maskers in (data.get("masks") or {}).items():
        masks[name] = _str_list(maskers, f"masks.{name}")
        for group in (name, *masks[name]):
            if group not in lexicons:
                raise RulePackError(f"masks.{name}: unknown lexicon {group!r}")
    return RulePack(
        version=content_version(version, content),
        thresholds=_thresholds(data),
        fusion=fusion,
        context=context,
        negation_window=negation_window,
        lexicons=lexicons,
        rules=rules,
        masks=masks,
    )


def load_rulepack(path: str | Path | None = None) -> RulePack:
    """Read and validate the rule pack at `path` (default: the pack shipped with the package)."""
    source = Path(path) if path is not None else DEFAULT_RULES_PATH
    return parse_rulepack(source.read_text(encoding="utf-8"))


def content_version(declared: str, content: str) -> str:
    """ "<declared>+<first 10 hex of sha256(content)>": equal versions mean equal bytes."""
    return f"{declared}+{hashlib.sha256(content.encode('utf-8')).hexdigest()[:10]}"


def combined_rules_version(pack_version: str, brands_version: str | None) -> str:
    """The `rules_version` of a scorer: the pack's version, plus the brand list's when one is known.

    Assessment.rules_version holds 100 characters; two declared versions of up to 30 characters each
    fit with their hashes."""
    return pack_version if brands_version is None else f"{pack_version};brands={brands_version}"


# --- brands.toml ----------------------------------------------------------------------------------

BRAND_KINDS = ("platform", "courier", "payment", "bank", "government", "tech", "marketplace")

# The schema of brands.toml, JSON-Schema-like: table -> {key: (type, required)}. Types: "str",
# "str_list" (list of non-empty strings), "bool", "kind" (one of BRAND_KINDS). Unknown keys are errors,
# so a misspelt field ("context_word") is reported instead of silently ignored.
BRANDS_SCHEMA: Mapping[str, Mapping[str, tuple[str, bool]]] = {
    "brand": {
        "name": ("str", True),
        "tokens": ("str_list", True),
        "domains": ("str_list", True),
        "kind": ("kind", True),
        "context": ("str_list", False),
        "names": ("str_list", False),
        "context_words": ("str_list", False),
        "global": ("bool", False),
    },
    "lists": {
        "allow": ("str_list", False),
        "shorteners": ("str_list", False),
        "free_hosting": ("str_list", False),
        "user_pages": ("str_list", False),
        "click_trackers": ("str_list", False),
        "free_mail": ("str_list", False),
        "suspicious_tlds": ("str_list", False),
    },
    "keywords": {
        "delivery": ("str_list", False),
        "payment": ("str_list", False),
        "service": ("str_list", False),
        "phishing": ("str_list", False),
    },
}
_BRANDS_TOP_LEVEL = frozenset({"version", "brand", "lists", "keywords"})


@dataclass(frozen=True, slots=True)
class BrandList:
    """A validated brands.toml: its version and its parsed content (for `DomainAnalyzer.from_toml`)."""

    version: str  # declared version + content hash
    data: Mapping[str, Any]

    @property
    def brand_count(self) -> int:
        return len(self.data.get("brand", ()))


def _check_fields(table: Mapping[str, Any], schema: Mapping[str, tuple[str, bool]], where: str) -> None:
    unknown = sorted(set(table) - set(schema))
    if unknown:
        raise RulePackError(f"{where}: unknown key(s) {unknown}")
    for key, (kind, required) in schema.items():
        if key not in table:
            if required:
                raise RulePackError(f"{where}.{key}: missing")
            continue
        value = table[key]
        if kind == "str_list":
            _str_list(value, f"{where}.{key}")
        elif kind == "str" and (not isinstance(value, str) or not value.strip()):
            raise RulePackError(f"{where}.{key}: must be a non-empty string")
        elif kind == "bool" and not isinstance(value, bool):
            raise RulePackError(f"{where}.{key}: must be true or false")
        elif kind == "kind" and value not in BRAND_KINDS:
            raise RulePackError(f"{where}.{key}: must be one of {list(BRAND_KINDS)}, got {value!r}")


def parse_brands(content: str) -> BrandList:
    """Parse and validate brands.toml `content` against `BRANDS_SCHEMA`; errors name the bad key."""
    try:
        data = tomllib.loads(content)
    except tomllib.TOMLDecodeError as exc:
        raise RulePackError(f"invalid TOML: {exc}") from None
    version = data.get("version")
    if not isinstance(version, str) or not version:
        raise RulePackError("version: must be a non-empty string")
    unknown = sorted(set(data) - _BRANDS_TOP_LEVEL)
    if unknown:
        raise RulePackError(f"unknown top-level key(s) {unknown}")
    brands = data.get("brand")
    if not isinstance(brands, list) or not brands:
        raise RulePackError("brand: need at least one [[brand]]")
    names: set[str] = set()
    for index, brand in enumerate(brands):
        where = f"brand[{index}]"
        if not isinstance(brand, dict):
            raise RulePackError(f"{where}: must be a table")
        if isinstance(brand.get("name"), str):
            where = f"brand[{index}] ({brand['name']})"
        _check_fields(brand, BRANDS_SCHEMA["brand"], where)
        if brand["name"] in names:
            raise RulePackError(f"{where}.name: duplicated")
        names.add(brand["name"])
    for section in ("lists", "keywords"):
        if section in data:
            if not isinstance(data[section], dict):
                raise RulePackError(f"{section}: must be a table")
            _check_fields(data[section], BRANDS_SCHEMA[section], section)
    return BrandList(version=content_version(version, content), data=data)


def load_brands(path: str | Path | None = None) -> BrandList:
    """Read and validate the brand list at `path` (default: the list shipped with the package)."""
    source = Path(path) if path is not None else DEFAULT_BRANDS_PATH
    return parse_brands(source.read_text(encoding="utf-8"))
