"""POST /v1/messages/batch and /v1/listings/batch: many submissions in one request and one transaction.

The envelope `{"items": [...]}` must hold 1 to `settings.batch_max_items` items, else the whole
request is a 422 problem naming `items`. Each item is then validated and answered on its own, in
order: 201 stored (queued), 200 identical replay, 409 external_id already used by another body, 422
invalid (errors named `items[3].text`, with the RFC 6901 pointer `/items/3/text`). The accepted
items are committed together before the answer, so a 2xx item is durable; if the commit fails the
whole request fails (503 when the database is unavailable) and nothing was acknowledged. The rate
limit counts each item as one request.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify
from pydantic import BaseModel, ValidationError

from api.auth import actor, requires
from api.problems import FieldError, Problem, problem_body
from api.request_body import parse_json_body
from api.schemas import ListingIn, MessageIn
from api.services import Services, services
from api.submissions import outcome_label, to_content
from moderation.errors import IdempotencyConflict
from moderation.submissions import SubmissionContent, SubmitOutcome, submit_many
from scoring.types import Kind

bp = Blueprint("batches", __name__, url_prefix="/v1")


@bp.post("/messages/batch")
@requires("submit")
def create_messages() -> Response:
    """Submit up to `batch_max_items` messages at once."""
    return _create_batch(Kind.MESSAGE, MessageIn)


@bp.post("/listings/batch")
@requires("submit")
def create_listings() -> Response:
    """Submit up to `batch_max_items` listings (or new revisions) at once."""
    return _create_batch(Kind.LISTING, ListingIn)


def _envelope_items(raw: Any, limit: int) -> list[Any]:
    def refuse(field: str, message: str) -> Problem:
        return Problem(
            422, "validation-failed", "The batch envelope is not valid.", errors=[FieldError(field, message)]
        )

    if not isinstance(raw, dict):
        raise refuse("$", 'must be an object {"items": [...]}')
    unknown = sorted(set(raw) - {"items"})
    if unknown:
        raise refuse(unknown[0], "unknown field")
    items = raw.get("items")
    if not isinstance(items, list):
        raise refuse("items", "required, an array of items")
    if not 1 <= len(items) <= limit:
        raise refuse("items", f"must hold 1 to {limit} items (got {len(items)})")
    return items


def _create_batch(kind: Kind, model: type[BaseModel]) -> Response:
    svc = services()
    items = _envelope_items(parse_json_body(), svc.settings.batch_max_items)
    if len(items) > 1:
        # The auth hook counted this request as one; the other items count too.
        svc.rate_limiter.enforce(str(g.principal.key_id), cost=len(items) - 1)

    results: list[dict[str, Any] | None] = [None] * len(items)
    contents: list[SubmissionContent] = []
    positions: list[int] = []
    context = {"max_text_chars": svc.settings.max_text_chars}
    for index, item in enumerate(items):
        try:
            body = model.model_validate(item, context=context)
        except ValidationError as exc:
            results[index] = _item_problem(
                index, 422, "validation-failed", "The item is not valid.", _item_errors(index, exc)
            )
            continue
        contents.append(to_content(kind, body))
        positions.append(index)

    session = svc.session()
    outcomes = submit_many(session, contents, actor())
    session.commit()  # before answering: every 2xx item below is durable

    created: list[tuple[str, int]] = []
    for index, content, outcome in zip(positions, contents, outcomes, strict=True):
        if isinstance(outcome, IdempotencyConflict):
            results[index] = _item_problem(
                index,
                409,
                "idempotency-conflict",
                f"This {outcome.field} was already used with a different body; messages are immutable.",
                [
                    FieldError(
                        f"items[{index}].{outcome.field}",
                        "already used with a different body",
                        f"/items/{index}/{outcome.field}",
                    )
                ],
                {"existing_id": outcome.existing_id},
            )
            continue
        svc.metrics.submissions.labels(kind.value, outcome_label(outcome)).inc()
        if outcome.created:
            created.append((outcome.submission_id, outcome.revision))
        results[index] = {
            "index": index,
            "status": 201 if outcome.created else 200,
            "submission": _submission(kind, content, outcome),
        }
    _dispatch(svc, created)
    return jsonify({"items": results})


def _dispatch(svc: Services, created: list[tuple[str, int]]) -> None:
    # With batched dispatch the workers' dispatcher claims the committed revisions from the database.
    if not created or svc.settings.dispatch == "batched":
        return
    # After commit, as multi-item jobs (one model call and one transaction per job in the worker);
    # the sweeper re-enqueues them if Redis is down now.
    from workers.queues import enqueue_score_batches

    enqueued = enqueue_score_batches(svc.queue, created, svc.settings.dispatch_batch_size)
    if enqueued < len(created):
        svc.metrics.enqueue_failures.inc(len(created) - enqueued)


def _submission(kind: Kind, content: SubmissionContent, outcome: SubmitOutcome) -> dict[str, Any]:
    return {
        "id": outcome.submission_id,
        "kind": kind.value,
        "external_id": content.external_id,
        "revision": outcome.revision,
        "status": outcome.status,
    }


def _item_problem(
    index: int,
    status: int,
    slug: str,
    detail: str,
    errors: list[FieldError],
    extensions: dict[str, Any] | None = None,
) -> dict[str, Any]:
    problem = problem_body(status, slug, detail, errors=errors, extensions=extensions)
    return {"index": index, "status": status, "problem": problem}


def _item_errors(index: int, exc: ValidationError) -> list[FieldError]:
    """Every pydantic error of item `index`, named `items[3].sender.id` and `/items/3/sender/id`."""
    out = []
    for error in exc.errors(include_url=False, include_input=False):
        path = f"items[{index}]"
        pointer = f"/items/{index}"
        for part in error["loc"]:
            path += f"[{part}]" if isinstance(part, int) else f".{part}"
            pointer += "/" + str(part).replace("~", "~0").replace("/", "~1")
        out.append(FieldError(path, error["msg"], pointer))
    return out
