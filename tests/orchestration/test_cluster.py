"""The distributed profile's process commands (orchestration/cluster.py): what they promise
without starting anything. The processes themselves run in tests/integration/test_distributed.py."""

import os
import stat
from itertools import pairwise

from features.settings import QuorumSettings
from orchestration import cluster


def test_a_homes_store_key_pair_is_made_once_kept_private_and_the_callers_own_wins(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    settings = QuorumSettings(profile="distributed", home=tmp_path)
    assert cluster.s3_credentials(settings) == {}  # nothing made unless asked
    made = cluster.s3_credentials(settings, create=True)
    assert made == cluster.s3_credentials(settings)  # every later process reads the same pair
    mode = stat.S_IMODE(cluster.identity_file(settings).stat().st_mode)
    assert mode == 0o600
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "mine")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    assert cluster.s3_credentials(settings)["AWS_ACCESS_KEY_ID"] == "mine"


def test_seaweedfs_opens_only_the_ports_it_is_given_and_knows_the_key_pair(tmp_path):
    ports = cluster.SeaweedPorts(s3=20001, master=20002, volume=20003, filer=20004)
    credentials = {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}
    argv = cluster.seaweedfs_command(tmp_path / "data", ports, credentials)
    port_flags = {a.split("=")[0]: a.split("=")[1] for a in argv if ".port" in a}
    # Its fixed default extra ports (Iceberg 8181, Lance 9101) would collide between stores.
    assert port_flags["-s3.port.iceberg"] == port_flags["-s3.port.lance"] == "0"
    given = {int(v) for v in port_flags.values() if v != "0"}
    assert given == {20001, 20002, 20003, 20004, 30001, 30002, 30003, 30004}
    assert "-master.telemetry=false" in argv
    identities = (tmp_path / "data" / "s3-identities.json").read_text()
    assert '"accessKey": "k"' in identities and '"secretKey": "s"' in identities


def test_a_worker_runs_one_run_at_a_time_each_in_a_new_process():
    argv = cluster.celery_worker_command("w1")
    flags = dict(pairwise(argv))
    assert flags["-A"] == "orchestration.celery_app"
    assert flags["--concurrency"] == "1" and flags["--max-tasks-per-child"] == "1"
    assert flags["-Q"] == "dagster"  # the queue the instance's run launcher sends runs to


def test_workers_on_one_machine_share_its_cores_unless_told_otherwise(tmp_path):
    cores = os.cpu_count() or 1
    env = cluster.celery_worker_env(tmp_path, {"PYTHONPATH": "/x"}, workers_on_machine=2)
    assert env["OMP_NUM_THREADS"] == str(max(1, cores // 2))
    assert env["PYTHONPATH"] == os.pathsep.join([str(tmp_path), "/x"])
    many = cluster.celery_worker_env(tmp_path, {}, workers_on_machine=cores * 4)
    assert many["OMP_NUM_THREADS"] == "1"
    chosen = cluster.celery_worker_env(tmp_path, {"OMP_NUM_THREADS": "3"}, workers_on_machine=2)
    assert chosen["OMP_NUM_THREADS"] == "3"  # the operator's own setting wins
    assert "QUORUM_EXPORTS" not in env
    own = cluster.celery_worker_env(tmp_path, {"QUORUM_EXPORTS": "/home"}, 2, scratch=tmp_path)
    assert own["QUORUM_EXPORTS"] == str(tmp_path / "exports")  # dbt writes on its own disk
    assert "QUORUM_WAREHOUSE" not in env
    assert own["QUORUM_WAREHOUSE"] == str(tmp_path / "warehouse.duckdb")  # fetched, kept back


def test_the_worker_config_names_the_broker_and_acknowledges_early(tmp_path):
    settings = QuorumSettings(profile="distributed", redis_url="redis://127.0.0.1:7000")
    cluster.write_celery_config(settings, tmp_path)
    namespace: dict = {}
    exec((tmp_path / "dagster_celery_config.py").read_text(), namespace)
    assert namespace["broker_url"] == "redis://127.0.0.1:7000/1"
    assert namespace["task_acks_late"] is False
