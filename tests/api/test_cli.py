"""The ops CLI: migrations, key management (key alone on the last line), demo data mapping."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy.orm import Session, sessionmaker

from api.cli import main
from api.cli.ops import demo_requests
from moderation.keys import authenticate
from moderation.settings import Settings


def env_for(settings: Settings) -> dict[str, str]:
    return {
        "VIGIE_DATABASE_URL": settings.database_url,
        "VIGIE_REDIS_URL": settings.redis_url,
        "VIGIE_DATA_DIR": str(settings.data_dir),
    }


def test_keys_create_prints_the_key_alone_on_the_last_line(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    result = CliRunner().invoke(
        main, ["keys", "create", "--name", "messaging", "--scopes", "submit,read"], env=env_for(settings)
    )
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    with session_factory() as session:
        principal = authenticate(session, key)
    assert principal is not None
    assert principal.name == "messaging"
    assert principal.scopes == frozenset({"submit", "read"})


def test_keys_create_refuses_unknown_scopes(settings: Settings) -> None:
    result = CliRunner().invoke(
        main, ["keys", "create", "--name", "x", "--scopes", "submit,root"], env=env_for(settings)
    )
    assert result.exit_code != 0
    assert "root" in result.output


def test_keys_list_and_revoke(settings: Settings, session_factory: sessionmaker[Session]) -> None:
    runner = CliRunner()
    env = env_for(settings)
    key = runner.invoke(main, ["keys", "create", "--name", "listings", "--scopes", "read"], env=env)
    plaintext = key.output.strip().splitlines()[-1]
    prefix = plaintext.split("_", 2)[1]

    listing = runner.invoke(main, ["keys", "list"], env=env)
    assert listing.exit_code == 0
    assert prefix in listing.output
    assert plaintext.split("_", 2)[2] not in listing.output  # never the secret

    revoked = runner.invoke(main, ["keys", "revoke", prefix], env=env)
    assert revoked.exit_code == 0, revoked.output
    with session_factory() as session:
        assert authenticate(session, plaintext) is None
    assert runner.invoke(main, ["keys", "revoke", "nosuchkey"], env=env).exit_code != 0


def test_db_migrate_is_idempotent(settings: Settings) -> None:
    result = CliRunner().invoke(main, ["db", "migrate"], env=env_for(settings))
    assert result.exit_code == 0, result.output


def test_demo_lines_map_to_api_requests() -> None:
    route, body = demo_requests(
        {"id": "d1", "kind": "message", "text": "Salut", "label": "scam", "sender": {"id": "u1", "mood": "x"}}
    )
    assert route == "/v1/messages"
    assert body == {
        "external_id": "d1",
        "text": "Salut",
        "sender": {"id": "u1"},
        "conversation_id": "demo-d1",
    }
    route, body = demo_requests({"id": "a1", "kind": "listing", "text": "Vélo", "price": 80, "notes": "x"})
    assert route == "/v1/listings"
    assert body == {"external_id": "a1", "text": "Vélo", "price": 80}


def test_demo_load_without_data_says_so(tmp_path) -> None:
    result = CliRunner().invoke(main, ["demo", "load", "--key", "k", "--dir", str(tmp_path / "none")])
    assert result.exit_code == 0
    assert "nothing loaded" in result.output
