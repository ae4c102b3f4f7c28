"""Bring the local stack up and down: install, start, wait for health, bootstrap."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable

import psutil

from kafkalab.domain.topics import load_topic_specs
from kafkalab.kafka.admin import KafkaAdmin
from kafkalab.lab.stack import install, kafka
from kafkalab.lab.stack.environment import (
    PAUSED_AT_CREATION,
    airflow_environment,
    airflow_passwords_file,
    child_environment,
)
from kafkalab.lab.stack.process import ProcessHandle, ProcessRegistry
from kafkalab.lab.stack.services import (
    Health,
    Service,
    ServiceError,
    describe_failure,
    port_owner,
    services,
)
from kafkalab.lake.object_store import ensure_buckets
from kafkalab.settings import LabSettings
from kafkalab.spark.conf import render_spark_defaults

Progress = Callable[[str], None]
# A Kafka node's service: `kafka` (node 1), `kafka-2`, `kafka-3`.
KAFKA_NODE_SERVICE = re.compile(r"^kafka(-\d+)?$")


def _quiet(message: str) -> None:
    pass


class Stack:
    def __init__(self, settings: LabSettings, progress: Progress = _quiet) -> None:
        self.settings = settings
        self.progress = progress
        self.registry = ProcessRegistry(settings.paths.run, settings.paths.logs)
        self.services = services(settings)

    def service(self, name: str) -> Service:
        for service in self.services:
            if service.name == name:
                return service
        known = ", ".join(s.name for s in self.services)
        raise ServiceError(f"unknown service {name!r}; services: {known}")

    # --- install -------------------------------------------------------------------

    def install(self) -> None:
        self.progress("checking Java")
        install.require_java()
        self.progress("Kafka jars (Maven Central, cached after the first run)")
        if install.ensure_kafka_jars(self.settings):
            self.progress("  fetched Kafka broker and tool jars")
        self.progress("Spark connector jars: Kafka source, Delta Lake, S3A")
        if install.ensure_spark_jars(self.settings):
            self.progress("  fetched Spark connector jars")
        render_spark_defaults(self.settings)
        airflow_passwords_file(self.settings)

    # --- start / stop ----------------------------------------------------------------

    def check_ports(self, service: Service) -> None:
        for port_name, port in service.ports.items():
            owner = port_owner(self.settings.host, port)
            if owner is not None:
                raise ServiceError(
                    f"port {port} ({service.name} {port_name}) on {self.settings.host} is already "
                    f"in use by {owner}. Stop it, or move {service.name} with the matching "
                    "KAFKALAB_* setting (see README, 'Ports')."
                )

    def config_digest(self, service: Service) -> str:
        """What a running service was started with: command and the lab's environment."""
        # The caller's PATH and the like vary between shells: not part of the digest.
        env = airflow_environment(self.settings)
        # Read only when a DAG first appears: `./lab test` on a user's stack must not
        # restart Airflow for it.
        env.pop(PAUSED_AT_CREATION)
        started_with = {"command": service.command(self.settings), "env": env}
        if service.config_file is not None:
            started_with["config_file"] = service.config_file(self.settings)
        return hashlib.sha256(json.dumps(started_with, sort_keys=True).encode()).hexdigest()

    def start(self, service: Service) -> bool:
        """Start one service unless it already runs as configured; True if it was started.

        A service started with other settings (a new connection, another port) is
        restarted, so a second `./lab up` after an upgrade applies the change.
        """
        digest = self.config_digest(service)
        running = self.registry.running(service.name)
        if running and running.config_digest in ("", digest):
            return False
        if running:
            self.progress(f"{service.name}: configuration changed, restarting")
            self.registry.stop(service.name)
        self.check_ports(service)
        service.prepare(self.settings)
        self.registry.start(
            service.name,
            service.command(self.settings),
            env=child_environment(self.settings),
            cwd=self.settings.home,
            config_digest=digest,
        )
        return True

    def wait_healthy(self, service: Service) -> Health:
        deadline = time.monotonic() + service.start_timeout
        health = Health(False, "not checked")
        while time.monotonic() < deadline:
            if not self.registry.running(service.name):
                raise ServiceError(describe_failure(self.registry, service, "the process exited"))
            health = service.health(self.settings)
            if health.healthy:
                return health
            time.sleep(0.5)
        raise ServiceError(
            describe_failure(
                self.registry,
                service,
                f"not healthy after {service.start_timeout:.0f}s ({health.detail})",
            )
        )

    def prerequisites(self) -> list[str]:
        """What Airflow's scheduler, dag-processor and triggerer need healthy to start."""
        return [s.name for s in self.services if KAFKA_NODE_SERVICE.match(s.name)] + ["s3"]

    def stop_other_kafka_nodes(self) -> None:
        """Stop nodes of another topology: `./lab up` after `./lab up --brokers 3`."""
        wanted = {s.name for s in self.services}
        for name in self.registry.names():
            other = KAFKA_NODE_SERVICE.match(name) and name not in wanted
            if other and self.registry.stop(name):
                brokers = self.settings.kafka_brokers
                self.progress(f"stopped {name}: not a node of the {brokers}-broker stack")

    def up(self) -> None:
        self.settings.home.mkdir(parents=True, exist_ok=True)
        self.install()
        self.stop_other_kafka_nodes()
        started: list[Service] = []
        healthy: set[str] = set()

        def ensure_healthy(name: str) -> None:
            if name not in healthy:
                self.wait_healthy(self.service(name))
                healthy.add(name)

        for service in self.services:
            if service.depends_on:
                # Airflow's scheduler, dag-processor and triggerer report their health
                # through the api-server, and the scheduler may run a task (which needs
                # Kafka and S3) the moment it starts. Everything before them starts at
                # once: the broker's JVM, the object store, the ingestor and the
                # api-server warm up side by side instead of one after the other.
                for name in (*self.prerequisites(), *service.depends_on):
                    ensure_healthy(name)
            if self.start(service):
                self.progress(f"started {service.name}")
                started.append(service)
        for service in started:
            ensure_healthy(service.name)
            self.progress(f"{service.name} healthy")
        self.bootstrap()

    def bootstrap(self) -> None:
        with KafkaAdmin(self.settings) as admin:
            for spec in load_topic_specs():
                self.progress(f"topic {spec.name}: {admin.ensure_topic(spec)}")
        created = ensure_buckets(self.settings)
        for bucket in created:
            self.progress(f"bucket {bucket}: created")

    def kill(self, name: str) -> ProcessHandle:
        """`kill -9` a service: no shutdown hook runs, as when its machine dies.

        The record stays: the service still belongs to the stack, `./lab status` shows
        it down, and `start()` brings it back.
        """
        handle = self.registry.running(name)
        if handle is None:
            raise ServiceError(f"{name} is not running: nothing to kill")
        os.kill(handle.pid, signal.SIGKILL)
        proc = handle.process()
        if proc is not None:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.TimeoutExpired):
                proc.wait(timeout=10)
        return handle

    def restart(self, name: str) -> Health:
        """Start a stopped (or killed) service as configured and wait until it is healthy."""
        service = self.service(name)
        self.start(service)
        return self.wait_healthy(service)

    def down(self) -> list[str]:
        stopped = []
        # Reverse start order: Airflow's task runners stop before the broker they use.
        for service in reversed(self.services):
            if self.registry.stop(service.name):
                stopped.append(service.name)
                self.progress(f"stopped {service.name}")
        # Background jobs (generator runs, streaming queries) recorded by exercises.
        for name in self.registry.names():
            if self.registry.stop(name):
                stopped.append(name)
                self.progress(f"stopped {name}")
        return stopped

    def reset(self) -> None:
        self.down()
        for path in (self.settings.paths.data, self.settings.paths.logs, self.settings.paths.run):
            shutil.rmtree(path, ignore_errors=True)
            self.progress(f"removed {path}")

    def status(self) -> dict[str, tuple[bool, Health]]:
        report = {}
        for service in self.services:
            running = self.registry.running(service.name) is not None
            health = service.health(self.settings) if running else Health(False, "not running")
            report[service.name] = (running, health)
        return report

    def controller_quorum(self) -> str:
        """Kafka's own account of the KRaft controller quorum (`kafka-metadata-quorum`)."""
        result = subprocess.run(
            kafka.tool_command(
                self.settings,
                "kafka-metadata-quorum",
                ["--bootstrap-server", self.settings.kafka_bootstrap, "describe", "--status"],
            ),
            capture_output=True,
            text=True,
            env=child_environment(self.settings),
            timeout=60,
        )
        if result.returncode != 0:
            return f"kafka-metadata-quorum failed: {(result.stderr or result.stdout).strip()}"
        return describe_quorum_status(result.stdout)

    def memory_mb(self) -> float:
        total = 0.0
        for name in self.registry.names():
            handle = self.registry.running(name)
            proc = handle.process() if handle else None
            if proc is None:
                continue
            for member in [proc, *proc.children(recursive=True)]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    total += member.memory_info().rss
        return total / 1024 / 1024


def running_kafka_brokers(settings: LabSettings) -> int | None:
    """How many Kafka nodes the stack under ``settings.home`` was started with, or None.

    Read from the nodes' records, which only `./lab down` removes: a node that was
    killed (the failover drill's `kill -9`) still counts as part of the cluster.
    """
    registry = ProcessRegistry(settings.paths.run, settings.paths.logs)
    return sum(bool(KAFKA_NODE_SERVICE.match(name)) for name in registry.names()) or None


def describe_quorum_status(output: str) -> str:
    """`kafka-metadata-quorum describe --status` in one line: leader, voters, observers."""
    fields = {}
    for line in output.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()

    def node_ids(raw: str) -> str:
        try:
            return ",".join(str(entry["id"]) for entry in json.loads(raw)) or "none"
        except (ValueError, TypeError, KeyError):
            return raw or "?"

    return (
        f"leader {fields.get('LeaderId', '?')} (epoch {fields.get('LeaderEpoch', '?')}), "
        f"voters {node_ids(fields.get('CurrentVoters', ''))}, "
        f"max follower lag {fields.get('MaxFollowerLag', '?')}"
    )
