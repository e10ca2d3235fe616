"""Request and response bodies of the HTTP API (pydantic v2).

Request models validate the DESIGN contract-2 fields plus `external_id`; they forbid
unknown fields so a client's typo fails loudly (422 naming the field) instead of being
silently ignored. Response models document what the API returns and feed /openapi.json.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

# Identifiers come from the platform; keep them printable and bounded so they are safe in
# logs, URLs and unique indexes.
Identifier = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@/+=-]+$")]

# The default when no validation context is given (e.g. in the OpenAPI document).
DEFAULT_MAX_TEXT_CHARS = 20_000
DEFAULT_BATCH_MAX_ITEMS = 100


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class SenderIn(_Strict):
    """Who sent the content, as far as the platform knows."""

    id: Identifier | None = None
    email: str | None = Field(default=None, max_length=320)
    account_age_days: float | None = Field(default=None, ge=0)
    is_pro: bool | None = None
    siret: str | None = Field(default=None, pattern=r"^[0-9]{14}$", description="14-digit French SIRET")


class RecipientIn(_Strict):
    """Who receives the content (the person a warning is shown to)."""

    id: Identifier | None = None
    locale: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z]{2}([-_][A-Za-z]{2})?$",
        description="The recipient's locale (fr, en, fr-FR...): the language of their safety warnings.",
    )


class _SubmissionIn(_Strict):
    external_id: Identifier = Field(description="The platform's id; idempotency key per kind.")
    text: str = Field(
        min_length=1,
        description=(
            "Message body or listing description; at most VIGIE_MAX_TEXT_CHARS characters "
            f"(default {DEFAULT_MAX_TEXT_CHARS}), else 422 on `text`."
        ),
    )
    title: str | None = Field(default=None, max_length=500)
    price: float | None = Field(default=None, ge=0)
    category: str | None = Field(default=None, max_length=100)
    sender: SenderIn | None = None
    recipient: RecipientIn | None = None
    lang: Literal["fr", "en"] | None = None

    @field_validator("text")
    @classmethod
    def _text_within_limit(cls, value: str, info: ValidationInfo) -> str:
        # The limit is a setting (VIGIE_MAX_TEXT_CHARS), passed as validation context.
        limit = (info.context or {}).get("max_text_chars", DEFAULT_MAX_TEXT_CHARS)
        if len(value) > limit:
            raise ValueError(f"text is longer than {limit} characters")
        if not value.strip():
            raise ValueError("text must not be blank")
        return value


class MessageIn(_SubmissionIn):
    """A buyer–seller chat message. Messages are immutable: one body per external_id."""

    conversation_id: Identifier = Field(description="The conversation the message belongs to.")


class ListingIn(_SubmissionIn):
    """A classified listing. Listings are edited: a new body under the same external_id is a new revision."""

    conversation_id: Identifier | None = None


class MessageBatchIn(_Strict):
    """Several messages in one request: each item is validated, answered and stored on its own."""

    items: list[MessageIn] = Field(
        min_length=1,
        max_length=DEFAULT_BATCH_MAX_ITEMS,
        description=f"1 to VIGIE_BATCH_MAX_ITEMS (default {DEFAULT_BATCH_MAX_ITEMS}) messages.",
    )


class ListingBatchIn(_Strict):
    """Several listings in one request: each item is validated, answered and stored on its own."""

    items: list[ListingIn] = Field(
        min_length=1,
        max_length=DEFAULT_BATCH_MAX_ITEMS,
        description=f"1 to VIGIE_BATCH_MAX_ITEMS (default {DEFAULT_BATCH_MAX_ITEMS}) listings.",
    )


class ReasonOut(BaseModel):
    code: str
    category: str
    weight: float
    evidence: str
    span: list[int] | None = None
    field: str = "text"
    detail: dict[str, Any] | None = None


class AssessmentOut(BaseModel):
    score: float = Field(ge=0, le=1)
    verdict: Literal["allow", "warn", "review", "hold"]
    categories: list[str]
    reasons: list[ReasonOut]
    model_version: str
    rules_version: str
    assessed_at: str | None = None


class SubmissionOut(BaseModel):
    """A submission as stored, with the assessment of its current revision when it exists."""

    model_config = ConfigDict(extra="allow")

    id: str
    kind: Literal["message", "listing"]
    external_id: str
    conversation_id: str | None = None
    revision: int = Field(ge=1)
    status: Literal["queued", "scored", "failed"]
    created_at: str | None = None
    assessment: AssessmentOut | None = None


class FieldErrorOut(BaseModel):
    field: str
    message: str
    pointer: str | None = Field(
        default=None, description="The same location as an RFC 6901 JSON pointer (batch items)."
    )


class ProblemOut(BaseModel):
    """RFC 9457 problem details (media type application/problem+json)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[FieldErrorOut] | None = None
    request_id: str | None = None


class BatchItemOut(BaseModel):
    """The outcome of one item of a batch, at the item's position."""

    index: int = Field(ge=0)
    status: Literal[200, 201, 409, 422] = Field(
        description="201 stored (queued), 200 identical replay, 409 external_id taken by another body, "
        "422 invalid item."
    )
    submission: SubmissionOut | None = Field(default=None, description="On 200 and 201.")
    problem: ProblemOut | None = Field(default=None, description="On 409 and 422, as problem details.")


class BatchOut(BaseModel):
    """Per-item results, in the order of the request's items."""

    items: list[BatchItemOut]


class HealthOut(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, Literal["ok", "failed"]] | None = None
