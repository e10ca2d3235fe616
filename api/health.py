"""/healthz (the process answers) and /readyz (its dependencies answer).

Both are public: load balancers and orchestrators probe them without credentials, and
they reveal nothing but "ok"/"failed" per dependency (never an error message or address).
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from api.auth import public
from api.problems import Problem
from api.services import services
from moderation.db import check_database

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public("liveness probe: says only that the process answers")
def healthz() -> Response:
    """Liveness: 200 while the process can serve a request; touches no dependency."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
@public("readiness probe for load balancers; reveals only ok/failed per dependency")
def readyz() -> Response:
    """Readiness: 200 when the database and Redis both answer, 503 problem+json otherwise."""
    svc = services()
    checks: dict[str, str] = {}
    try:
        check_database(svc.engine)
        checks["database"] = "ok"
    except (SQLAlchemyError, OSError) as exc:
        log.warning("readiness: database check failed (%s)", type(exc).__name__)
        checks["database"] = "failed"
    try:
        svc.fast_redis.ping()
        checks["redis"] = "ok"
    except (RedisError, OSError) as exc:
        log.warning("readiness: redis check failed (%s)", type(exc).__name__)
        checks["redis"] = "failed"
    failed = sorted(name for name, state in checks.items() if state != "ok")
    if failed:
        raise Problem(
            503,
            "not-ready",
            f"Unavailable dependencies: {', '.join(failed)}.",
            headers={"Retry-After": "5"},
            extensions={"checks": checks},
        )
    return jsonify({"status": "ok", "checks": checks})
