from __future__ import annotations

import json
import stat
from pathlib import Path

from kafkalab.lab.stack import compose_init


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_secrets_are_generated_once_and_kept(tmp_path: Path) -> None:
    first = compose_init.prepare_secrets(tmp_path, {}, "admin")
    values = {name: path.read_text() for name, path in first.items()}
    second = compose_init.prepare_secrets(tmp_path, {}, "admin")
    assert {name: path.read_text() for name, path in second.items()} == values
    jwt = values[compose_init.AIRFLOW_JWT_SECRET.file_name]
    assert len(jwt) >= 32 and jwt != values[compose_init.AIRFLOW_API_SECRET_KEY.file_name]


def test_a_value_from_the_environment_wins_and_reaches_the_database_url(tmp_path: Path) -> None:
    compose_init.prepare_secrets(tmp_path, {}, "admin")
    environ = {"KAFKALAB_POSTGRES_PASSWORD": "chosen-pw", "KAFKALAB_AIRFLOW_ADMIN_PASSWORD": "a1"}
    written = compose_init.prepare_secrets(tmp_path, environ, "admin")
    assert written["postgres_password"].read_text() == "chosen-pw"
    assert (
        written[compose_init.SQL_ALCHEMY_CONN_FILE].read_text()
        == "postgresql+psycopg2://airflow:chosen-pw@postgres:5432/airflow"
    )
    assert json.loads(written[compose_init.PASSWORDS_FILE].read_text()) == {"admin": "a1"}


def test_only_the_postgres_password_is_readable_by_other_users(tmp_path: Path) -> None:
    written = compose_init.prepare_secrets(tmp_path, {}, "admin")
    modes = {name: _mode(path) for name, path in written.items()}
    assert modes == {
        "airflow_jwt_secret": 0o600,
        "airflow_api_secret_key": 0o600,
        "airflow_admin_password": 0o600,
        "postgres_password": 0o644,
        compose_init.SQL_ALCHEMY_CONN_FILE: 0o600,
        compose_init.PASSWORDS_FILE: 0o600,
    }


def test_secret_files_have_no_trailing_newline(tmp_path: Path) -> None:
    # Airflow's `_CMD` options use a command's output as it is, newline included.
    written = compose_init.prepare_secrets(tmp_path, {}, "admin")
    assert [name for name, path in written.items() if path.read_text().endswith("\n")] == []
