"""Verdict policy: a fused score -> allow / warn / review / hold, per content kind.

Thresholds come from the rule pack (`[thresholds.message]`, `[thresholds.listing]`). Two guards keep
the verdict honest: a hold needs rule evidence of at least `hold_min_rule_score` (the model alone can
never keep a message from being delivered), and a verdict other than allow needs at least one reason
with a span, which the engine guarantees before calling `decide`. A third one keeps moderate rule
evidence from flagging against the model: below `model_veto_max_rule`, a text the model is sure is
honest (p < `model_veto_p`) is allowed. The honest hard negatives that trip phrase rules ("je peux vous
régler l'acompte par virement ?") are exactly where the model has seen thousands of honest neighbours;
strong mechanisms (a code request, a look-alike domain) weigh more than the bar and are never vetoed.
The score is left as fused: the veto is a decision, and the reasons stay on record.
A fourth one (`asked_allows`) allows a message that asks whether something is legitimate ("J'ai reçu ce
SMS : « ... paiement-lbc.com ... » c'est vous ?"): the asker is the target quoting a scam, and quoted
links, codes and payment words are all the evidence there is. A scammer could dress a message up as such a
question; the signals the text cannot fake (a campaign of identical messages, the sender's or the
conversation's history) still flag it, because neither this guard nor the veto applies when they are present.
"""

from __future__ import annotations

from scoring.fusion import Fused
from scoring.rulepack import RulePack
from scoring.types import Kind, Verdict

_EPSILON = 1e-9


def decide(fused: Fused, kind: Kind, pack: RulePack, vetoable: bool = True, asked: bool = False) -> Verdict:
    """The verdict for `fused` under the pack's thresholds for `kind`.

    `vetoable=False` when the evidence includes signals the text model cannot see (a campaign, the
    sender's or the conversation's history): the model's opinion of the words says nothing about them.
    `asked`: the message's text asks whether something is legitimate (`scoring.detectors.asks_about`).
    """
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
    f = pack.fusion
    if (
        verdict is not Verdict.ALLOW
        and vetoable
        and not fused.model_only
        and fused.model_p is not None
        and fused.rule_score < f.model_veto_max_rule
        and fused.model_p < f.model_veto_p
    ):
        verdict = Verdict.ALLOW
    if verdict is not Verdict.ALLOW and asked and vetoable and f.asked_allows and kind is Kind.MESSAGE:
        verdict = Verdict.ALLOW
    return verdict
