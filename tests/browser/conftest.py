"""Browser fixtures: the real app served by a werkzeug server on a free port (with webhooks to a
local HTTP receiver), and headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import dataclasses
import json
import shutil
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from werkzeug.serving import make_server

from api import create_app
from moderation.db import make_engine, make_session_factory
from moderation.keys import create_key
from moderation.moderators import create_moderator
from moderation.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]  # fmt: skip
WEBHOOK_SECRET = "whsec-browser-test"
PASSWORD = "mot de passe du modo"


@dataclass
class Receiver:
    """A local HTTP endpoint standing in for the platform: records every webhook it receives."""

    url: str = ""
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append((dict(self.headers.items()), body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/vigie"
    yield state
    server.shutdown()
    server.server_close()


@dataclass
class Stack:
    base_url: str
    settings: Settings
    platform_key: str
    moderator_email: str

    def api(self, method: str, path: str, body: dict[str, Any] | None = None, key: str | None = None) -> Any:
        """Call the live API like the platform would; returns the decoded JSON body."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {key or self.platform_key}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())


@pytest.fixture
def stack(settings: Settings, receiver: Receiver, scorer: Any) -> Iterator[Stack]:
    """The app on a real HTTP server (threaded werkzeug), a platform key and a moderator account."""
    hooked = dataclasses.replace(
        settings, webhook_url=receiver.url, webhook_secret=WEBHOOK_SECRET, sync_budget_ms=10_000
    )
    engine = make_engine(hooked)
    with make_session_factory(engine)() as session:
        _, platform_key = create_key(session, "platform", {"submit", "read", "moderate"})
        create_moderator(session, "modo@example.org", "Modo", PASSWORD)
        session.commit()
    engine.dispose()
    app = create_app(hooked, scorer_loader=lambda: scorer)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Stack(f"http://127.0.0.1:{server.server_port}", hooked, platform_key, "modo@example.org")
    finally:
        server.shutdown()
        thread.join(timeout=10)
        app.extensions["vigie"].close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if shutil.which("chromium") is None and not __import__("os").path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is required (scripts/test.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="fr-FR", viewport={"width": 1200, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()
