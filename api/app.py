"""The Flask app factory: composition root #1 of the service.

`create_app(settings)` builds every handle a request needs (engine, session factory, Redis,
RQ queue, rate limiter, metrics, a lazily loaded Scorer) and registers one blueprint per
resource. Nothing connects and no model loads here: handles are lazy, the Scorer loads on
the first ?mode=sync request (or when a gunicorn worker warms it up after boot).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from redis import Redis

from api import auth, instrumentation, problems, request_args, request_id
from api.instrumentation import ApiMetrics
from api.ratelimit import RateLimiter, add_rate_headers
from api.services import EXTENSION_KEY, ScorerProvider, Services, close_request_session, default_scorer_loader
from moderation.db import make_engine, make_session_factory
from moderation.keys import PrincipalCache
from moderation.redaction import install_log_redaction
from moderation.settings import Settings

FAST_REDIS_TIMEOUT_S = 0.5

if TYPE_CHECKING:
    from scoring.engine import Scorer


class CookieOnlySessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, without their per-request cost on requests that carry no cookie.

    Only the console uses sessions (its cookie is scoped to /console); the default interface still
    builds an itsdangerous serializer for every API request, a measurable share of a submission's
    CPU. A request without the cookie gets a fresh empty session, as the default would give it.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def create_app(
    settings: Settings | None = None, *, scorer_loader: Callable[[], Scorer] | None = None
) -> Flask:
    """Build the API application.

    `settings` defaults to `Settings.from_env(os.environ)` (read here, at call time, never at
    import). `scorer_loader` replaces how the sync-mode Scorer is loaded (tests share one).
    """
    from workers.queues import make_redis, score_queue, webhook_queue

    if settings is None:
        settings = Settings.from_env(os.environ)
    install_log_redaction()  # phones, e-mails, IBANs, cards and keys never reach the logs
    app = Flask(__name__, static_folder=None)
    app.session_interface = CookieOnlySessionInterface()
    # Werkzeug refuses larger bodies with 413 before the view reads them.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]

    engine = make_engine(settings)
    redis = make_redis(settings.redis_url)
    # Optional Redis uses on the request path (rate limit, readiness) get sub-second timeouts: a
    # hung Redis must not stall every request for the main client's 10 s socket timeout.
    fast_redis = Redis.from_url(
        settings.redis_url, socket_connect_timeout=FAST_REDIS_TIMEOUT_S, socket_timeout=FAST_REDIS_TIMEOUT_S
    )
    metrics = ApiMetrics()
    svc = Services(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        redis=redis,
        fast_redis=fast_redis,
        queue=score_queue(redis, settings),
        webhook_queue=webhook_queue(redis, settings),
        rate_limiter=RateLimiter(
            fast_redis, settings.rate_limit_per_minute, on_fail_open=metrics.ratelimit_fail_open.inc
        ),
        metrics=metrics,
        scorer=ScorerProvider(scorer_loader or default_scorer_loader(settings, [metrics.observe_scorer])),
        principals=PrincipalCache(settings.auth_cache_ttl_s),
    )
    app.extensions[EXTENSION_KEY] = svc

    # Order matters: the request id and the timer come before authentication, so refused
    # requests are measured and correlated too.
    request_id.init_app(app)
    instrumentation.init_app(app, metrics)
    problems.init_app(app)
    auth.init_app(app)
    request_args.init_app(app)
    app.after_request(add_rate_headers)
    app.teardown_appcontext(close_request_session)

    from api import batch_submissions, docs, health, reports, submissions
    from api import metrics as metrics_bp
    from api import warnings as warnings_bp

    for module in (submissions, batch_submissions, health, metrics_bp, docs, warnings_bp, reports):
        app.register_blueprint(module.bp)
    # Moderators: the review API and the server-rendered console.
    from api import console, review

    app.register_blueprint(review.bp)
    console.init_app(app)
    # Moderator decisions clear/upgrade safety warnings and settle user reports.
    from moderation import user_side_listeners

    user_side_listeners.install()
    # Confirmed scams feed the signals' block list (entities and sender accounts, with expiry).
    from moderation import blocklist

    blocklist.install(settings.blocklist_ttl_days)
    return app
