"""Domain errors. They carry data, never HTTP: `api` maps them to status codes and problem+json."""

from __future__ import annotations


class ModerationError(Exception):
    """Base class of every error the moderation domain raises on purpose."""


class IdempotencyConflict(ModerationError):
    """A request reused an idempotency key (`field`) with a different body.

    `existing_id` is the id of the submission already stored under that key.
    """

    def __init__(self, field: str, existing_id: str, message: str | None = None) -> None:
        self.field = field
        self.existing_id = existing_id
        super().__init__(message or f"{field} already used with a different body (existing id {existing_id})")


class NotFound(ModerationError):
    """The subject does not exist (or is not visible to the caller)."""

    def __init__(self, subject_type: str, subject_id: str) -> None:
        self.subject_type = subject_type
        self.subject_id = subject_id
        super().__init__(f"{subject_type} {subject_id} not found")


class InvalidScopes(ModerationError):
    """Scopes outside `moderation.keys.SCOPES` were requested."""

    def __init__(self, unknown: frozenset[str]) -> None:
        self.unknown = unknown
        super().__init__(f"unknown scopes: {', '.join(sorted(unknown))}")
