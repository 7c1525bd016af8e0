"""`launchday demo` and `launchday simulate`: rehearse a scenario against a server."""

from __future__ import annotations

import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from launchday.cli.app import app, console, free_port

if TYPE_CHECKING:
    from launchday.sim.rehearsal import RehearsalPlan, RehearsalResult


ScenarioOption = Annotated[
    str, typer.Option("--scenario", help="A packaged scenario (yu7-2025, su7-2024) or a TOML file")
]
SpeedOption = Annotated[
    float | None,
    typer.Option(help="The launch clock's time_scale (default: the span in about 90 s)"),
]
ScaleOption = Annotated[
    float | None,
    typer.Option(
        help="Multiplies orders, locks, interest and limited stock (default: fits the machine)"
    ),
]
UntilOption = Annotated[
    str | None,
    typer.Option(help="Launch time to replay after opening, e.g. 3m, 1h (default: last milestone)"),
]
SeedOption = Annotated[
    int, typer.Option(help="Seed of the simulated crowd (same seed, same replay)")
]
AdmissionOption = Annotated[
    float | None,
    typer.Option(help="Admissions per launch second (default: twice the scaled peak)"),
]
LapseOption = Annotated[
    float | None,
    typer.Option(
        min=0,
        max=1,
        help="Share of buyers who let their admission lapse and come back (default: 0.01)",
    ),
]
ReplaySecondsOption = Annotated[
    float,
    typer.Option(min=1, help="About how long the replay takes in real seconds, for --speed"),
]


def _plan(
    scenario: str,
    speed: float | None,
    scale: float | None,
    until: str | None,
    seed: int,
    slug: str | None = None,
    waiting_room: bool = False,
    admission_rate: float | None = None,
    lapse_share: float | None = None,
    replay_seconds: float = 90.0,
    pay: bool = False,
) -> RehearsalPlan:
    """The rehearsal the command line asks for, drawn before anything starts; or a clear
    message and exit status 2 (a bad scenario, or options that cannot meet it)."""
    from launchday.sim.rehearsal import plan_options, plan_rehearsal
    from launchday.sim.scenario import ScenarioError
    from launchday.sim.scenario_file import load_scenario
    from launchday.sim.toml_fields import parse_duration

    try:
        loaded = load_scenario(scenario)
        span = parse_duration(until) if until else None
        options = plan_options(
            loaded,
            speed=speed,
            scale=scale,
            until=span,
            seed=seed,
            slug=slug,
            waiting_room=waiting_room or admission_rate is not None,
            admission_rate=admission_rate,
            lapse_share=lapse_share,
            replay_seconds=replay_seconds,
            pay=pay,
        )
        return plan_rehearsal(options)
    except (ScenarioError, ValueError) as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None


def load_scenario_slug(scenario: str) -> str:
    """The slug of a scenario, or a clear message and exit status 2."""
    from launchday.sim.scenario import ScenarioError
    from launchday.sim.scenario_file import load_scenario

    try:
        return load_scenario(scenario).slug
    except ScenarioError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None


@app.command()
def demo(
    scenario: ScenarioOption = "yu7-2025",
    speed: SpeedOption = None,
    scale: ScaleOption = None,
    until: UntilOption = None,
    seed: SeedOption = 1,
    out: Annotated[Path, typer.Option(help="Where the database and report.json go")] = Path(
        "launchday-demo"
    ),
    port: Annotated[int, typer.Option(help="Port of the embedded server (0: any free one)")] = 0,
    keep_serving: Annotated[
        bool, typer.Option("--keep-serving", help="Keep the server up after the replay")
    ] = False,
    waiting_room: Annotated[
        bool, typer.Option(help="Admit buyers through a waiting room, as on the night")
    ] = True,
    admission_rate: AdmissionOption = None,
    lapse_share: LapseOption = None,
    replay_seconds: ReplaySecondsOption = 90.0,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="A PostgreSQL URL to rehearse on (default: a fresh SQLite file in --out)",
        ),
    ] = None,
    workers: Annotated[int, typer.Option(help="Server processes (PostgreSQL only)")] = 1,
    pay: Annotated[
        bool,
        typer.Option(
            "--pay", help="Pay every deposit through the built-in rehearsal provider, over HTTP"
        ),
    ] = False,
    cluster: Annotated[
        bool,
        typer.Option(
            "--cluster",
            help="Through HAProxy on the production layout brought up on this machine"
            " (3 PostgreSQL under Patroni, 2 API hosts; root; docs/cluster.md)",
        ),
    ] = False,
) -> None:
    """Rehearse a real launch against an embedded server and report how it held."""
    from launchday.cli.rehearse import (
        ServerProcess,
        demo_credentials,
        fresh_database,
        print_how_to_order,
        run_rehearsal,
        write_report,
    )
    from launchday.sim.scenario import variant_deposit
    from launchday.store.postgres import is_postgres_url

    slug = None
    if cluster and (db is not None or workers != 1):
        console.print("[red]--cluster brings its own databases and hosts: no --db, --workers[/red]")
        raise typer.Exit(2)
    if db is not None:
        if not is_postgres_url(db):
            console.print("[red]--db takes a postgresql:// URL (SQLite demos use --out)[/red]")
            raise typer.Exit(2)
        # A shared database keeps earlier launches: this rehearsal gets a slug of its own.
        slug = f"{load_scenario_slug(scenario)}-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    elif workers != 1:
        console.print("[red]SQLite takes one server process: --workers needs --db[/red]")
        raise typer.Exit(2)
    plan = _plan(
        scenario,
        speed,
        scale,
        until,
        seed,
        slug,
        waiting_room,
        admission_rate,
        lapse_share,
        replay_seconds,
        pay,
    )
    options = plan.options
    if cluster:
        from launchday.cli.cluster_demo import rehearse_on_cluster

        out.mkdir(parents=True, exist_ok=True)
        admin_key, secret = demo_credentials()
        _exit_with(rehearse_on_cluster(plan, out, admin_key, secret, keep_serving))
    if keep_serving:
        # Ctrl-C stops the server, even for a demo started where SIGINT is ignored (a
        # background job of a shell without job control hands that on).
        signal.signal(signal.SIGINT, signal.default_int_handler)
    out.mkdir(parents=True, exist_ok=True)
    if db is None:
        db_url = f"sqlite:///{(out / 'launchday.db').resolve()}"
        fresh_database(db_url)
    else:
        db_url = db
    admin_key, secret = demo_credentials()
    server = ServerProcess(
        db_url, port or free_port(), admin_key, secret, log=out / "server.log", workers=workers
    )
    try:
        server.wait_until_healthy()
        console.print(
            f"{options.scenario.name}: replaying {options.until:g} s of launch time"
            f" at x{options.speed:g}, scale {options.scale:g}, against {server.base_url}"
        )
        slug = options.slug or options.scenario.slug
        console.print(f"watch it live: {server.base_url}/launches/{slug}", soft_wrap=True)
        result = run_rehearsal(console, server.base_url, admin_key, secret, plan)
        page = write_report(result, out)
        console.print(f"report: {page} (and report.json and the charts beside it)")
        if keep_serving:
            variant = options.scenario.variants[0]
            print_how_to_order(
                console,
                server.base_url,
                result.slug,
                variant.sku,
                variant_deposit(options.scenario, variant).refundable_hours,
                admin_key,
                secret,
                waiting_room=options.admission_rate is not None,
            )
            server.process.wait()
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except RuntimeError as error:  # the server would not start, or refused the rehearsal
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    finally:
        server.stop()
    _exit_with(result)


@app.command()
def simulate(
    url: Annotated[str, typer.Option(help="Base URL of a running launchday server")],
    admin_key: Annotated[
        str, typer.Option(envvar="LAUNCHDAY_ADMIN_KEY", help="The server's admin key")
    ],
    scenario: ScenarioOption = "yu7-2025",
    secret: Annotated[
        str | None,
        typer.Option(envvar="LAUNCHDAY_SECRET", help="The token secret, to sign customer tokens"),
    ] = None,
    speed: SpeedOption = None,
    scale: ScaleOption = None,
    until: UntilOption = None,
    seed: SeedOption = 1,
    slug: Annotated[
        str | None,
        typer.Option(help="Slug of the rehearsal launch (default: SCENARIO-rYYYYMMDD-HHMMSS)"),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write report.json here")] = None,
    waiting_room: Annotated[
        bool, typer.Option(help="Admit buyers through a waiting room, as on the night")
    ] = False,
    admission_rate: AdmissionOption = None,
    lapse_share: LapseOption = None,
    replay_seconds: ReplaySecondsOption = 90.0,
) -> None:
    """Replay a scenario against a server that is already running."""
    from launchday.cli.rehearse import run_rehearsal, write_report

    if not secret:
        console.print("[red]customers need tokens: pass --secret or set LAUNCHDAY_SECRET[/red]")
        raise typer.Exit(2)
    # A server may hold earlier rehearsals of the same scenario: give this one its own slug.
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    chosen = slug or f"{load_scenario_slug(scenario)}-r{stamp}"
    plan = _plan(
        scenario,
        speed,
        scale,
        until,
        seed,
        chosen,
        waiting_room,
        admission_rate,
        lapse_share,
        replay_seconds,
    )
    try:
        result = run_rehearsal(console, url, admin_key, secret.encode(), plan)
    except RuntimeError as error:  # the server refused the launch or the report
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    if out is not None:
        console.print(f"report: {write_report(result, out)}")
    _exit_with(result)


def _exit_with(result: RehearsalResult) -> None:
    """Say what went wrong, if anything, and exit 1 for it (0 when the rehearsal held)."""
    for problem in result.problems:
        console.print(f"[red]{problem}[/red]")
    raise typer.Exit(1 if result.problems else 0)
