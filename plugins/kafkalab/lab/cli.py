"""`./lab`: the lab's command line (see README)."""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kafkalab.domain.topics import TopicConfigError
from kafkalab.lab import mutation
from kafkalab.lab.stack import kafka as kafka_stack
from kafkalab.lab.stack.environment import airflow_admin_password, child_environment, shell_exports
from kafkalab.lab.stack.install import InstallError
from kafkalab.lab.stack.lifecycle import Stack, running_kafka_brokers
from kafkalab.lab.stack.process import ProcessRegistry, tail
from kafkalab.lab.stack.services import ServiceError
from kafkalab.lab.stack.spark_cluster import master_ui_url, running_spark_cluster
from kafkalab.settings import REPO_ROOT, LabSettings, get_settings

console = Console(stderr=True, highlight=False)
EXERCISES = ("ingest", "fanout", "replay", "repartition", "failover", "all")
PAUSE_DAGS_VARIABLE = "KAFKALAB_PAUSE_DAGS_AT_CREATION"
SPARK_CLUSTER_VARIABLE = "KAFKALAB_SPARK_CLUSTER"
# Piped output has no terminal width, and rich would assume 80 columns: table cells
# would be cut with an ellipsis and lines wrapped for whoever greps or parses them.
PIPED_WIDTH = 240


def stdout_console() -> Console:
    """Where results go: the terminal's width, or whole lines when piped."""
    return Console(width=None if sys.stdout.isatty() else PIPED_WIDTH)


def _progress(message: str) -> None:
    console.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {message}")


def _stack(settings: LabSettings) -> Stack:
    return Stack(settings, progress=_progress)


def running_topology(settings: LabSettings) -> LabSettings:
    """The settings of the stack that runs: its broker count wins over KAFKALAB_BROKERS.

    After `./lab up --brokers 3`, `./lab run`, `./lab status` and `./lab test` work on
    those three brokers, also from a shell whose `./lab env` exports are older:
    restarting them as one because a setting was not repeated would discard the cluster
    the user asked for. KAFKALAB_BROKERS decides when nothing runs; `./lab up --brokers`
    switches a running stack.
    """
    brokers = running_kafka_brokers(settings)
    if brokers is None or brokers == settings.kafka_brokers:
        return settings
    return settings.model_copy(update={"kafka_brokers": brokers})


def _print_status(stack: Stack) -> bool:
    table = Table(title="kafkalab local stack")
    for column in ("service", "state", "ports", "detail"):
        table.add_column(column)
    all_healthy = True
    report = stack.status()
    for service in stack.services:
        running, health = report[service.name]
        all_healthy &= health.healthy
        state = (
            "[green]healthy[/green]"
            if health.healthy
            else ("[yellow]unhealthy[/yellow]" if running else "[red]down[/red]")
        )
        ports = ", ".join(str(p) for p in service.ports.values()) or "-"
        table.add_row(service.name, state, ports, health.detail)
    stdout_console().print(table)
    if stack.settings.kafka_brokers > 1:
        stdout_console().print(f"Kafka controller quorum: {stack.controller_quorum()}")
    return all_healthy


def _print_access(settings: LabSettings) -> None:
    stdout_console().print(
        f"Airflow UI: {settings.airflow_url}  (user {settings.airflow_user}, "
        f"password {airflow_admin_password(settings)})\n"
        f"Kafka: {settings.kafka_bootstrap}   S3: {settings.s3_endpoint} "
        f"(access key {settings.s3_access_key})\n"
        f'Shell: eval "$(./lab env)" puts airflow, spark-submit and the settings on your PATH.'
    )
    if settings.spark_cluster:
        stdout_console().print(
            f"Spark: {settings.spark_master} (master UI {master_ui_url(settings)})"
        )


def cmd_up(settings: LabSettings, args: argparse.Namespace) -> int:
    started = time.monotonic()
    if args.brokers is not None:
        settings = settings.model_copy(update={"kafka_brokers": args.brokers})
    stack = _stack(settings)
    stack.up()
    healthy = _print_status(stack)
    _print_access(settings)
    console.print(f"up in {time.monotonic() - started:.1f}s")
    return 0 if healthy else 1


def cmd_status(settings: LabSettings, args: argparse.Namespace) -> int:
    stack = _stack(settings)
    healthy = _print_status(stack)
    if healthy:
        _print_access(settings)
    console.print(f"memory of the stack: {stack.memory_mb():.0f} MiB RSS")
    return 0 if healthy else 1


def cmd_down(settings: LabSettings, args: argparse.Namespace) -> int:
    stopped = _stack(settings).down()
    console.print(f"stopped: {', '.join(stopped) or 'nothing was running'}")
    return 0


def cmd_reset(settings: LabSettings, args: argparse.Namespace) -> int:
    if not args.yes and sys.stdin.isatty():
        answer = input(f"Stop the stack and delete all data under {settings.paths.data}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            return 1
    _stack(settings).reset()
    return 0


def cmd_logs(settings: LabSettings, args: argparse.Namespace) -> int:
    stack = _stack(settings)
    names = [args.service] if args.service else [s.name for s in stack.services]
    # A service of another topology (`kafka-2` after `./lab up --brokers 1`) or a
    # background job still has its log.
    if args.service and not stack.registry.log_path(args.service).exists():
        stack.service(args.service)
    for name in names:
        print(f"==> {stack.registry.log_path(name)} <==")
        print(tail(stack.registry.log_path(name), args.lines))
    if args.follow and args.service:
        os.execvp("tail", ["tail", "-F", "-n", "0", str(stack.registry.log_path(args.service))])
    return 0


def _exec(settings: LabSettings, command: Sequence[str]) -> int:
    """Replace this process: signals and exit codes belong to the tool."""
    os.execvpe(command[0], list(command), child_environment(settings))
    return 0  # not reached


def cmd_kafka(settings: LabSettings, args: argparse.Namespace) -> int:
    if not args.tool:
        console.print("tools: " + ", ".join(sorted(kafka_stack.KAFKA_TOOLS)))
        return 2
    if not settings.paths.kafka_jars.exists():
        raise InstallError("the Kafka jars are not installed yet: run ./lab up")
    return _exec(settings, kafka_stack.tool_command(settings, args.tool, args.args))


def cmd_airflow(settings: LabSettings, args: argparse.Namespace) -> int:
    command = [str(settings.paths.venv / "bin" / "airflow"), *args.args]
    dag_id = dags_test_target(args.args)
    registry = ProcessRegistry(settings.paths.run, settings.paths.logs)
    if dag_id is None or registry.running("airflow-scheduler") is None:
        return _exec(settings, command)
    from kafkalab.lab.airflow_api import AirflowApi

    # The stack's scheduler would execute the test's run too (see AirflowApi.paused).
    with AirflowApi(settings).paused(dag_id):
        return subprocess.run(command, env=child_environment(settings), check=False).returncode


# The options of `airflow dags test` that take a value (`airflow dags test --help`).
DAGS_TEST_VALUE_OPTIONS = {
    "-B",
    "--bundle-name",
    "-c",
    "--conf",
    "-f",
    "--dagfile-path",
    "--mark-success-pattern",
    "--save-dagrun",
}


def dags_test_target(airflow_args: Sequence[str]) -> str | None:
    """The DAG of an `airflow dags test <dag_id> ...` command line, else None."""
    positional: list[str] = []
    arguments = iter(airflow_args)
    for argument in arguments:
        if argument in DAGS_TEST_VALUE_OPTIONS:
            next(arguments, None)
        elif not argument.startswith("-"):
            positional.append(argument)
    if positional[:2] == ["dags", "test"] and len(positional) > 2:
        return positional[2]
    return None


def cmd_spark_submit(settings: LabSettings, args: argparse.Namespace) -> int:
    from kafkalab.spark.conf import render_spark_defaults
    from kafkalab.spark.jobs import SparkSubmit, StreamingJobs

    render_spark_defaults(settings)
    # The user's own options and application pass through untouched: only the binary
    # (and, through spark-defaults, jars and S3 settings) is the lab's.
    command = [SparkSubmit.from_settings(settings).binary, *args.args]
    # exec keeps the pid: `./lab pause spark` (and `./lab down`) find the job by it.
    StreamingJobs(settings).record_terminal_job(command)
    return _exec(settings, command)


def _job_summary(command: list[str]) -> str:
    """The application and its first arguments (topic, bootstrap, output) of a job."""
    apps = [i for i, part in enumerate(command) if part.endswith(".py")]
    if not apps:
        return " ".join(command[-4:])
    start = apps[0]
    return " ".join([os.path.relpath(command[start], REPO_ROOT), *command[start + 1 : start + 4]])


def cmd_pause_or_resume(settings: LabSettings, args: argparse.Namespace) -> int:
    """`docker compose pause spark` / `unpause spark` for the lab's Spark jobs."""
    from kafkalab.spark.jobs import StreamingJobError, StreamingJobs

    jobs = StreamingJobs(settings)
    alive = jobs.alive()
    if not alive:
        console.print(
            "no Spark job started by the lab is running: start one with "
            "./lab spark-submit spark_jobs/streaming_consumer.py ... (see "
            "docs/lab-guide-walkthrough.md) or run an exercise (./lab run fanout)"
        )
        return 1
    unknown = sorted(set(args.jobs) - set(alive))
    if unknown:
        console.print(
            f"[red]error:[/red] no running Spark job {', '.join(unknown)}; "
            f"running: {', '.join(alive)}"
        )
        return 1
    act, done = (
        (jobs.resume_job, "resumed")
        if args.command in ("resume", "unpause")
        else (jobs.pause_job, "paused")
    )
    for handle in args.jobs or alive:
        try:
            status = act(handle)
        except StreamingJobError as exc:  # it ended since it was listed
            console.print(f"[yellow]{escape(str(exc))}[/yellow]")
            continue
        summary = _job_summary(jobs.command(handle))
        print(f"{done} {handle} (pid {status.pid}, now {status.state}): {summary}")
    return 0


def cmd_generate(settings: LabSettings, args: argparse.Namespace) -> int:
    simulate_data = REPO_ROOT / "generators" / "simulate_data.py"
    return _exec(
        settings, [str(settings.paths.venv / "bin" / "python"), str(simulate_data), *args.args]
    )


def lag_table(settings: LabSettings, groups: list[str], topics: list[str] | None) -> Table:
    from kafkalab.kafka.admin import KafkaAdmin

    admin = KafkaAdmin(settings)
    table = Table(title=f"consumer lag at {time.strftime('%H:%M:%S')}")
    for column in ("group", "topic", "partition", "committed", "end", "lag"):
        table.add_column(column, justify="left" if column in ("group", "topic") else "right")
    for group in groups or admin.consumer_groups():
        # The same figures the lag sensor waits on (kafkalab.kafka.admin.KafkaAdmin.lag).
        snapshot = admin.lag(group, topics)
        for p in snapshot.partitions:
            committed = "-" if p.committed_offset is None else str(p.committed_offset)
            table.add_row(
                group, p.topic, str(p.partition), committed, str(p.end_offset), str(p.lag)
            )
        table.add_row(
            group, "[b]total[/b]", "", "", "", f"[b]{snapshot.total}[/b]", end_section=True
        )
    return table


def cmd_lag(settings: LabSettings, args: argparse.Namespace) -> int:
    if not args.watch:
        stdout_console().print(lag_table(settings, args.group, args.topic))
        return 0
    from rich.live import Live

    with Live(lag_table(settings, args.group, args.topic), refresh_per_second=1) as live:
        while True:
            time.sleep(args.watch)
            live.update(lag_table(settings, args.group, args.topic))


def cmd_env(settings: LabSettings, args: argparse.Namespace) -> int:
    print(shell_exports(settings))
    return 0


def _ensure_up(settings: LabSettings) -> None:
    stack = _stack(settings)
    report = stack.status()
    if not all(health.healthy for _, health in report.values()):
        stack.up()


def _conf_values(pairs: list[str]) -> dict[str, object]:
    conf: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--conf takes key=value, not {pair!r}")
        try:
            conf[key] = json.loads(value)
        except ValueError:
            conf[key] = value
    return conf


def cmd_run(settings: LabSettings, args: argparse.Namespace) -> int:
    from kafkalab.domain.report import REPORT_SCHEMA, render_summary
    from kafkalab.lab.airflow_api import CLUSTER_EXERCISES, EXERCISE_DAGS, AirflowApi
    from kafkalab.lake.object_store import object_store_client

    if args.exercise == "all":
        # `all` runs on the stack as it is: on one broker, the failover drill is left out.
        exercises = [
            e for e in EXERCISE_DAGS if e not in CLUSTER_EXERCISES or settings.kafka_brokers >= 3
        ]
    else:
        exercises = [args.exercise]
    if any(e in CLUSTER_EXERCISES for e in exercises) and settings.kafka_brokers < 3:
        _progress(
            f"the {args.exercise} exercise needs three Kafka brokers: starting the cluster, "
            "as `./lab up --brokers 3` does"
        )
        settings = settings.model_copy(update={"kafka_brokers": 3})
        _stack(settings).up()
    _ensure_up(settings)
    api = AirflowApi(settings)
    failed = []
    for exercise in exercises:
        dag_id = EXERCISE_DAGS[exercise]
        outcome = api.run(dag_id, _conf_values(args.conf), progress=_progress)
        prefix = f"{dag_id}/{outcome.run_id}/"
        try:
            report = json.loads(
                object_store_client(settings)
                .get_object(settings.reports_bucket, prefix + "report.json")
                .read()
            )
        except Exception:
            report = None
        if report and report.get("schema") == REPORT_SCHEMA:
            stdout_console().print(render_summary(report), markup=False, highlight=False)
        else:
            # No report of this shape (the run failed before it, or an older lab wrote
            # it): the failed tasks' own messages, from their logs.
            for task_id, message in outcome.failures.items():
                console.print(f"[red]{task_id} failed:[/red] {escape(message)}")
        verdict = "[green]PASSED[/green]" if outcome.state == "success" else "[red]FAILED[/red]"
        console.print(
            f"{verdict}: {dag_id} run {outcome.run_id} in {outcome.seconds:.0f}s; report: "
            f"s3://{settings.reports_bucket}/{prefix} (UI: {settings.airflow_url}/dags/{dag_id})"
        )
        if outcome.state != "success":
            failed.append(exercise)
    _print_access(settings)
    return 1 if failed else 0


def needs_stack(pytest_args: Sequence[str]) -> bool:
    """False when the selection is the unit tier only: pure logic needs no service."""
    args = list(pytest_args)
    for flag, value in itertools.pairwise(args):
        if flag == "-m" and value.strip() == "unit":
            return False
    paths = [arg for arg in args if not arg.startswith("-") and arg.startswith("tests")]
    return not paths or not all(Path(path).parts[:2] == ("tests", "unit") for path in paths)


def cmd_mutation(settings: LabSettings, mutmut_args: Sequence[str]) -> int:
    """mutmut over the pure check logic; non-zero exit under the threshold. No stack."""
    workspace = settings.paths.home / "mutation"
    mutmut = settings.paths.venv / "bin" / "mutmut"
    env = child_environment(settings)
    _progress(f"mutmut: mutating the check logic (log: {workspace / 'mutmut.log'})")
    started = time.monotonic()
    returncode, log = mutation.run_mutmut(mutmut, workspace, mutmut_args, env)
    if returncode != 0:
        console.print(f"[red]mutmut failed (exit {returncode})[/red]; the end of {log}:")
        console.print(escape(log.read_text(errors="replace")[-3000:]))
        return returncode
    score = mutation.scored(mutation.mutmut_results(mutmut, workspace, env))
    out = stdout_console()
    for module, (killed, total) in score.by_module().items():
        out.print(f"{module}: {killed}/{total} killed")
    for name in score.not_killed:
        out.print(f"  not killed: {escape(name)} ({score.statuses[name]})")
    out.print(
        f"mutation score: {len(score.killed)}/{len(score.statuses)} killed, "
        f"{score.percent:.1f} % (needs {mutation.THRESHOLD:.0f} %), "
        f"{time.monotonic() - started:.0f} s"
    )
    return 0 if score.percent >= mutation.THRESHOLD else 1


def cmd_test(settings: LabSettings, args: argparse.Namespace) -> int:
    if args.args[:1] == ["--mutation"]:
        return cmd_mutation(settings, args.args[1:])
    # A stack the tests bring up keeps its DAGs paused: the nightly drill must not fire
    # under them (the exercise tests run each DAG themselves).
    os.environ[PAUSE_DAGS_VARIABLE] = "true"
    settings = get_settings()
    if needs_stack(args.args):
        _ensure_up(settings)
    env = child_environment(settings)
    venv_bin = settings.paths.venv / "bin"
    lint = subprocess.run([str(venv_bin / "ruff"), "check", "."], cwd=REPO_ROOT, env=env)
    if lint.returncode != 0:
        console.print("[red]ruff found problems[/red]")
        return lint.returncode
    return subprocess.run(
        [str(venv_bin / "python"), "-m", "pytest", *args.args], cwd=REPO_ROOT, env=env
    ).returncode


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="./lab", description="kafkalab: self-verifying Apache Kafka lab exercises."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")

    up = sub.add_parser(
        "up", help="install what is missing, start everything, create topics and buckets"
    )
    up.add_argument(
        "--brokers",
        type=int,
        choices=(1, 3),
        help="Kafka nodes: 1 (the default) or a cluster of 3 with replication factor 3 "
        "(KAFKALAB_BROKERS); without it, what runs stays",
    )
    up.add_argument(
        "--spark-cluster",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a Spark standalone master and worker run the Spark jobs' executors instead of "
        "local[*] (KAFKALAB_SPARK_CLUSTER); without it, what runs stays",
    )
    sub.add_parser("status", help="health of every service (non-zero exit when one is down)")
    sub.add_parser("down", help="stop what ./lab started; data is kept")
    reset = sub.add_parser("reset", help="down, then delete all data")
    reset.add_argument("-y", "--yes", action="store_true", help="do not ask")
    logs = sub.add_parser("logs", help="the tail of a service's log")
    logs.add_argument("service", nargs="?")
    logs.add_argument("-n", "--lines", type=int, default=40)
    logs.add_argument("-f", "--follow", action="store_true")

    run = sub.add_parser("run", help="run an exercise and print its verdict")
    run.add_argument("exercise", choices=EXERCISES)
    run.add_argument(
        "--conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="DAG params, e.g. --conf events=500 (repeatable)",
    )

    test = sub.add_parser(
        "test",
        help="the whole test suite (starts what it needs); "
        "--mutation [mutmut run options]: the check logic's mutation score",
    )
    test.add_argument("args", nargs=argparse.REMAINDER, help="passed to pytest")

    kafka = sub.add_parser(
        "kafka", help="Kafka's own CLI tools, e.g. ./lab kafka kafka-topics --list ..."
    )
    kafka.add_argument("tool", nargs="?")
    kafka.add_argument("args", nargs=argparse.REMAINDER)
    airflow = sub.add_parser("airflow", help="the Airflow CLI in the lab's environment")
    airflow.add_argument("args", nargs=argparse.REMAINDER)
    spark = sub.add_parser(
        "spark-submit", help="spark-submit with Kafka/Delta/S3A jars and S3 settings"
    )
    spark.add_argument("args", nargs=argparse.REMAINDER)
    generate = sub.add_parser(
        "generate", help="the data generator (generators/simulate_data.py), e.g. --count 1000"
    )
    generate.add_argument("args", nargs=argparse.REMAINDER)
    lag = sub.add_parser("lag", help="consumer lag per group, topic and partition")
    lag.add_argument("--group", action="append", default=[], help="repeatable; default: all")
    lag.add_argument("--topic", action="append", help="repeatable; default: what each group read")
    lag.add_argument(
        "--watch",
        type=float,
        nargs="?",
        const=2.0,
        default=None,
        help="refresh every N seconds (default 2) until Ctrl+C",
    )
    sub.add_parser("env", help='shell exports: eval "$(./lab env)"')
    for verb, help_text in (
        ("pause", "freeze the lab's Spark jobs, as `docker compose pause spark` does"),
        ("resume", "let paused Spark jobs go on where they stopped"),
        ("unpause", "the same as resume, as in `docker compose unpause spark`"),
    ):
        pause = sub.add_parser(verb, help=help_text)
        pause.add_argument("service", choices=["spark"])
        pause.add_argument(
            "jobs", nargs="*", metavar="JOB", help="job names (default: every running Spark job)"
        )
    return parser


COMMANDS = {
    "up": cmd_up,
    "status": cmd_status,
    "down": cmd_down,
    "reset": cmd_reset,
    "logs": cmd_logs,
    "run": cmd_run,
    "test": cmd_test,
    "kafka": cmd_kafka,
    "airflow": cmd_airflow,
    "spark-submit": cmd_spark_submit,
    "generate": cmd_generate,
    "lag": cmd_lag,
    "env": cmd_env,
    "pause": cmd_pause_or_resume,
    "resume": cmd_pause_or_resume,
    "unpause": cmd_pause_or_resume,
}


# Commands whose arguments belong to another program: argparse would try to read
# options such as `--count` itself.
PASSTHROUGH = ("test", "kafka", "airflow", "spark-submit", "generate")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    argv = list(argv)
    if argv and argv[0] in PASSTHROUGH:
        rest = argv[1:]
        if argv[0] == "kafka":
            tool = rest[0] if rest and not rest[0].startswith("-") else None
            return argparse.Namespace(command="kafka", tool=tool, args=rest[1:] if tool else rest)
        return argparse.Namespace(command=argv[0], args=rest)
    return build_parser().parse_args(argv)


def lab_settings(args: argparse.Namespace) -> LabSettings:
    """The settings, with the Spark cluster as `up --[no-]spark-cluster` asks, else as the
    stack runs: a running cluster wins over KAFKALAB_SPARK_CLUSTER, as running brokers
    win over KAFKALAB_BROKERS, so that a shell's older `./lab env` exports do not restart
    the stack without it. The variable decides when nothing runs.

    Set in the environment, so that `./lab test`'s own settings and every child agree.
    """
    wanted = getattr(args, "spark_cluster", None)
    if wanted is None and running_spark_cluster(get_settings()):
        wanted = True
    if wanted is not None:
        os.environ[SPARK_CLUSTER_VARIABLE] = str(wanted).lower()
    return get_settings()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    settings = running_topology(lab_settings(args))
    try:
        return COMMANDS[args.command](settings, args)
    except (InstallError, ServiceError, TopicConfigError) as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
