"""`vigie shadow report` and `vigie backtest`: what a candidate rule pack or model would change.

`shadow report` reads the verdicts a candidate gave live traffic in shadow mode
(VIGIE_SHADOW_RULES_PATH / VIGIE_SHADOW_MODEL_PATH on the workers). `backtest` rescores stored
submissions now, with the active scorer and with the candidate, in batches with a progress bar on
stderr. Both print tables, or one JSON document with `--json`.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from typing import Any

import click

from api.cli import comparison_tables as tables
from moderation.settings import Settings


class WhenParam(click.ParamType):
    """A date or timestamp (ISO 8601, UTC unless an offset is given) or an age such as 7d or 12h."""

    name = "date"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        from moderation.clock import utcnow
        from moderation.retention import parse_age

        text = str(value).strip()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            try:
                return utcnow() - parse_age(text)
            except ValueError:
                self.fail(f"{text!r} is neither a date (2026-11-01) nor an age (7d, 12h)", param, ctx)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


WHEN = WhenParam()


def _settings() -> Settings:
    return Settings.from_env(os.environ)


# --- shadow ----------------------------------------------------------------------------------------
@click.group()
def shadow() -> None:
    """Shadow mode: a candidate scores live traffic beside the active scorer without acting."""


@shadow.command("report")
@click.option("--candidate", default=None, help="Candidate name (default: the most recently active one).")
@click.option("--since", type=WHEN, default=None, help="Only rows recorded from this date or age (7d) on.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of tables.")
def shadow_report_command(candidate: str | None, since: datetime | None, as_json: bool) -> None:
    """Compare a candidate's shadow verdicts with the active verdicts on the same revisions."""
    from moderation.db import make_engine, make_session_factory
    from moderation.shadow import list_candidates, shadow_report

    engine = make_engine(_settings())
    try:
        with make_session_factory(engine)() as session:
            known = list_candidates(session)
            if candidate is not None and candidate not in {c.name for c in known}:
                names = ", ".join(c.name for c in known) or "none recorded yet"
                raise click.BadParameter(
                    f"no shadow rows for {candidate!r} (candidates: {names})", param_hint="--candidate"
                )
            report = shadow_report(session, candidate, since)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps({**report.to_dict(), "candidates": [_candidate(c) for c in known]}, indent=2))
        return
    if report.candidate is None:
        click.echo(
            "no shadow assessments recorded "
            "(set VIGIE_SHADOW_RULES_PATH or VIGIE_SHADOW_MODEL_PATH on the workers)"
        )
        return
    lines = [
        f"candidate: {report.candidate}",
        f"candidate rules: {', '.join(report.rules_versions)}; model: {', '.join(report.model_versions)}",
    ]
    if report.since is not None:
        lines.append(f"since: {report.since.isoformat(timespec='seconds')}")
    lines += [
        "",
        *tables.summary(report.comparison),
        "",
        *tables.transition_matrix(report.comparison, "active", "candidate"),
    ]
    lines += ["", "per category:", *tables.categories(report.comparison)]
    lines += ["", "against moderator labels:", *tables.against_labels(report.comparison)]
    if len(known) > 1:
        lines += [
            "",
            "other candidates: "
            + ", ".join(f"{c.name} ({c.rows})" for c in known if c.name != report.candidate),
        ]
    click.echo("\n".join(lines))


def _candidate(summary: Any) -> dict[str, Any]:
    return {
        "name": summary.name,
        "rows": summary.rows,
        "first_at": summary.first_at.isoformat(),
        "last_at": summary.last_at.isoformat(),
    }


# --- backtest --------------------------------------------------------------------------------------
@click.command()
@click.option(
    "--rules", "rules_path", type=click.Path(exists=True, dir_okay=False), help="Candidate rule pack (TOML)."
)
@click.option(
    "--model",
    "model_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Candidate text model artifact.",
)
@click.option(
    "--url-model",
    "url_model_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Candidate URL model artifact.",
)
@click.option(
    "--since", type=WHEN, default=None, help="Only revisions created from this date or age (30d) on."
)
@click.option(
    "--kind", type=click.Choice(["message", "listing"]), default=None, help="Only this kind (default both)."
)
@click.option("--batch-size", type=click.IntRange(min=1, max=10_000), default=200, show_default=True)
@click.option(
    "--examples", "max_examples", type=click.IntRange(min=0, max=1000), default=10, show_default=True
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of tables.")
def backtest(
    rules_path: str | None,
    model_path: str | None,
    url_model_path: str | None,
    since: datetime | None,
    kind: str | None,
    batch_size: int,
    max_examples: int,
    as_json: bool,
) -> None:
    """Rescore stored submissions with the active scorer and a candidate; show what would change."""
    if not (rules_path or model_path or url_model_path):
        raise click.UsageError("give the candidate: --rules FILE and/or --model FILE (or --url-model FILE)")
    from moderation.backtest import BacktestOptions, count_revisions, run_backtest
    from moderation.db import make_engine, make_session_factory
    from scoring.engine import Scorer
    from workers.context import load_scorer

    settings = _settings()
    try:
        active = load_scorer(settings)
        candidate = Scorer.load(
            model_path or settings.model_path or None,
            url_model_path or None,
            rules_path=rules_path or settings.rules_path or None,
            brands_path=settings.brands_path or None,
        )
    except (OSError, ValueError) as exc:
        # Rule pack errors name the bad key; artifact errors name the file.
        raise click.ClickException(f"cannot load the candidate: {exc}") from None
    options = BacktestOptions(since=since, kind=kind, batch_size=batch_size, max_examples=max_examples)
    engine = make_engine(settings)
    try:
        session_factory = make_session_factory(engine)
        with session_factory() as session:
            total = count_revisions(session, options)
        with click.progressbar(length=total, label="rescoring", file=sys.stderr) as bar:
            report = run_backtest(session_factory, active, candidate, options, on_batch=bar.update)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return
    click.echo("\n".join(_backtest_lines(report)))


def _backtest_lines(report: Any) -> list[str]:
    a_rules, a_model = report.active_versions
    c_rules, c_model = report.candidate_versions
    scope = []
    if report.options.kind:
        scope.append(f"kind={report.options.kind}")
    if report.options.since:
        scope.append(f"since={report.options.since.isoformat(timespec='seconds')}")
    lines = [
        f"active:    rules {a_rules}, model {a_model}",
        f"candidate: rules {c_rules}, model {c_model}",
        f"revisions: {report.scanned} scanned{' (' + ', '.join(scope) + ')' if scope else ''}, "
        f"{report.scored} rescored, {report.skipped_purged} skipped (purged), "
        f"{report.skipped_empty} skipped (no text)",
        "",
        "candidate vs active (both rescored now, content only):",
        *tables.summary(report.comparison),
        "",
        *tables.transition_matrix(report.comparison, "active", "candidate"),
        "",
        "per category (items reported under it by either side):",
        *tables.categories(report.comparison),
        "",
        "against moderator labels (flag = warn, review or hold):",
        *tables.against_labels(report.comparison),
        "",
        "stored verdicts vs active rescored now (drift from older versions and from signals):",
        f"compared: {report.drift.total}, changed: {report.drift.changed}, "
        f"never assessed: {report.unassessed}",
    ]
    if report.drift.total:
        lines += tables.transition_matrix(report.drift, "stored", "active now")
    if report.stored_versions:
        lines.append(
            "stored versions: " + "; ".join(f"{v} ({n})" for v, n in sorted(report.stored_versions.items()))
        )
    lines += ["", f"examples of changed items ({len(report.examples)} shown, personal data masked):"]
    for e in report.examples:
        label = f", label {e.label}" if e.label else ""
        lines.append(
            f"- {e.kind} {e.external_id}: {e.active_verdict} → {e.candidate_verdict}"
            f" [{', '.join(e.active_categories) or '-'} → {', '.join(e.candidate_categories) or '-'}]{label}"
        )
        lines.append(f"    {e.excerpt}")
    if not report.examples:
        lines.append("(none)")
    return lines


def register(main: click.Group) -> None:
    """Add `shadow` and `backtest` to the `vigie` command group."""
    main.add_command(shadow)
    main.add_command(backtest)
