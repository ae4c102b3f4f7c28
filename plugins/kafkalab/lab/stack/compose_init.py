"""Compose mode's one-shot preparation: what `./lab up` does before it starts services.

`docker compose up` runs this module as two one-shot services:

- ``lab-init`` (``python -m kafkalab.lab.stack.compose_init prepare``) writes the
  per-installation secrets into the shared ``lab-secrets`` volume and renders
  ``spark-defaults.conf`` from the compose settings. Postgres and every Airflow
  component start after it.
- ``spark-jars`` (``python -m kafkalab.lab.stack.compose_init spark-jars``) fetches the
  Kafka/Delta/S3A connector jars into the ``lab-state`` volume, which the Spark worker
  mounts at the same path, so ``spark.executor.extraClassPath`` holds on both sides.

Secrets are generated once and kept in the volume; a user who wants chosen values sets
``KAFKALAB_AIRFLOW_JWT_SECRET`` (and the others below) in ``.env``. Nothing secret is
written in the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kafkalab.settings import LabSettings, get_settings

DEFAULT_SECRETS_DIR = Path("/run/secrets/kafkalab")

# Must match the `postgres` service of docker-compose.yml (tests/unit/lab/test_compose_file.py).
POSTGRES_HOST = "postgres"
POSTGRES_PORT = 5432
POSTGRES_USER = "airflow"
POSTGRES_DB = "airflow"


@dataclass(frozen=True)
class ComposeSecret:
    file_name: str
    env_override: str
    mode: int = 0o600


AIRFLOW_JWT_SECRET = ComposeSecret("airflow_jwt_secret", "KAFKALAB_AIRFLOW_JWT_SECRET")
AIRFLOW_API_SECRET_KEY = ComposeSecret("airflow_api_secret_key", "KAFKALAB_AIRFLOW_API_SECRET_KEY")
AIRFLOW_ADMIN_PASSWORD = ComposeSecret("airflow_admin_password", "KAFKALAB_AIRFLOW_ADMIN_PASSWORD")
# Postgres's entrypoint reads its password file as the `postgres` user, another uid than
# the one writing it; the volume is mounted only into the lab's own services.
POSTGRES_PASSWORD = ComposeSecret("postgres_password", "KAFKALAB_POSTGRES_PASSWORD", 0o644)

# Files Airflow reads through `AIRFLOW__..._CMD` / `..._PASSWORDS_FILE` settings.
SQL_ALCHEMY_CONN_FILE = "airflow_sql_alchemy_conn"
PASSWORDS_FILE = "simple_auth_manager_passwords.json"


def write_private(path: Path, value: str, mode: int = 0o600) -> None:
    """Replace ``path`` atomically; no trailing newline (Airflow's `_CMD` keeps it)."""
    staging = path.with_name(f".{path.name}.partial")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    staging.chmod(mode)
    os.replace(staging, path)


def ensure_secret(directory: Path, secret: ComposeSecret, environ: Mapping[str, str]) -> str:
    """The value from the environment if set, else the one kept from an earlier start,
    else a new random one."""
    path = directory / secret.file_name
    chosen = environ.get(secret.env_override, "")
    if chosen:
        value = chosen
    elif path.exists() and path.read_text():
        value = path.read_text()
    else:
        value = secrets.token_urlsafe(32)
    if not path.exists() or path.read_text() != value:
        write_private(path, value, secret.mode)
    path.chmod(secret.mode)
    return value


def sql_alchemy_conn(password: str) -> str:
    return (
        f"postgresql+psycopg2://{POSTGRES_USER}:{password}"
        f"@{POSTGRES_HOST}:{POSTGRES_PORT}/{POSTGRES_DB}"
    )


def prepare_secrets(
    directory: Path, environ: Mapping[str, str], airflow_user: str
) -> dict[str, Path]:
    """Write every secret file compose mode reads; returns name -> path."""
    directory.mkdir(parents=True, exist_ok=True)
    for secret in (AIRFLOW_JWT_SECRET, AIRFLOW_API_SECRET_KEY):
        ensure_secret(directory, secret, environ)
    admin_password = ensure_secret(directory, AIRFLOW_ADMIN_PASSWORD, environ)
    # Postgres takes its password only when it initialises an empty data volume:
    # choosing another one later needs `docker compose down -v` (which drops the DB).
    postgres_password = ensure_secret(directory, POSTGRES_PASSWORD, environ)
    write_private(directory / SQL_ALCHEMY_CONN_FILE, sql_alchemy_conn(postgres_password))
    write_private(directory / PASSWORDS_FILE, json.dumps({airflow_user: admin_password}))
    names = [
        AIRFLOW_JWT_SECRET.file_name,
        AIRFLOW_API_SECRET_KEY.file_name,
        AIRFLOW_ADMIN_PASSWORD.file_name,
        POSTGRES_PASSWORD.file_name,
        SQL_ALCHEMY_CONN_FILE,
        PASSWORDS_FILE,
    ]
    return {name: directory / name for name in names}


def prepare(settings: LabSettings, secrets_dir: Path, environ: Mapping[str, str]) -> None:
    from kafkalab.spark.conf import render_spark_defaults

    written = prepare_secrets(secrets_dir, environ, settings.airflow_user)
    print(f"kafkalab: secrets ready in {secrets_dir} ({', '.join(sorted(written))})")
    print(f"kafkalab: Spark settings written to {render_spark_defaults(settings)}")


def fetch_spark_jars(settings: LabSettings) -> None:
    from kafkalab.lab.stack.install import ensure_spark_jars

    fetched = ensure_spark_jars(settings)
    state = "fetched" if fetched else "already present"
    print(f"kafkalab: Spark connector jars {state} in {settings.paths.spark_jars}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m kafkalab.lab.stack.compose_init",
        description="One-shot preparation of the compose stack (see docker-compose.yml).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    prepare_cmd = sub.add_parser("prepare", help="secrets and Spark settings")
    prepare_cmd.add_argument("--secrets-dir", type=Path, default=DEFAULT_SECRETS_DIR)
    sub.add_parser("spark-jars", help="Kafka/Delta/S3A connector jars for driver and workers")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from kafkalab.lab.stack.install import InstallError

    args = build_parser().parse_args(argv)
    settings = get_settings()
    try:
        if args.command == "prepare":
            prepare(settings, args.secrets_dir, os.environ)
        else:
            fetch_spark_jars(settings)
    except (InstallError, OSError) as exc:
        print(f"kafkalab: {args.command} failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
