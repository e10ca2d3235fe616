"""Race-free "insert unless it exists" on both SQLite and PostgreSQL.

`INSERT ... ON CONFLICT DO NOTHING` lets the database arbitrate concurrent inserts of the same
natural key without a failed statement, so the caller's transaction stays usable (no savepoint:
pysqlite's savepoints would release the outer transaction early).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import CursorResult
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session


def insert_if_absent(
    session: Session, model: type[DeclarativeBase], values: dict[str, Any], conflict_columns: Sequence[str]
) -> bool:
    """Insert one row of `model`; return False, changing nothing, when `conflict_columns` already exist."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt: Any = (
            postgresql.insert(model)
            .values(**values)
            .on_conflict_do_nothing(index_elements=list(conflict_columns))
        )
    elif dialect == "sqlite":
        stmt = (
            sqlite.insert(model)
            .values(**values)
            .on_conflict_do_nothing(index_elements=list(conflict_columns))
        )
    else:  # pragma: no cover - only the two supported databases are configured
        raise NotImplementedError(f"unsupported database dialect {dialect!r}")
    result = session.execute(stmt, execution_options={"preserve_rowcount": True})
    assert isinstance(result, CursorResult)
    return result.rowcount == 1
