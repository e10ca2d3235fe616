"""`vigie moderators create` prints the key alone on the last line; the key and password work."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session, sessionmaker

from api.cli import main
from moderation.keys import authenticate as authenticate_key
from moderation.moderators import authenticate, moderator_for_key
from moderation.settings import Settings


def test_create_prints_a_working_key_and_sets_the_password(
    settings: Settings, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGIE_DATABASE_URL", settings.effective_database_url)
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["moderators", "create", "--email", "Claire@Example.org", "--name", "Claire", "--senior"],
        input="un mot de passe sûr\nun mot de passe sûr\n",
    )
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    with session_factory() as session:
        principal = authenticate_key(session, key)
        assert principal is not None and principal.scopes == frozenset({"moderate"})
        moderator = moderator_for_key(session, principal.key_id)
        assert moderator is not None and moderator.is_senior and moderator.email == "claire@example.org"
        assert authenticate(session, "claire@example.org", "un mot de passe sûr") is not None
        assert authenticate(session, "claire@example.org", "un autre mot de passe") is None

    again = runner.invoke(
        main,
        ["moderators", "create", "--email", "claire@example.org", "--name", "C", "--password", "0123456789"],
    )
    assert again.exit_code == 2 and "already exists" in again.output
    short = runner.invoke(
        main, ["moderators", "create", "--email", "d@example.org", "--name", "D", "--password", "short"]
    )
    assert short.exit_code == 2
    listed = runner.invoke(main, ["moderators", "list"])
    assert "claire@example.org" in listed.output and "senior" in listed.output
