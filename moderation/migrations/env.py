"""Alembic environment: runs against the connection `moderation.db.migrate` hands over."""

from __future__ import annotations

from alembic import context

from moderation import (
    model_registry_models,  # noqa: F401 - registers the model registry on Base
    review_models,  # noqa: F401 - registers the review tables on Base
    shadow_models,  # noqa: F401 - registers the shadow assessments on Base
    signal_models,  # noqa: F401 - registers the signals' block list on Base
    user_models,  # noqa: F401 - registers the user-side tables on Base
)
from moderation.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable when someone runs bare `alembic`
    raise RuntimeError("run migrations through moderation.db.migrate(url)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things: batch mode recreates tables instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
