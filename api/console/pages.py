"""Console pages: the queue, an item (conversation context, highlighted evidence, masked personal
data, sender history, decision forms), statistics, and the POST actions behind the buttons and
keyboard shortcuts. Every action is the same domain call the /v1/review API makes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Response, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask.blueprints import BlueprintSetupState
from sqlalchemy.orm import Session

from api.console import charts, labels
from api.console.blueprint import bp, current_moderator, login_required
from api.console.highlight import Segment, segments
from api.review import enqueue_pending_webhooks, review_problem
from api.services import EXTENSION_KEY, Services, services
from moderation import audit, decisions, quality, review, review_stats
from moderation.case_file import Span, build_case_file, evidence_spans, personal_spans
from moderation.clock import utcnow
from moderation.decisions import REASONS, InvalidDecision, UndoExpired
from moderation.errors import NotFound
from moderation.review import ReviewError

FILTERS = ("category", "kind", "lang", "sender", "queue")
# Revealed items are remembered in the session for this long, then masked again.
REVEAL_TTL = timedelta(minutes=15)
QUALITY_REPORT_KEY = "vigie.console.quality_report"


class QualityReportCache:
    """The statistics page's quality report, recomputed at most once per `ttl_s` per process.

    `quality_report` is a few GROUP BYs over 12 weeks of assessments (seconds on a large table, see
    the README), so page views within `VIGIE_QUALITY_METRICS_CACHE_S` share one computation, like
    the /metrics gauges (api.quality_metrics). Concurrent views wait for the one computing it. A
    failing computation is not cached: the view fails, and the next one tries again.
    """

    def __init__(self, ttl_s: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._report: quality.QualityReport | None = None
        self._computed_at = 0.0

    def get(self, db: Session, now: datetime) -> quality.QualityReport:
        with self._lock:
            moment = self._monotonic()
            if self._report is None or moment - self._computed_at >= self._ttl_s:
                self._report = quality.quality_report(db, now)
                self._computed_at = moment
            return self._report


@bp.record_once
def _install_quality_report_cache(state: BlueprintSetupState) -> None:
    # Per app, hence per gunicorn worker process; each test app gets its own (its own database).
    svc: Services = state.app.extensions[EXTENSION_KEY]
    state.app.extensions[QUALITY_REPORT_KEY] = QualityReportCache(svc.settings.quality_metrics_cache_s)


def _redirect(endpoint: str, **values: Any) -> Response:
    return redirect(url_for(endpoint, **values), code=303)  # type: ignore[return-value]


def _fail(exc: Exception, item_id: str) -> Response:
    """Roll back and show the refusal (claimed by someone else, changed meanwhile...) on the item."""
    services().session().rollback()
    problem = review_problem(exc)
    if problem.status == 404:
        abort(404)
    flash(problem.detail, "error")
    return _redirect("console.item", item_id=item_id)


@bp.get("/")
@login_required
def queue() -> str:
    """The open items, highest priority first, with counts, SLA ages and filters."""
    args = request.args
    flt = review.ItemFilter(
        status="open",
        queue=args.get("queue") or None,
        category=args.get("category") or None,
        kind=args.get("kind") or None,
        lang=args.get("lang") or None,
        sender_type=args.get("sender") if args.get("sender") in {"pro", "individual"} else None,
    )
    now = utcnow()
    db = services().session()
    try:
        items, cursor = review.list_items(db, flt, now, limit=50, cursor=args.get("cursor") or None)
    except ValueError:
        items, cursor = review.list_items(db, flt, now, limit=50)
    rows = [
        {
            "item": item,
            "priority": review.effective_priority(item, now),
            "age_min": int((now - item.opened_at).total_seconds() // 60),
            "due_min": int((item.due_at - now).total_seconds() // 60),
            "holder": review.holder(item, now),
            "categories": [(c, labels.category_label(c)) for c in item.categories],
        }
        for item in items
    ]
    return render_template(
        "console/queue.html",
        moderator=current_moderator(),
        rows=rows,
        counts=review.queue_counts(db, now),
        next_cursor=cursor,
        filters={name: args.get(name, "") for name in FILTERS},
        category_labels=labels.CATEGORY_LABELS,
        undo=session.get("undo"),
    )


def _revealed(item_id: str) -> bool:
    until = (session.get("revealed") or {}).get(item_id)
    return isinstance(until, (int, float)) and until > utcnow().timestamp()


@bp.get("/items/<item_id>")
@login_required
def item(item_id: str) -> str:
    """One item in its conversation, with highlighted evidence and masked personal data."""
    db = services().session()
    now = utcnow()
    try:
        row = review.get_item(db, item_id)
    except NotFound:
        abort(404)
    case = build_case_file(db, row)
    reveal = _revealed(item_id)
    moderator = current_moderator()
    conversation = [
        {
            "message": m,
            "segments": segments(
                m.text,
                case.evidence if m.is_subject else [],
                case.personal if m.is_subject else personal_spans(m.text),
                reveal,
            ),
        }
        for m in case.conversation
    ] or [{"message": None, "segments": segments(case.text, case.evidence, case.personal, reveal)}]
    title_segments = (
        segments(
            case.title, evidence_spans(case.reasons, case.title, "title"), personal_spans(case.title), reveal
        )
        if case.title
        else []
    )
    holder = review.holder(row, now)
    main_category = row.categories[0] if row.categories else ""
    return render_template(
        "console/item.html",
        moderator=moderator,
        item=row,
        case=case,
        conversation=conversation,
        title_segments=title_segments,
        reveal=reveal,
        holder=holder,
        mine=holder == moderator.id,
        priority=review.effective_priority(row, now),
        due_min=int((row.due_at - now).total_seconds() // 60),
        reasons=[
            {
                **r,
                "category_label": labels.category_label(str(r.get("category", ""))),
                "category_label_en": labels.category_label(str(r.get("category", "")), "en"),
                "evidence_segments": _evidence_segments(r, case.text, case.personal, reveal),
            }
            for r in case.reasons
        ],
        reason_codes=REASONS,
        reason_label=decisions.reason_label,
        decision_label=labels.decision_label,
        default_scam_reason=labels.DEFAULT_SCAM_REASON.get(main_category, "other_scam"),
        can_work=row.status == "open"
        and (row.queue == "standard" or moderator.is_senior)
        and row.appeal_excluded_moderator != moderator.id,
        undo=session.get("undo"),
    )


def _evidence_segments(
    reason: dict[str, Any], text: str, personal: list[Span], reveal: bool
) -> list[Segment]:
    """A reason's evidence with the personal data inside it masked like in the message itself."""
    evidence = str(reason.get("evidence") or "")
    span = reason.get("span")
    if (
        reason.get("field", "text") == "text"
        and span
        and len(span) == 2
        and text[span[0] : span[1]] == evidence
    ):
        start, end = int(span[0]), int(span[1])
        # Entities clipped to the evidence: a partly quoted phone number is still masked whole.
        inside = [
            Span(max(p.start, start) - start, min(p.end, end) - start, p.kind)
            for p in personal
            if p.start < end and start < p.end
        ]
        return segments(evidence, [], inside, reveal)
    return segments(evidence, [], personal_spans(evidence), reveal)


@bp.get("/next")
@login_required
def next_item() -> Response:
    """Open the highest-priority item this moderator can work (after `after`), or the queue."""
    db = services().session()
    item_id = review.next_item_for(db, current_moderator(), utcnow(), after=request.args.get("after"))
    if item_id is None:
        flash("File vide : rien d'autre à traiter.", "info")
        return _redirect("console.queue")
    return _redirect("console.item", item_id=item_id)


@bp.post("/items/<item_id>/claim")
@login_required
def claim(item_id: str) -> Response:
    svc = services()
    try:
        review.claim(
            svc.session(),
            item_id,
            current_moderator(),
            utcnow(),
            timedelta(seconds=svc.settings.review_lease_s),
        )
    except (ReviewError, NotFound) as exc:
        return _fail(exc, item_id)
    svc.session().commit()
    return _redirect("console.item", item_id=item_id)


@bp.post("/items/<item_id>/release")
@login_required
def release(item_id: str) -> Response:
    try:
        review.release(services().session(), item_id, current_moderator(), utcnow())
    except (ReviewError, NotFound) as exc:
        return _fail(exc, item_id)
    services().session().commit()
    return _redirect("console.queue")


@bp.post("/items/<item_id>/escalate")
@login_required
def escalate(item_id: str) -> Response:
    note = request.form.get("note", "")
    try:
        review.escalate(services().session(), item_id, current_moderator(), note, utcnow())
    except (ReviewError, NotFound) as exc:
        return _fail(exc, item_id)
    services().session().commit()
    flash("Transmis à la file senior.", "info")
    return _redirect("console.queue")


@bp.post("/items/<item_id>/decision")
@login_required
def decide(item_id: str) -> Response:
    """Record the decision, then move on to the next item (with an undo link while the window lasts)."""
    svc = services()
    form = request.form
    version = form.get("version", "")
    decision = form.get("decision", "")
    try:
        row = decisions.decide(
            svc.session(),
            item_id,
            current_moderator(),
            decision,
            form.get(f"reason_{decision}") or form.get("reason", ""),
            utcnow(),
            expected_version=int(version) if version.isdigit() else None,
            note=form.get("note") or None,
            suspend_sender=form.get("suspend_sender") == "on",
            statement=form.get("statement") or None,
            emit_webhook=bool(svc.settings.webhook_url),
        )
    except (ReviewError, NotFound, InvalidDecision) as exc:
        return _fail(exc, item_id)
    svc.session().commit()
    enqueue_pending_webhooks(svc, row.submission_id)
    until = row.created_at + timedelta(seconds=svc.settings.review_undo_window_s)
    session["undo"] = {
        "decision_id": row.id,
        "until": until.timestamp(),
        "label": labels.decision_label(decision),
    }
    flash(f"Décision enregistrée : {labels.decision_label(decision)}.", "ok")
    return _redirect("console.next_item", after=item_id)


@bp.post("/decisions/<int:decision_id>/undo")
@login_required
def undo(decision_id: int) -> Response:
    svc = services()
    try:
        item = decisions.undo(
            svc.session(),
            decision_id,
            current_moderator(),
            utcnow(),
            timedelta(seconds=svc.settings.review_undo_window_s),
        )
    except (ReviewError, NotFound, UndoExpired) as exc:
        svc.session().rollback()
        session.pop("undo", None)
        flash(review_problem(exc).detail, "error")
        return _redirect("console.queue")
    svc.session().commit()
    enqueue_pending_webhooks(svc, item.submission_id)
    session.pop("undo", None)
    flash("Décision annulée : l'élément vous est réattribué.", "ok")
    return _redirect("console.item", item_id=item.id)


@bp.post("/items/<item_id>/reveal")
@login_required
def reveal(item_id: str) -> Response:
    """Show this item's personal data to this moderator for a while; audited."""
    db = services().session()
    try:
        row = review.get_item(db, item_id)
    except NotFound:
        abort(404)
    moderator = current_moderator()
    audit.record(
        db, review.moderator_actor(moderator), "personal_data.revealed", "submission", row.submission_id,
        {"item_id": row.id},
    )  # fmt: skip
    db.commit()
    revealed = {k: v for k, v in (session.get("revealed") or {}).items() if v > utcnow().timestamp()}
    revealed[item_id] = (utcnow() + REVEAL_TTL).timestamp()
    session["revealed"] = revealed
    return _redirect("console.item", item_id=item_id)


@bp.get("/stats")
@login_required
def stats() -> str:
    """Queue size over time, decisions per category, per-rule precision (inline SVG charts), and the
    quality dashboard: precision per rule and per version, weekly score drift (moderation.quality)."""
    db = services().session()
    now = utcnow()
    series = review_stats.queue_size_series(db, now)
    per_category = review_stats.decisions_per_category(db)
    precision = review_stats.rule_precision(db)
    category_rows = [
        (labels.category_label(c), float(sum(counts.values())),
         " · ".join(f"{labels.decision_label(d)} {n}" for d, n in sorted(counts.items())))
        for c, counts in per_category.items()
    ]  # fmt: skip
    precision_rows = [
        (r.code, r.precision, f"{r.precision:.0%} ({r.scam}/{r.labelled})") for r in precision[:40]
    ]
    cache: QualityReportCache = current_app.extensions[QUALITY_REPORT_KEY]
    report = cache.get(db, now)
    return render_template(
        "console/stats.html",
        quality=report,
        drift=charts.drift_chart(
            report.weeks,
            [(k.kind, [w.psi_previous for w in k.weeks]) for k in report.drift],
            quality.PSI_ALERT,
        ),
        psi_level=quality.psi_level,
        psi_alert=quality.PSI_ALERT,
        min_week_count=quality.MIN_WEEK_COUNT,
        moderator=current_moderator(),
        line=charts.line_chart(series),
        category_bars=charts.bars(category_rows),
        precision_bars=charts.bars(precision_rows, scale_max=1.0),
        counts=review.queue_counts(db, now),
        width=charts.WIDTH,
        height=charts.HEIGHT,
        pad=charts.PAD,
    )
