"""Verdict policy: a fused score -> allow / warn / review / hold, per content kind.

Thresholds come from the rule pack (`[thresholds.message]`, `[thresholds.listing]`). Two guards keep
the verdict honest: a hold needs rule evidence of at least `hold_min_rule_score` (the model alone can
never keep a message from being delivered), and a verdict other than allow needs at least one reason
with a span, which the engine guarantees before calling `decide`.
"""

from __future__ import annotations

from scoring.fusion import Fused
from scoring.rulepack import RulePack
from scoring.types import Kind, Verdict

_EPSILON = 1e-9


def decide(fused: Fused, kind: Kind, pack: RulePack) -> Verdict:
    """The verdict for `fused` under the pack's thresholds for `kind`."""
    t = pack.thresholds[kind]
    # Noisy-OR arithmetic lands a hair below a weight equal to a threshold (0.45 -> 0.44999...); a
    # reason weighted exactly at a threshold is meant to reach it.
    score = fused.score + _EPSILON
    if score >= t.hold:
        verdict = Verdict.HOLD
    elif score >= t.review:
        verdict = Verdict.REVIEW
    elif score >= t.warn:
        verdict = Verdict.WARN
    else:
        verdict = Verdict.ALLOW
    if verdict is Verdict.HOLD and fused.rule_score < pack.fusion.hold_min_rule_score:
        verdict = Verdict.REVIEW
    return verdict
