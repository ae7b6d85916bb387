"""Submitting runs to the instance's run queue from Python, as ``dagster job launch`` and the
UI's Launch button do: the run is created against the code location (so the daemon can launch,
monitor and retry it) and queued; the daemon's queued run coordinator starts it.

Used by the load benchmark and the production fault tests, which submit many runs through
one workspace instead of starting a CLI (and a code server) per run.
"""

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import dagster as dg
import sqlalchemy.exc
from dagster import __version__ as dagster_version
from dagster._cli.job import _create_run
from dagster._cli.workspace.cli_target import (
    WorkspaceOpts,
    get_code_location_from_workspace,
    get_remote_job_from_remote_repo,
    get_remote_repository_from_code_location,
    get_workspace_from_cli_opts,
)

from orchestration.serve import WORKSPACE


class RunSubmitter:
    """Queues runs of the code location's jobs; one workspace for many submissions."""

    def __init__(self, instance: dg.DagsterInstance, workspace) -> None:
        self.instance = instance
        self._workspace = workspace
        self._location = get_code_location_from_workspace(workspace, None)
        self._repository = get_remote_repository_from_code_location(self._location, None)

    def submit(
        self,
        job_name: str,
        *,
        tags: Mapping[str, str] | None = None,
        run_config: Mapping[str, object] | None = None,
    ) -> str:
        remote_job = get_remote_job_from_remote_repo(self._repository, job_name)
        run = _create_run(
            instance=self.instance,
            code_location=self._location,
            remote_repo=self._repository,
            remote_job=remote_job,
            run_config=dict(run_config or {}),
            tags=dict(tags or {}),
            op_selection=None,
            run_id=None,
        )
        return self.instance.submit_run(run.run_id, self._workspace).run_id

    def job_assets(self, job_name: str) -> set[str]:
        """The asset keys job ``job_name`` materializes, as the code location defines it."""
        nodes = self._repository.get_asset_node_snaps(job_name)
        return {node.asset_key.to_user_string() for node in nodes}

    @contextmanager
    def running(self, name: str) -> Iterator[tuple[str, str]]:
        """Schedule or sensor ``name`` started for the daemon, as the UI's toggle does,
        and stopped on exit; yields its (origin id, selector id), which key its ticks."""
        repository = self._repository
        if repository.has_schedule(name):
            remote = repository.get_schedule(name)
            self.instance.start_schedule(remote)
            stop = self.instance.stop_schedule
        else:
            remote = repository.get_sensor(name)
            self.instance.start_sensor(remote)
            stop = self.instance.stop_sensor
        ids = (remote.get_remote_origin_id(), remote.selector_id)
        try:
            yield ids
        finally:
            stop(*ids, remote)


@contextmanager
def run_submitter(instance: dg.DagsterInstance) -> Iterator[RunSubmitter]:
    with get_workspace_from_cli_opts(
        instance, version=dagster_version, workspace_opts=WorkspaceOpts(workspace=[WORKSPACE])
    ) as workspace:
        yield RunSubmitter(instance, workspace)


def wait_for_runs(
    instance: dg.DagsterInstance, run_ids: list[str], timeout: float, poll: float = 0.5
) -> list[dg.RunRecord]:
    """Every run's record once all of them have finished (success, failure or canceled)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            records = instance.get_run_records(dg.RunsFilter(run_ids=run_ids))
        except sqlalchemy.exc.OperationalError:
            # A fault test restarts the server under this poll's own pooled connection: the
            # pool drops it, and the next poll reconnects.
            if time.monotonic() > deadline:
                raise
            time.sleep(poll)
            continue
        if len(records) == len(run_ids) and all(r.dagster_run.is_finished for r in records):
            return records
        if time.monotonic() > deadline:
            states = {r.dagster_run.run_id: r.dagster_run.status.value for r in records}
            raise TimeoutError(f"runs not finished after {timeout:.0f} s: {states}")
        time.sleep(poll)


def failures(instance: dg.DagsterInstance, records: list[dg.RunRecord]) -> str:
    """Why each run that did not succeed failed: its failure events' messages, for a test's
    assertion message (a run in another process leaves its reasons only in the instance)."""
    lines = []
    for record in records:
        run = record.dagster_run
        if run.status == dg.DagsterRunStatus.SUCCESS:
            continue
        events = instance.all_logs(run.run_id)
        messages = [
            f"{e.step_key or '-'}: {e.message}"
            + (f" {e.dagster_event.event_specific_data}" if e.dagster_event else "")
            for e in events
            if (e.dagster_event is not None and e.dagster_event.is_failure)
            or (e.dagster_event is not None and e.dagster_event.event_type_value in
                ("RUN_FAILURE", "ENGINE_EVENT") and "fail" in (e.message or "").lower())
        ]  # fmt: skip
        lines.append(f"run {run.run_id} {run.status.value}: " + " | ".join(messages)[:4000])
    return "\n".join(lines)
