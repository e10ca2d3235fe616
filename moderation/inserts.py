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


def insert_many_if_absent(
    session: Session,
    model: type[DeclarativeBase],
    rows: Sequence[dict[str, Any]],
    conflict_columns: Sequence[str],
    returning: Sequence[str],
) -> list[tuple[Any, ...]]:
    """Insert `rows` of `model` in one multi-row statement, skipping those whose `conflict_columns`
    already exist; returns the `returning` columns of the rows actually inserted (in no set order).

    The database arbitrates each row exactly as `insert_if_absent` does, so a row a concurrent
    transaction inserted first is skipped, not an error. Every row must have the same keys.
    """
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    table: Any = model.__table__
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(table)
    elif dialect == "sqlite":
        stmt = sqlite.insert(table)
    else:  # pragma: no cover - only the two supported databases are configured
        raise NotImplementedError(f"unsupported database dialect {dialect!r}")
    stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict_columns)).returning(
        *(table.c[name] for name in returning)
    )
    # A list of parameter sets with RETURNING goes through SQLAlchemy's "insertmanyvalues": one
    # INSERT ... VALUES (...), (...) per page of rows instead of one round trip per row.
    return [tuple(row) for row in session.execute(stmt, list(rows))]
