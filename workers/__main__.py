"""`python -m workers [--burst]`: run a worker configured from VIGIE_* environment variables."""

from __future__ import annotations

import os
import sys

from moderation.settings import Settings
from workers.worker import run_worker


def main(argv: list[str]) -> int:
    run_worker(Settings.from_env(os.environ), burst="--burst" in argv)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
