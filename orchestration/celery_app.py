"""The Celery app Quorum's workers run (``celery -A orchestration.celery_app worker``):
dagster-celery's own app and tasks, with one change to how a worker's processes start.

Celery's prefork pool runs each task in a child process started by billiard (Celery's fork
of multiprocessing), which Python's own multiprocessing then refuses to start processes
from. A run with Dagster's multiprocess executor (the daily batch) starts one process per
step, and failed on a worker twice over: "daemonic processes are not allowed to have
children" (billiard's children are daemonic), then "Pickling an AuthenticationString object
is disallowed" (the child's authentication key is billiard's type, which a new process
cannot be handed). Each child here runs one run and exits (the workers start with
``--max-tasks-per-child 1``) and the executor waits for its step processes, so the child is
marked non-daemonic and given a key of Python's own type; its step processes then start as
they do under the default run launcher, and none outlives the run.

Importing this module builds the Celery app (Celery's entry point, as ``dagster_celery.app``
does) and connects that start hook; it writes nothing and connects to nothing.
"""

import multiprocessing
import multiprocessing.process
import os

from celery.signals import worker_process_init
from dagster_celery.app import app, execute_job, execute_plan, resume_job

__all__ = ["app", "execute_job", "execute_plan", "resume_job"]


@worker_process_init.connect
def _allow_step_processes(**_: object) -> None:
    # Python keeps both in the process object's private config; the daemon flag has no
    # public setter in a running process.
    config = multiprocessing.current_process()._config
    config["daemon"] = False
    config["authkey"] = multiprocessing.process.AuthenticationString(os.urandom(32))
