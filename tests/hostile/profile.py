"""How hard the hostile tests push: a bounded profile in `make test`, the full one in `make fuzz`.

`VIGIE_FUZZ=full` (set by `make fuzz`) multiplies the generated examples; the default keeps the
whole hostile suite within seconds so it can run on every `make test`.
"""

from __future__ import annotations

import os

FULL = os.environ.get("VIGIE_FUZZ", "").lower() == "full"
# Examples per API operation (schemathesis) and per scoring property (hypothesis).
API_EXAMPLES = 150 if FULL else 8
SCORING_EXAMPLES = 2000 if FULL else 60
