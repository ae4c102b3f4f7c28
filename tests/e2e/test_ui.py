"""The kafkalab plugin in a real browser: the system's Chromium, driven by Playwright.

A user signs in on Airflow's login page, triggers ``kafka_ingest_basic`` from the
trigger form with a changed param, and reads the run's Lab report tab; a sabotaged
run's tab says FAILED with the check's message; the Kafka page shows a group's lag as
``kafka-consumer-groups --describe`` prints it; signed out, the plugin refuses to serve.
Screenshots of every page land in ``.lab/artifacts/`` (kept by CI on failure too).
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from kafkalab.generator.runner import fill_topic
from kafkalab.kafka.admin import KafkaAdmin
from kafkalab.lab.airflow_api import AirflowApi
from kafkalab.lab.stack.environment import airflow_admin_password
from kafkalab.settings import get_settings
from tests.support.lab import printed_group_lag

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = get_settings().paths.artifacts
DAG = "kafka_ingest_basic"
# Generous bounds: a run takes well under a minute on an idle machine; a busy one must
# not turn a correct outcome into a failure.
RUN_TIMEOUT = 900.0

pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None,
    reason=f"no system Chromium at {CHROMIUM}: apt-get install chromium (bash .ci/run does)",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, driven by a Playwright of this module's own.

    Not pytest-playwright's session-wide one: its event loop keeps running on the main
    thread until the whole session ends, and every later ``asyncio.run()`` (triggers,
    the generator) then refuses to start.
    """
    with sync_playwright() as playwright:
        # Playwright's own browser download is not reachable: Debian's Chromium.
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="module")
def api(settings) -> AirflowApi:
    return AirflowApi(settings)


@pytest.fixture(scope="module")
def unpaused(api: AirflowApi) -> Iterator[None]:
    """The scheduler runs what the UI triggers only while the DAG is unpaused."""
    api.wait_for_dag(DAG)
    was_paused = api.is_paused(DAG)
    api.set_paused(DAG, False)
    yield
    api.set_paused(DAG, was_paused)


def shoot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"ui-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page, settings) -> None:
    """Through Airflow's login page, as a user does."""
    page.goto(f"{settings.airflow_url}/")
    page.wait_for_url(re.compile(r".*/auth/login.*"), timeout=60_000)
    page.locator("input[name=username]").fill(settings.airflow_user)
    page.locator("input[type=password]").fill(airflow_admin_password(settings))
    page.get_by_role("button", name=re.compile(r"sign in|log ?in", re.I)).click()
    page.wait_for_url(lambda url: "/auth/login" not in url, timeout=60_000)


def wait_for_state(api: AirflowApi, run_id: str, states: set[str]) -> str:
    deadline = time.monotonic() + RUN_TIMEOUT
    state = api.run_state(DAG, run_id)
    while state not in states and time.monotonic() < deadline:
        time.sleep(3)
        state = api.run_state(DAG, run_id)
    assert state in states, f"{DAG} run {run_id} still {state} after {RUN_TIMEOUT:.0f}s"
    return state


def report_tab(page, settings, run_id: str):
    """The run's Lab report tab in the Airflow UI, and the frame the plugin renders in."""
    page.goto(f"{settings.airflow_url}/dags/{DAG}/runs/{quote(run_id, safe='')}/plugin/lab_report")
    frame = page.frame_locator("iframe")
    frame.locator("#verdict").wait_for(timeout=120_000)
    return frame


def test_a_run_triggered_from_the_ui_form_reads_passed_in_its_lab_report(
    page, settings, api: AirflowApi, unpaused: None
) -> None:
    events = 250  # not the DAG's default: the form's value must reach the run
    sign_in(page, settings)
    page.goto(f"{settings.airflow_url}/dags/{DAG}")
    page.get_by_role("button", name=re.compile(r"^Trigger", re.I)).first.click()
    dialog = page.get_by_role("dialog")
    # The form's number fields carry no id or name: events is the first, showing its default.
    field = dialog.get_by_role("spinbutton").first
    field.wait_for(timeout=60_000)
    assert field.input_value() == "2000", "the trigger form's first field is not events"
    field.fill(str(events))
    field.press("Tab")
    shoot(page, "trigger-form")
    started = time.time()
    dialog.get_by_role("button", name=re.compile(r"^Trigger", re.I)).click()

    run_id = None
    deadline = time.monotonic() + 60
    while run_id is None and time.monotonic() < deadline:
        runs = api.recent_runs(DAG, limit=5)
        run_id = next(
            (
                r["dag_run_id"]
                for r in runs
                if (r.get("conf") or {}).get("events") == events
                and r["run_type"] == "manual"
                and (r.get("run_after") or "")
                >= time.strftime("%Y-%m-%dT%H:%M", time.gmtime(started - 60))
            ),
            None,
        )
        time.sleep(1)
    assert run_id, f"no run of {DAG} with events={events} after submitting the trigger form"

    # The run, as the UI shows it, until it ends.
    page.goto(f"{settings.airflow_url}/dags/{DAG}/runs/{quote(run_id, safe='')}")
    assert wait_for_state(api, run_id, {"success", "failed"}) == "success"
    page.reload()
    page.get_by_text(re.compile(r"^success$", re.I)).first.wait_for(timeout=60_000)
    shoot(page, "run")

    frame = report_tab(page, settings, run_id)
    assert frame.locator("#verdict").inner_text() == "PASSED"
    acknowledged = frame.locator('#headline tr[data-figure="events acknowledged"] td')
    assert acknowledged.nth(1).inner_text() == f"{events:,}"
    assert acknowledged.nth(2).inner_text() == "events"
    assert frame.locator("#checks tr.failed").count() == 0
    shoot(page, "lab-report-passed")


def test_a_sabotaged_run_reads_failed_with_the_checks_message(
    page, settings, api: AirflowApi, unpaused: None
) -> None:
    run_id = api.trigger(DAG, {"events": 300, "fault": "duplicate_records"})
    assert wait_for_state(api, run_id, {"success", "failed"}) == "failed"
    sign_in(page, settings)

    frame = report_tab(page, settings, run_id)

    assert frame.locator("#verdict").inner_text() == "FAILED"
    row = frame.locator('#checks tr[data-task="verify.records_exactly_once"]')
    assert row.locator("td.state").inner_text() == "failed"
    assert "events published more than once" in row.inner_text()
    assert "events published more than once" in frame.locator("#failing").inner_text()
    shoot(page, "lab-report-failed")


def test_the_kafka_page_shows_a_groups_lag_as_kafka_consumer_groups_prints_it(
    page, settings, kafka_topics, unique_name: str
) -> None:
    topic = kafka_topics.create(unique_name, partitions=3)
    group = f"{unique_name}-ui"
    # In a thread: the generator runs its own event loop, Playwright's holds this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(fill_topic, settings.kafka_bootstrap, topic, 120).result()
    admin = KafkaAdmin(settings)
    ends = admin.end_offsets(topic)
    # A group that read part of each partition: a different lag on each.
    admin.reset_group_to_offsets(group, topic, {p: end // (p + 2) for p, end in ends.items()})
    printed = printed_group_lag(settings, group, topic)
    assert set(printed) == set(ends) and any(printed.values()), printed

    sign_in(page, settings)
    page.goto(f"{settings.airflow_url}/plugin/kafka")
    frame = page.frame_locator("iframe")
    group_block = frame.locator(f'details[data-group="{group}"]')
    group_block.wait_for(timeout=60_000)
    shown = {
        int(row.get_attribute("data-partition")): int(row.locator("td.lag-value").inner_text())
        for row in group_block.locator(f'tr[data-topic="{topic}"]').all()
    }
    assert shown == printed
    assert group_block.get_attribute("data-total-lag") == str(sum(printed.values()))
    shoot(page, "kafka")


def test_the_plugin_refuses_a_signed_out_visitor(page, settings) -> None:
    for path in ("/kafkalab/kafka", "/kafkalab/kafka/state.json", f"/kafkalab/report/{DAG}/x"):
        response = httpx.get(f"{settings.airflow_url}{path}", timeout=30)
        assert response.status_code in (401, 403), f"{path}: {response.status_code}"
        # The same in the browser, which holds no session yet.
        answer = page.goto(f"{settings.airflow_url}{path}")
        assert answer.status in (401, 403), f"{path} in the browser: {answer.status}"
    shoot(page, "signed-out")
