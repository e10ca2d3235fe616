"""Request and response bodies of /v1/review and /v1/audit (pydantic v2, fed to /openapi.json)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DecisionIn(_Strict):
    """A moderator's decision. `version` (or an If-Match header) makes a concurrent change a 409."""

    decision: Literal["confirm_scam", "not_scam", "needs_info"]
    reason: str = Field(min_length=1, max_length=60, description="A reason code of that decision.")
    version: int | None = Field(default=None, ge=1)
    note: str | None = Field(default=None, max_length=2000, description="Internal note (not sent).")
    suspend_sender: bool = False
    statement: str | None = Field(
        default=None, max_length=4000, description="On an appeal: the reasons sent back to the sender."
    )


class AssignIn(_Strict):
    moderator_id: str = Field(min_length=1, max_length=32)


class EscalateIn(_Strict):
    note: str = Field(default="", max_length=2000)


class AppealIn(_Strict):
    """The sender's contestation of a confirmed-scam decision, relayed by the platform."""

    text: str = Field(min_length=1, max_length=4000)


class SenderOut(BaseModel):
    id: str | None
    is_pro: bool | None
    new_account: bool


class AppealOut(BaseModel):
    text: str
    at: str


class ReviewItemOut(BaseModel):
    """A review item. `priority` includes the points earned by waiting; `claimed_by` is the holder
    of a still-valid lease (null once it lapses)."""

    id: str
    submission_id: str
    revision: int
    kind: str
    status: Literal["open", "decided", "needs_info"]
    queue: Literal["standard", "senior"]
    priority: float
    base_priority: float
    score: float | None
    verdict: str | None
    categories: list[str]
    lang: str | None
    sender: SenderOut
    report_count: int
    sources: list[str]
    claimed_by: str | None
    lease_expires_at: str | None
    assigned_to: str | None
    opened_at: str
    due_at: str
    overdue: bool
    escalation_note: str | None
    appeal: AppealOut | None
    last_decision_id: int | None
    version: int
    content: dict[str, Any] | None = Field(default=None, description="Detail view only: text and context.")
    reasons: list[dict[str, Any]] | None = Field(default=None, description="Detail view only.")


class ReviewItemListOut(BaseModel):
    items: list[ReviewItemOut]
    next_cursor: str | None


class DecisionOut(BaseModel):
    id: int
    item_id: str
    submission_id: str
    revision: int
    moderator_id: str
    decision: str
    reason: str
    reason_text: dict[str, str]
    actions: dict[str, bool]
    on_appeal: bool
    statement: str | None
    created_at: str
    undo_until: str
    item_version: int


class AuditEventOut(BaseModel):
    id: int
    at: str
    actor: str
    action: str
    subject_type: str
    subject_id: str
    data: dict[str, Any]


class AuditListOut(BaseModel):
    events: list[AuditEventOut]
    next_cursor: str | None
