"""Wires the user side (safety warnings, user reports) to moderator decisions.

`moderation.decisions` calls its listeners inside the decision's transaction; installing is explicit
(the composition roots call `install()`) so that importing a module never changes behaviour.
"""

from __future__ import annotations

from moderation import decisions, reports
from moderation import warnings as safety_warnings


def install() -> None:
    """Register the warning and report listeners for decisions and undos; idempotent."""
    decisions.register_decision_listener(safety_warnings.on_decision)
    decisions.register_decision_listener(reports.on_decision)
    for listener in (safety_warnings.on_undo, reports.on_undo):
        if listener not in decisions.on_undo_listeners:
            decisions.on_undo_listeners.append(listener)
