"""The model registry: register trained candidates, promote them through the gate, roll back.

Statuses: `candidate` (registered, not serving), `active` (serving; at most one per kind, a partial
UNIQUE index enforces it), `retired` (served before), `rejected` (the gate refused it). With no
active row for a kind, workers serve the shipped artifact.

The gate (`scoring.label_training.promotion_gate`) compares the candidate with the model that was
active when the candidate was evaluated, on the same held-out split; those figures are stored with
the candidate. Promotion refuses figures that are stale (another model became active since) unless
forced. Every promotion and rollback writes an audit event; the caller commits, then tells the
workers to reload (`workers.scorer_reload`).
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from moderation import audit
from moderation.errors import ModerationError, NotFound
from moderation.model_registry_models import ModelVersion
from moderation.settings import Settings
from scoring.label_training import promotion_gate

log = logging.getLogger(__name__)

CANDIDATE, ACTIVE, RETIRED, REJECTED = "candidate", "active", "retired", "rejected"
SHIPPED = "shipped"  # the `metrics.active.source` of a candidate compared with the shipped artifact


class PromotionRefused(ModerationError):
    """The gate (or a stale comparison) refused a promotion; `reasons` say why."""

    def __init__(self, version: str, reasons: list[str]) -> None:
        super().__init__(f"{version}: promotion refused: {'; '.join(reasons)}")
        self.version = version
        self.reasons = reasons


class NothingToRollBack(ModerationError):
    """No active registry model of that kind: workers already serve the shipped artifact."""


class ArtifactIntegrityError(ModerationError):
    """Stored bytes do not hash to the row's version: refuse to serve them."""


@dataclass(frozen=True)
class Evaluation:
    """A candidate's figures next to the then-active model's, on the same held-out split."""

    candidate: dict[str, Any]
    active: dict[str, Any] | None
    active_version: str | None
    active_source: str  # "registry" | "shipped"
    precision_tolerance: float = 0.0  # the gate's allowed precision drop (VIGIE_PROMOTE_PRECISION_TOLERANCE)

    def to_dict(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate,
            "active": self.active,
            "active_version": self.active_version,
            "active_source": self.active_source,
            "gate": promotion_gate(self.candidate, self.active, self.precision_tolerance).to_dict(),
        }


def register_candidate(
    session: Session,
    *,
    kind: str,
    artifact: bytes,
    metadata: dict[str, Any],
    evaluation: Evaluation,
    trained_on: dict[str, Any],
    actor: str,
    now: datetime,
) -> ModelVersion:
    """Store a trained model as a candidate (idempotent on its content version).

    `metadata["version"]` must be the content hash of `artifact` (`scoring.model.content_version`);
    retraining on the same data gives the same bytes and returns the existing row.
    """
    version = str(metadata["version"])
    _verify(kind, version, artifact)
    existing = session.get(ModelVersion, version)
    if existing is not None:
        return existing
    row = ModelVersion(
        version=version,
        kind=kind,
        status=CANDIDATE,
        artifact=artifact,
        metadata_json=metadata,
        metrics=evaluation.to_dict(),
        trained_on=trained_on,
        created_at=now,
        created_by=actor,
    )
    session.add(row)
    audit.record(
        session, actor, "model.registered", "model", version, {"kind": kind, "gate": row.metrics["gate"]}
    )
    session.flush()
    return row


def list_versions(session: Session, kind: str | None = None) -> list[ModelVersion]:
    """Every registered model (of `kind`), newest first."""
    query = select(ModelVersion).order_by(ModelVersion.created_at.desc(), ModelVersion.version)
    if kind is not None:
        query = query.where(ModelVersion.kind == kind)
    return list(session.scalars(query))


def get_version(session: Session, version: str) -> ModelVersion:
    row = session.get(ModelVersion, version)
    if row is None:
        raise NotFound("model", version)
    return row


def active_version(session: Session, kind: str) -> ModelVersion | None:
    return session.scalars(
        select(ModelVersion).where(ModelVersion.kind == kind, ModelVersion.status == ACTIVE)
    ).first()


def active_artifact(session: Session, kind: str) -> tuple[str, bytes, dict[str, Any]] | None:
    """(version, artifact bytes, metadata) of the active model of `kind`, or None (serve shipped)."""
    row = active_version(session, kind)
    if row is None:
        return None
    _verify(row.kind, row.version, row.artifact)
    return row.version, row.artifact, dict(row.metadata_json)


def active_model_path(session: Session, kind: str, cache_dir: Path) -> Path | None:
    """The active model of `kind` written to `cache_dir` (verified), or None: serve the shipped one."""
    found = active_artifact(session, kind)
    if found is None:
        return None
    version, artifact, metadata = found
    return materialise(version, artifact, metadata, cache_dir)


def serving_model_path(settings: Settings, kind: str = "text") -> Path | None:
    """Where the registry's active model of `kind` is cached for loading, or None (serve shipped).

    Never fails a process start: a database without the registry table, unreachable, or holding
    bytes that do not match their version logs a warning and answers None.
    """
    from moderation.db import make_engine

    engine = make_engine(settings)
    try:
        with Session(engine) as session:
            return active_model_path(session, kind, settings.data_dir / "models")
    except SQLAlchemyError as exc:
        # The exception class only: SQLAlchemy's message carries the whole statement and its parameters.
        log.warning("model registry unavailable, serving the shipped %s model: %s", kind, type(exc).__name__)
        return None
    except ArtifactIntegrityError as exc:
        log.warning("model registry unavailable, serving the shipped %s model: %s", kind, exc)
        return None
    finally:
        engine.dispose()


def promote(
    session: Session,
    version: str,
    actor: str,
    now: datetime,
    *,
    force: bool = False,
    reason: str | None = None,
    precision_tolerance: float = 0.0,
) -> ModelVersion:
    """Make `version` the active model of its kind, through the gate unless `force` (with a reason).

    Refused (PromotionRefused) when the stored comparison fails the gate, in which case the row is
    marked `rejected` (the caller commits that), or when it was made against a model that is no
    longer the active one. The gate is re-judged now, with `precision_tolerance`
    (`Settings.promote_precision_tolerance`). The replaced model becomes `retired` and is
    remembered as `previous_active` for `rollback`.
    """
    row = get_version(session, version)
    if row.status == ACTIVE:
        return row
    current = _lock_active(session, row.kind)
    if force:
        if not reason:
            raise PromotionRefused(version, ["--force needs a reason (it is audited)"])
    else:
        reasons = _gate_reasons(row, current, precision_tolerance)
        if reasons:
            if row.status == CANDIDATE and not _is_stale(row, current):
                row.status = REJECTED
                audit.record(session, actor, "model.rejected", "model", version, {"reasons": reasons})
                session.flush()
            raise PromotionRefused(version, reasons)
    if current is not None:
        current.status = RETIRED
        # Flush the retirement first: the one-active index is checked row by row.
        session.flush()
    row.status = ACTIVE
    row.promoted_at = now
    row.promoted_by = actor
    row.previous_active = current.version if current is not None else None
    audit.record(
        session,
        actor,
        "model.promoted",
        "model",
        version,
        {
            "kind": row.kind,
            "previous_active": row.previous_active,
            "forced": force,
            "reason": reason,
            "gate": row.metrics.get("gate"),
            "precision_tolerance": None if force else precision_tolerance,
        },
    )
    session.flush()
    return row


def rollback(session: Session, kind: str, actor: str, now: datetime, reason: str | None = None) -> str | None:
    """Retire the active model of `kind` and re-activate the one it replaced.

    Returns the version now active, or None when the shipped artifact serves again (the rolled-back
    model had replaced no registry model). Raises NothingToRollBack when no registry model is active.
    """
    current = _lock_active(session, kind)
    if current is None:
        raise NothingToRollBack(
            f"no active {kind} model in the registry: the shipped artifact already serves"
        )
    previous = session.get(ModelVersion, current.previous_active) if current.previous_active else None
    current.status = RETIRED
    session.flush()
    if previous is not None:
        previous.status = ACTIVE
        previous.promoted_at = now
        previous.promoted_by = actor
    audit.record(
        session,
        actor,
        "model.rolled_back",
        "model",
        current.version,
        {"kind": kind, "restored": previous.version if previous else SHIPPED, "reason": reason},
    )
    session.flush()
    return previous.version if previous is not None else None


def materialise(version: str, artifact: bytes, metadata: dict[str, Any], cache_dir: Path) -> Path:
    """Write a registry model as `<cache_dir>/<version>.skops` + `.json` for the artifact loader.

    The bytes are checked against the version first; an existing file is reused only when its bytes
    are identical (workers on one machine share the cache directory).
    """
    kind = str(metadata.get("kind", version.split("-", 1)[0]))
    _verify(kind, version, artifact)
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"{version}.skops"
    if not path.exists() or path.read_bytes() != artifact:
        # Write then rename: a concurrent reader never sees half a file.
        tmp = path.with_suffix(f".skops.{uuid.uuid4().hex}.tmp")
        tmp.write_bytes(artifact)
        tmp.replace(path)
    meta_path = path.with_suffix(".json")
    meta_text = json.dumps(metadata, indent=2, sort_keys=True) + "\n"
    if not meta_path.exists() or meta_path.read_text(encoding="utf-8") != meta_text:
        tmp_meta = meta_path.with_suffix(f".json.{uuid.uuid4().hex}.tmp")
        tmp_meta.write_text(meta_text, encoding="utf-8")
        tmp_meta.replace(meta_path)
    return path


def _verify(kind: str, version: str, artifact: bytes) -> None:
    from scoring.model import content_version

    actual = content_version(kind, artifact)
    if actual != version:
        raise ArtifactIntegrityError(f"model bytes hash to {actual}, not {version}")


def _lock_active(session: Session, kind: str) -> ModelVersion | None:
    # FOR UPDATE on PostgreSQL serialises concurrent promotions of one kind (SQLite serialises writers).
    return session.scalars(
        select(ModelVersion).where(ModelVersion.kind == kind, ModelVersion.status == ACTIVE).with_for_update()
    ).first()


def _is_stale(row: ModelVersion, current: ModelVersion | None) -> bool:
    compared_with = row.metrics.get("active_version") if row.metrics.get("active_source") != SHIPPED else None
    return compared_with != (current.version if current is not None else None)


def _gate_reasons(row: ModelVersion, current: ModelVersion | None, precision_tolerance: float) -> list[str]:
    if _is_stale(row, current):
        was = str(row.metrics.get("active_version"))
        if row.metrics.get("active_source") == SHIPPED:
            was = f"the shipped model {was}"
        now_active = current.version if current is not None else "the shipped model"
        return [
            f"evaluated against {was}, but {now_active} is active now: retrain (or --force with a reason)"
        ]
    gate = promotion_gate(row.metrics["candidate"], row.metrics.get("active"), precision_tolerance)
    return [] if gate.passed else list(gate.reasons)
