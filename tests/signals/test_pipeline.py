"""Signals end to end on a real Redis and database: campaigns, confirmed entities, conversations,
senders, and scoring without Redis."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from moderation import blocklist, decisions
from moderation.clock import utcnow
from moderation.models import Assessment
from moderation.moderators import create_moderator
from moderation.review_models import ReviewItem
from moderation.settings import Settings
from moderation.submissions import get_revision, to_score_input
from scoring.types import Category, Verdict
from tests.signals.conftest import Clock
from workers.scoring import score_and_record, score_and_record_many
from workers.signals import Signals

# An honest-looking opener: harmless once, a campaign when it reaches dozens of sellers.
TEMPLATE = (
    "Bonjour {name}, votre {item} m'intéresse beaucoup, je peux venir le chercher ce week-end avec "
    "ma voiture. Le prix de {price} euros est-il ferme ? Merci de me répondre rapidement."
)
NAMES = ["Marie", "Paul", "Sophie", "Luc", "Emma", "Hugo", "Léa", "Tom", "Chloé", "Noah"]
ITEMS = ["canapé", "vélo", "frigo", "bureau", "lit"]


def assessment(session_factory: sessionmaker[Session], submission_id: str) -> Assessment:
    with session_factory() as session:
        row = session.scalar(select(Assessment).where(Assessment.submission_id == submission_id))
        assert row is not None
        return row


def codes(row: Assessment) -> set[str]:
    return {r["code"] for r in row.reasons}


def test_template_to_30_recipients_becomes_campaign(
    session_factory: sessionmaker[Session],
    scorer: Any,
    signals: Signals,
    submit_message: Callable[..., tuple[str, int]],
    clock: Clock,
) -> None:
    threshold = signals.settings.campaign_min_recipients
    sent = []
    for i in range(30):
        text = TEMPLATE.format(name=NAMES[i % 10], item=ITEMS[i % 5], price=50 + 7 * i)
        sent.append(submit_message(text, sender="new-acct", recipient=f"seller-{i}", account_age_days=1))
    # Batches of 10, as the worker's batch job would take them, a minute apart.
    for start in range(0, 30, 10):
        score_and_record_many(session_factory, scorer, sent[start : start + 10], signals=signals)
        clock.advance(60)
    rows = [assessment(session_factory, sid) for sid, _ in sent]
    before = rows[: threshold - 1]
    after = rows[threshold - 1 :]
    assert all("signal.campaign" not in codes(r) for r in before)
    assert all(r.verdict == "allow" for r in before)  # the opener alone is honest-looking
    for row in after:
        assert "campaign" in row.categories and row.verdict != "allow"
        reason = next(r for r in row.reasons if r["code"] == "signal.campaign")
        assert reason["detail"]["recipients"] >= threshold
        assert reason["detail"]["examples"]  # other messages of the campaign, for the moderator
    last = next(r for r in rows[-1].reasons if r["code"] == "signal.campaign")
    assert last["detail"]["recipients"] == 30
    assert last["detail"]["senders"] == 1


def test_several_senders_share_one_campaign_and_short_openers_never_do(
    session_factory: sessionmaker[Session],
    scorer: Any,
    signals: Signals,
    submit_message: Callable[..., tuple[str, int]],
) -> None:
    sent = [
        submit_message(
            TEMPLATE.format(name=NAMES[i % 10], item="vélo", price=80 + i), sender=f"acct-{i % 4}",
            recipient=f"seller-{i}",
        )
        for i in range(12)
    ]  # fmt: skip
    short = [submit_message("Bonjour, toujours disponible ?", recipient=f"seller-{i}") for i in range(12)]
    score_and_record_many(session_factory, scorer, sent + short, signals=signals)
    last = assessment(session_factory, sent[-1][0])
    reason = next(r for r in last.reasons if r["code"] == "signal.campaign")
    assert reason["detail"]["senders"] == 4
    assert all("signal.campaign" not in codes(assessment(session_factory, sid)) for sid, _ in short)


def _decide(session_factory: sessionmaker[Session], submission_id: str, decision: str, reason: str) -> int:
    with session_factory() as session:
        moderator, _ = create_moderator(session, f"mod-{submission_id[:6]}@example.org", "M", "pw-123456789")
        item = session.scalar(select(ReviewItem).where(ReviewItem.submission_id == submission_id))
        assert item is not None, "the scam was queued for review"
        row = decisions.decide(session, item.id, moderator, decision, reason, utcnow(), emit_webhook=False)
        session.commit()
        return row.id


SCAM_WITH_HANDLE = "Je paie uniquement par PayPal entre amis, réglez sur paypal.me/Vendeur-Rapide75 svp."
SOFT_WITH_HANDLE = (
    "Bonjour, le vélo est toujours disponible, vous pouvez passer samedi, mon paypal c'est "
    "paypal.me/vendeur-rapide75 si vous préférez réserver"
)


def test_confirmed_paypal_handle_raises_a_new_message_from_another_account(
    session_factory: sessionmaker[Session],
    scorer: Any,
    signals: Signals,
    submit_message: Callable[..., tuple[str, int]],
    installed_blocklist: blocklist.BlocklistRecorder,
    clock: Clock,
) -> None:
    scam = submit_message(SCAM_WITH_HANDLE, sender="scammer-1")
    score_and_record(session_factory, scorer, *scam, signals=signals)
    decision_id = _decide(session_factory, scam[0], decisions.CONFIRM_SCAM, "external_payment")

    def score_new(sender: str) -> tuple[Verdict, Verdict, list[Any]]:
        sid, rev = submit_message(SOFT_WITH_HANDLE, sender=sender)
        with session_factory() as session:
            row = get_revision(session, sid, rev)
            assert row is not None
            item = to_score_input(row)
        plain = scorer.score(item)
        in_context = scorer.score(item, signals.collect(session_factory, [item])[0])
        return plain.verdict, in_context.verdict, list(in_context.reasons)

    plain, raised, reasons = score_new("other-account")
    assert raised.rank > plain.rank
    assert raised is Verdict.HOLD
    confirmed = next(r for r in reasons if r.code == "signal.confirmed_entity")
    assert confirmed.category is Category.EXTERNAL_PAYMENT
    assert SOFT_WITH_HANDLE[confirmed.span[0] : confirmed.span[1]] == "paypal.me/vendeur-rapide75"
    assert confirmed.detail["decision_id"] == str(decision_id)

    # A moderator's allow entry overrides the block...
    with session_factory() as session:
        blocklist.allow(session, "handle:paypal.me/vendeur-rapide75", "moderator:m1", utcnow())
        session.commit()
    plain, verdict, reasons = score_new("third-account")
    assert verdict is plain  # neither blocked nor counted as shared by three accounts now
    assert not any(r.code.startswith("signal.") for r in reasons)
    with session_factory() as session:
        assert blocklist.revoke_allow(session, "handle:paypal.me/vendeur-rapide75", utcnow()) == 1
        session.commit()
    assert score_new("fourth-account")[1] is Verdict.HOLD

    # ...and the block expires after its time-to-live.
    with session_factory() as session:
        later = utcnow() + timedelta(days=signals.settings.blocklist_ttl_days + 1)
        assert blocklist.active_blocks(session, ["handle:paypal.me/vendeur-rapide75"], later) == {}


def test_undoing_the_decision_revokes_its_block_entries(
    session_factory: sessionmaker[Session],
    scorer: Any,
    signals: Signals,
    submit_message: Callable[..., tuple[str, int]],
    installed_blocklist: blocklist.BlocklistRecorder,
) -> None:
    scam = submit_message(SCAM_WITH_HANDLE, sender="scammer-2")
    score_and_record(session_factory, scorer, *scam, signals=signals)
    decision_id = _decide(session_factory, scam[0], decisions.CONFIRM_SCAM, "external_payment")
    keys = ["handle:paypal.me/vendeur-rapide75", blocklist.account_key("scammer-2")]
    with session_factory() as session:
        assert set(blocklist.active_blocks(session, keys, utcnow())) == set(keys)
        row = session.get(decisions.Decision, decision_id)
        assert row is not None
        moderator = session.get(decisions.Moderator, row.moderator_id)
        assert moderator is not None
        decisions.undo(session, decision_id, moderator, utcnow(), timedelta(minutes=5))
        session.commit()
    with session_factory() as session:
        assert blocklist.active_blocks(session, keys, utcnow()) == {}


def test_sender_with_a_confirmed_scam_carries_it(
    session_factory: sessionmaker[Session],
    scorer: Any,
    signals: Signals,
    submit_message: Callable[..., tuple[str, int]],
    installed_blocklist: blocklist.BlocklistRecorder,
) -> None:
    scam = submit_message(SCAM_WITH_HANDLE, sender="repeat-offender")
    score_and_record(session_factory, scorer, *scam, signals=signals)
    _decide(session_factory, scam[0], decisions.CONFIRM_SCAM, "external_payment")
    nxt = submit_message("Voici mon numéro 06 12 34 56 78", sender="repeat-offender")
    score_and_record(session_factory, scorer, *nxt, signals=signals)
    reasons = {r["code"]: r for r in assessment(session_factory, nxt[0]).reasons}
    assert reasons["signal.sender_confirmed_scam"]["detail"]["confirmed_scams"] == 1


OPENER = "Bonjour, votre article est-il toujours disponible ? Je suis très intéressé."
OFF_PLATFORM = "Je préfère qu'on échange par mail, donnez-moi votre adresse e-mail s'il vous plaît."
CODE = "Normalement un code va vous arriver par SMS"
VICTIM_REPLY = "D'accord, mon adresse est marie.durand@example.org"


@pytest.mark.parametrize("batched", [False, True], ids=["one-by-one", "one-batch"])
def test_third_message_asking_for_the_sms_code_after_off_platform_is_held(
    session_factory: sessionmaker[Session],
    scorer: Any,
    signals: Signals,
    submit_message: Callable[..., tuple[str, int]],
    batched: bool,
) -> None:
    conv = f"conv-script-{batched}"
    turns = [
        submit_message(OPENER, sender="scammer", recipient="victim", conversation=conv),
        submit_message(OFF_PLATFORM, sender="scammer", recipient="victim", conversation=conv),
        submit_message(VICTIM_REPLY, sender="victim", recipient="scammer", conversation=conv),
        submit_message(CODE, sender="scammer", recipient="victim", conversation=conv),
    ]
    if batched:
        score_and_record_many(session_factory, scorer, turns, signals=signals)
    else:
        for sid, rev in turns:
            score_and_record(session_factory, scorer, sid, rev, signals=signals)
    with session_factory() as session:
        row = get_revision(session, *turns[-1])
        assert row is not None
        alone = scorer.score(to_score_input(row))
    assert alone.verdict is not Verdict.HOLD  # the code message alone is not enough to hold
    held = assessment(session_factory, turns[-1][0])
    assert held.verdict == "hold"
    script = next(r for r in held.reasons if r["code"].startswith("conversation."))
    assert script["category"] == "account_takeover"
    assert CODE[script["span"][0] : script["span"][1]]  # anchored in the current message


def test_same_message_in_an_honest_conversation_is_not_raised(
    session_factory: sessionmaker[Session],
    scorer: Any,
    signals: Signals,
    submit_message: Callable[..., tuple[str, int]],
) -> None:
    conv = "conv-honest"
    turns = [
        submit_message(OPENER, sender="buyer", conversation=conv),
        submit_message("Oui, il est à Lyon, vous pouvez passer samedi.", sender="seller", conversation=conv),
        submit_message(CODE, sender="buyer", conversation=conv),
    ]
    score_and_record_many(session_factory, scorer, turns, signals=signals)
    assert not any(c.startswith("conversation.") for c in codes(assessment(session_factory, turns[-1][0])))


def test_phone_shared_by_three_accounts(
    session_factory: sessionmaker[Session],
    scorer: Any,
    signals: Signals,
    submit_message: Callable[..., tuple[str, int]],
) -> None:
    sent = [
        submit_message(f"Appelez-moi au 07 81 22 33 44 pour le {item}", sender=f"acct-{n}")
        for n, item in enumerate(["vélo", "lit", "frigo"])
    ]
    for sid, rev in sent:
        score_and_record(session_factory, scorer, sid, rev, signals=signals)
    first, _, third = (assessment(session_factory, sid) for sid, _ in sent)
    assert "signal.shared_entity" not in codes(first)
    shared = next(r for r in third.reasons if r["code"] == "signal.shared_entity")
    assert shared["detail"] == {"entity": "phone:+33781223344", "accounts": 3}


def test_new_account_writing_to_many_conversations(
    session_factory: sessionmaker[Session],
    scorer: Any,
    signals: Signals,
    submit_message: Callable[..., tuple[str, int]],
    clock: Clock,
) -> None:
    fanout = signals.settings.fanout_conversations_per_hour
    sent = [
        submit_message(f"Bonjour, intéressé par l'annonce {i}", sender="fresh", account_age_days=0.5)
        for i in range(fanout)
    ]
    for sid, rev in sent:
        score_and_record(session_factory, scorer, sid, rev, signals=signals)
        clock.advance(5)
    assert "signal.new_account_fanout" not in codes(assessment(session_factory, sent[-2][0]))
    assert {"signal.new_account_fanout", "signal.sender_velocity"} <= codes(
        assessment(session_factory, sent[-1][0])
    )
    # An hour later the counters have moved on (time-bounded, and the keys expire).
    clock.advance(3601)
    late = submit_message("Bonjour, intéressé par l'annonce 99", sender="fresh", account_age_days=0.5)
    score_and_record(session_factory, scorer, *late, signals=signals)
    assert not codes(assessment(session_factory, late[0])) & {
        "signal.new_account_fanout",
        "signal.sender_velocity",
    }


def test_redis_keys_expire(signals: Signals, redis_client: Any, session_factory: sessionmaker[Session],
                           scorer: Any, submit_message: Callable[..., tuple[str, int]]) -> None:  # fmt: skip
    sent = submit_message(TEMPLATE.format(name="Marie", item="lit", price=40) + " 06 12 34 56 78")
    score_and_record(session_factory, scorer, *sent, signals=signals)
    keys = redis_client.keys("vigie:sig:*")
    assert keys
    assert all(0 < redis_client.ttl(k) <= signals.settings.entity_window_s for k in keys)
    # No phone number or e-mail in clear in key names.
    assert not any(b"+336" in k or b"0612" in k for k in keys)


def test_scores_without_redis_and_says_so(
    signal_settings: Settings,
    session_factory: sessionmaker[Session],
    scorer: Any,
    submit_message: Callable[..., tuple[str, int]],
    caplog: pytest.LogCaptureFixture,
    installed_blocklist: blocklist.BlocklistRecorder,
) -> None:
    from tests.conftest import free_port

    dead = dataclasses.replace(signal_settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    signals = Signals(dead)
    conv = "conv-no-redis"
    turns = [
        submit_message(OFF_PLATFORM, sender="scammer", conversation=conv),
        submit_message(CODE, sender="scammer", conversation=conv),
    ]
    with caplog.at_level(logging.WARNING, logger="workers.signals"):
        outcomes = [score_and_record(session_factory, scorer, s, r, signals=signals) for s, r in turns]
    assert [o.status for o in outcomes] == ["scored", "scored"]
    assert signals.degraded_batches == 2
    assert "Redis unavailable" in caplog.text
    # Database-backed signals still apply: the conversation script holds the code request.
    assert assessment(session_factory, turns[-1][0]).verdict == "hold"


def test_disabled_signals_change_nothing(
    signal_settings: Settings, redis_client: Any, session_factory: sessionmaker[Session]
) -> None:
    from scoring.types import Kind, ScoreContext, ScoreInput

    off = Signals(dataclasses.replace(signal_settings, signals_enabled=False), redis_client)
    item = ScoreInput(id="x", kind=Kind.MESSAGE, text="paypal.me/x")
    assert off.collect(session_factory, [item]) == [ScoreContext()]
    assert redis_client.keys("vigie:sig:*") == []


def test_volume_signals_alone_never_hold_an_honest_text(scorer: Any) -> None:
    from scoring.signal_reasons import (
        CampaignObservation,
        SenderObservation,
        SignalParams,
        campaign_reason,
        sender_reasons,
    )
    from scoring.types import Kind, ScoreContext, ScoreInput, Sender

    text = TEMPLATE.format(name="Marie", item="lit", price=80)
    params = SignalParams()
    worst = [
        campaign_reason(CampaignObservation("t", 10_000, 50, 1.0), text, params),
        *sender_reasons(
            SenderObservation(
                "u", per_minute=500, per_hour=5000, conversations_per_hour=500, account_age_days=0
            ),
            params,
        ),
    ]
    assert len([r for r in worst if r is not None]) == 3
    item = ScoreInput(id="x", kind=Kind.MESSAGE, text=text, sender=Sender(id="u", account_age_days=0))
    result = scorer.score(item, ScoreContext(reasons=tuple(r for r in worst if r is not None)))
    assert result.verdict in {Verdict.WARN, Verdict.REVIEW}
    assert Category.CAMPAIGN in result.categories


def test_one_account_rotating_payment_handles(
    session_factory: sessionmaker[Session],
    scorer: Any,
    signals: Signals,
    submit_message: Callable[..., tuple[str, int]],
) -> None:
    sent = [
        submit_message(f"Pour réserver, le paiement se fait sur paypal.me/{handle}", sender="mule")
        for handle in ("compte-a", "compte-b", "compte-c")
    ]
    for sid, rev in sent:
        score_and_record(session_factory, scorer, sid, rev, signals=signals)
    assert "signal.sender_many_payees" not in codes(assessment(session_factory, sent[1][0]))
    reason = next(
        r for r in assessment(session_factory, sent[2][0]).reasons if r["code"] == "signal.sender_many_payees"
    )
    assert reason["detail"] == {"payees": 3}


def test_campaign_at_its_threshold_shows_even_from_an_established_account(scorer: Any) -> None:
    from scoring.signal_reasons import CampaignObservation, SignalParams, campaign_reason
    from scoring.types import Kind, ScoreContext, ScoreInput, Sender

    text = TEMPLATE.format(name="Paul", item="vélo", price=90)
    params = SignalParams()
    reason = campaign_reason(CampaignObservation("t", params.campaign_min_recipients, 1, 0.9), text, params)
    assert reason is not None
    item = ScoreInput(id="x", kind=Kind.MESSAGE, text=text, sender=Sender(id="u", account_age_days=900))
    assert scorer.score(item).verdict is Verdict.ALLOW
    flagged = scorer.score(item, ScoreContext(reasons=(reason,)))
    assert flagged.verdict is Verdict.WARN and flagged.categories == (Category.CAMPAIGN,)


def test_installing_the_block_list_twice_registers_it_once(signal_settings: Settings) -> None:
    before = len(decisions.on_decision_listeners), len(decisions.on_undo_listeners)
    first = blocklist.install(signal_settings.blocklist_ttl_days)
    second = blocklist.install(signal_settings.blocklist_ttl_days)
    try:
        assert first is second
        assert decisions.on_decision_listeners.count(first.on_decision) == 1
        assert decisions.on_undo_listeners.count(first.on_undo) == 1
    finally:
        if len(decisions.on_decision_listeners) > before[0]:
            decisions.on_decision_listeners.remove(first.on_decision)
        if len(decisions.on_undo_listeners) > before[1]:
            decisions.on_undo_listeners.remove(first.on_undo)
