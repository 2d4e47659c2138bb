"""Development commands: ``token``, ``test-dialogs``, ``simulate`` and ``export-model``.

They talk to the skill in this process (through :func:`app.build_services`, no Flask),
mint tokens for API clients, and write or check the Alexa skill package.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from voicecart.cli.common import prepare_database, settings_of
from voicecart.cli.output import echo
from voicecart.database import make_engine, make_sessions
from voicecart.settings import SKILL_PACKAGE_DIR, Settings

if TYPE_CHECKING:
    from devtools.simulator import LocalTarget

log = logging.getLogger("voicecart")


@click.command()
@click.option("--email", help="The shopper (default: the demo shopper).")
@click.option("--minutes", type=click.IntRange(1, 1440), default=60, show_default=True,
              help="How long the token lives.")  # fmt: skip
@click.pass_context
def token(ctx: click.Context, email: str | None, minutes: int) -> None:
    """Print an access token for a shopper, for curl and API clients in development.

    Anyone holding it acts as that shopper until it expires (it is never written to a log).
    """
    from account_link.accounts import customer_by_email
    from account_link.identity import demo_shopper
    from account_link.tokens import issue_access_token

    sessions = prepare_database(settings_of(ctx))
    with sessions.begin() as db:
        customer = customer_by_email(db, email) if email else demo_shopper(db)
        if customer is None:
            raise click.ClickException(f"no shopper {email or 'demo'}: sign up first, or run "
                                       "`voicecart seed --demo`")  # fmt: skip
        minted = issue_access_token(db, customer, ttl_seconds=minutes * 60)
        who = customer.email
    echo(f"access token for {who}, valid {minutes} minutes:", err=True)
    echo(minted)


@click.command("test-dialogs")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))  # fmt: skip
@click.option("-v", "--verbose", is_flag=True, help="Name every conversation as it runs.")
@click.pass_context
def test_dialogs(ctx: click.Context, paths: tuple[Path, ...], verbose: bool) -> None:
    """Run YAML dialogue tests (files or folders of *.yaml) against a fresh demo database.

    Prints every failing turn with what was expected and what happened, and ends with
    "N passed, N failed"; the exit code is 1 when anything failed.
    """
    from devtools.dialogs import ConversationOutcome, run_files, summary
    from devtools.stages import DialogStages

    def progress(outcome: ConversationOutcome) -> None:
        if verbose:
            mark = "PASS" if outcome.passed else "FAIL"
            echo(f"{mark} {outcome.spec.path}: {outcome.spec.name}")
        elif not outcome.passed:
            echo(outcome.failure_report())

    if not verbose:  # the skill logs every request at INFO; the report says what matters
        logging.getLogger("voicecart").setLevel(logging.WARNING)
    stages = DialogStages(settings_of(ctx))
    try:
        outcomes, broken = run_files(paths, stages, progress)
    finally:
        stages.close()
    for problem in broken:
        echo(f"cannot run {problem}", err=True)
    if verbose:
        for outcome in outcomes:
            if not outcome.passed:
                echo(outcome.failure_report())
    echo(summary(outcomes, broken))
    if broken or not all(o.passed for o in outcomes):
        ctx.exit(1)


@click.command()
@click.argument("utterances", nargs=-1)
@click.option(
    "--user", metavar="EMAIL", help="Act as this linked shopper (default: the demo shopper)."
)
@click.option("--token", help="Act with this access token, as a linked Alexa user would.")
@click.option(
    "--json", "as_json", is_flag=True,
    help="JSON Lines: one object per turn on stdout (the turn, the Alexa request and "
    "response, the reply, the cart); with --replay, one per conversation. Anything "
    "else goes to stderr.",
)  # fmt: skip
@click.option(
    "--endpoint", metavar="URL", help="Drive a running voicecart over HTTP (needs --token)."
)
@click.option("--record", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the conversation as a recording (YAML) with the shopper's starting "
              "state: cart, orders, address, voice code, and the stock and prices it relied "
              "on (over --endpoint: the turns only).")  # fmt: skip
@click.option("--replay", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Replay a recording (or a dialogue-test file) on a fresh demo database, "
              "from the recorded state; show differences (exit 1 if any).")  # fmt: skip
@click.pass_context
def simulate(ctx: click.Context, utterances: tuple[str, ...], user: str | None,
             token: str | None, as_json: bool, endpoint: str | None, record: Path | None,
             replay: Path | None) -> None:  # fmt: skip
    """Talk to the skill in a console and see every turn: what was heard, the intent and
    slots, the matched product, speech, reprompt, card, session attributes and the cart.

    Type what the shopper says, or :launch, :intent NAME slot=value, :wav PATH, :end,
    :new, :help, :quit. In a terminal, lines can be edited, Up and Down recall earlier
    ones (kept in simulator_history in the instance folder) and Tab completes commands,
    intents, slots and paths. With UTTERANCES (e.g. "reorder coffee" "yes") the turns
    run in one session and the command exits.
    """
    from devtools.simulator import (
        HISTORY_FILE,
        Console,
        HttpTarget,
        Recorder,
        Simulator,
        Target,
        outcome_json,
    )
    from devtools.simulator import replay as replay_file

    settings = settings_of(ctx)

    def note(text: str = "") -> None:  # for a person: stderr when stdout carries JSON
        echo(text, err=as_json)

    # Each turn is shown in full; the skill's own request log would only repeat it.
    logging.getLogger("voicecart").setLevel(max(logging.WARNING, logging.getLogger().level))
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if replay is not None:
        from devtools.dialogs import summary
        from devtools.stages import DialogStages

        stages = DialogStages(settings)
        try:
            outcomes, broken = replay_file(replay, stages)
        finally:
            stages.close()
        for problem in broken:
            echo(f"cannot replay {problem}", err=True)
        for outcome in outcomes:
            if as_json:
                echo(outcome_json(outcome))
            else:
                echo(f"same as recorded: {outcome.spec.name}" if outcome.passed
                     else outcome.failure_report())  # fmt: skip
        note(summary(outcomes, broken))
        ctx.exit(0 if outcomes and not broken and all(o.passed for o in outcomes) else 1)
    shopper = "demo"
    target: Target
    minted = None
    if endpoint:
        if not token:
            raise click.UsageError("--endpoint needs --token (an access token for that server)")
        target = HttpTarget(endpoint, token)
    else:
        target, shopper, minted = _local_target(settings, user, token)
    recorder = None
    try:
        if record is not None:  # before the first turn: the state the conversation starts from
            recorder = Recorder.for_target(shopper, target)
        simulator = Simulator(target, echo, as_json=as_json, recorder=recorder, notes=note)
        if utterances:
            for utterance in utterances:
                simulator.handle(utterance)
        else:
            note("voicecart simulator: type what the shopper says (:help for commands).")
            console = Console.open(settings.instance_dir / HISTORY_FILE, prompt_on_stderr=as_json)
            try:
                simulator.run(console)
            finally:
                console.close()
    finally:
        if minted:  # the simulator's own token dies with it
            _revoke(settings, minted)
    if record is not None and recorder is not None:
        if not recorder.turns:
            raise click.ClickException("nothing to record: no turn was sent")
        record.write_text(recorder.dump(record.stem.replace("-", " ")), encoding="utf-8")
        note(f"recorded {len(recorder.turns)} turns to {record}")
        if recorder.start is None:
            note("(over --endpoint the starting state is not recorded: the HTTP API does not "
                 "show stock; --replay runs the turns on the demo data)")  # fmt: skip


def _revoke(settings: Settings, token: str) -> None:
    from account_link.tokens import revoke_access_token

    engine = make_engine(settings)
    with make_sessions(engine).begin() as db:
        revoke_access_token(db, token)
    engine.dispose()


SIMULATOR_TOKEN_TTL = 900
"""Seconds a simulator's own access token lives (it is also revoked when it exits)."""


def _local_target(
    settings: Settings, user: str | None, token: str | None
) -> tuple[LocalTarget, str, str | None]:
    """The skill in this process acting as the chosen shopper, the fixture shopper kind
    for recordings, and the token the simulator minted (to revoke at the end)."""
    from account_link.accounts import customer_by_email
    from account_link.identity import demo_shopper
    from account_link.tokens import TokenState, check_access_token, issue_access_token
    from app import build_services
    from devtools.simulator import LocalTarget

    sessions = prepare_database(settings)
    quiet = logging.getLogger("voicecart")
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        unsigned = replace(settings, verify_alexa_requests=False)
        built = build_services(unsigned)  # no /alexa, no /oauth: their warnings don't apply
    finally:
        quiet.setLevel(level)
    minted = None
    with sessions.begin() as db:
        if token:
            checked = check_access_token(db, token)
            if checked.state is not TokenState.VALID or checked.customer is None:
                raise click.ClickException(f"--token: that access token is {checked.state}")
            customer, shopper = checked.customer, "new"
        else:
            if user:
                found = customer_by_email(db, user)
                if found is None:
                    hint = "sign up on the linking page first, or leave out --user"
                    raise click.ClickException(f"no shopper signs in as {user}: {hint}")
                customer, shopper = found, "new"
            else:
                demo = demo_shopper(db)
                if demo is None:
                    raise click.ClickException("no demo shopper: run `voicecart seed --demo`")
                customer, shopper = demo, "demo"
            token = minted = issue_access_token(db, customer, ttl_seconds=SIMULATOR_TOKEN_TTL)
        customer_id = customer.id
    target = LocalTarget(built.dialogue, built.sessions, token, customer_id)
    return target, shopper, minted


@click.command("export-model")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=SKILL_PACKAGE_DIR,
    show_default=True,
    help="Directory to write skill.json and interactionModels/ into.",
)
@click.option("--check", is_flag=True,
              help="Write no skill-package files; report what Alexa's build would reject, "
                   "what would confuse recognition, and files that are out of date.")  # fmt: skip
@click.pass_context
def export_model(ctx: click.Context, out: Path, check: bool) -> None:
    """Write the Alexa skill package (manifest and en-US model) from the active catalogue."""
    from catalog.matching import CatalogMatcher
    from catalog.service import active_products
    from skill.interaction import (
        CatalogEntry,
        build_model,
        lint_model,
        render_package,
        write_package,
    )

    settings = settings_of(ctx)
    sessions = prepare_database(settings)
    with sessions() as session:
        entries = [
            CatalogEntry(p.sku, p.name, p.brand, tuple(p.synonyms), p.popularity)
            for p in active_products(session)
        ]
        if not entries:
            raise click.ClickException("the catalogue is empty: run `voicecart seed --demo` first")
        model = build_model(entries)
        if check:
            matcher = CatalogMatcher()
            findings = lint_model(model, resolver=lambda w: matcher.fit(session, w))
    files = render_package(model, settings.public_url)
    if check:
        stale = [out / rel for rel, text in files.items()
                 if not (out / rel).exists() or (out / rel).read_text("utf-8") != text]  # fmt: skip
        for finding in findings:
            echo(str(finding))
        for path in stale:
            echo(f"WARNING {path}: out of date; run `voicecart export-model` to rewrite it")
        errors = sum(f.severity == "error" for f in findings)
        warnings = len(findings) - errors + len(stale)
        echo(f"{len(model.intents)} intents, {len(entries)} products: "
             f"{errors} errors, {warnings} warnings")  # fmt: skip
        ctx.exit(1 if errors else 0)
    changed = write_package(out, files)
    for relative in files:
        state = "updated" if out / relative in changed else "unchanged"
        echo(f"{state}: {out / relative}")
    echo(f"{len(entries)} products in the PRODUCT slot type")
