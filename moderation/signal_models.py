"""Persistence of the signals' block list: entities and accounts from confirmed scams, and allow-list
overrides (see `moderation.blocklist`).

Same declarative `Base` as `moderation.models`; migration 0005 creates exactly this table.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from moderation.clock import utcnow
from moderation.models import Base


class ListedEntity(Base):
    """One block-list or allow-list entry for an entity key ("handle:paypal.me/x", "account:u42").

    Block entries come from `confirm_scam` decisions (one row per decision and key, so an undo can
    revoke exactly its own rows); allow entries come from moderators and override every block entry
    of the key while active. Nothing is deleted: expiry and revocation are timestamps, kept for audit.
    """

    __tablename__ = "listed_entities"
    __table_args__ = (Index("ix_listed_entities_key_list", "entity_key", "list_name"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    entity_key: Mapped[str] = mapped_column(String(300))
    list_name: Mapped[str] = mapped_column(String(8))  # block | allow
    kind: Mapped[str] = mapped_column(String(16))  # handle | iban | crypto | phone | email | domain | account
    category: Mapped[str | None] = mapped_column(String(40))
    sender_id: Mapped[str | None] = mapped_column(String(200))
    submission_id: Mapped[str | None] = mapped_column(String(32))
    decision_id: Mapped[int | None] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
