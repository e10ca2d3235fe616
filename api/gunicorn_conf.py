"""gunicorn configuration used by `vigie serve` (loaded as `-c python:api.gunicorn_conf`).

Hooks only: binding, worker count and the app come from the command line.
"""

from __future__ import annotations

import os
import threading
from typing import Any

# The app builds its own handles after fork: nothing is shared between workers but files.
preload_app = False
# gunicorn's default access format plus the request id; the query string may appear in %(r)s, but
# the API takes no personal data in queries (bodies are never logged).
access_log_format = '%(h)s - - %(t)s "%(r)s" %(s)s %(b)s %(L)ss rid=%({x-request-id}o)s'


def post_worker_init(worker: Any) -> None:
    """Warm the sync-mode Scorer in the background so the first ?mode=sync request meets its budget."""
    app = getattr(worker, "wsgi", None)
    services = getattr(app, "extensions", {}).get("vigie")
    if services is not None:
        threading.Thread(target=services.scorer.warm_up, name="vigie-scorer-warmup", daemon=True).start()


def child_exit(server: Any, worker: Any) -> None:
    """Tell prometheus-client a worker died, so its live gauges stop counting (multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
