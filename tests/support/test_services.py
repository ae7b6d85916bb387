"""The throwaway servers' own start-up: ports no outgoing connection can take, and a store
whose port was taken under it starts again on new ports instead of failing its module."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.support import services
from tests.support.services import (
    SEAWEED_GRPC_PORT_OFFSET,
    PrivateSeaweedFS,
    ServerExited,
    free_port,
    wait_for_port,
)


def test_a_free_port_and_its_twin_lie_below_the_kernels_ephemeral_range_and_bind() -> None:
    floor = services._ephemeral_floor()
    for _ in range(20):
        port = free_port(also_free_at=SEAWEED_GRPC_PORT_OFFSET)
        assert port + SEAWEED_GRPC_PORT_OFFSET < floor
        assert services._bindable(port)
        assert services._bindable(port + SEAWEED_GRPC_PORT_OFFSET)


def test_waiting_on_a_server_that_exited_fails_at_once_with_its_exit_code() -> None:
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(ServerExited, match=r"exited \(3\)"):
        wait_for_port(free_port(), 600, "a server that exits", process)


def test_a_store_whose_s3_port_is_taken_before_it_binds_starts_on_new_ports(
    monkeypatch,
) -> None:
    taken = socket.socket()  # bound, not listening: weed's bind fails, a connect too
    taken.bind(("127.0.0.1", free_port()))
    taken_port = taken.getsockname()[1]
    handed_out: list[int] = []

    def first_the_taken_port(also_free_at: int = 0) -> int:
        port = taken_port if not handed_out else free_port(also_free_at)
        handed_out.append(port)
        return port

    monkeypatch.setattr(services, "free_port", first_the_taken_port)
    try:
        store = PrivateSeaweedFS.start_new()
        try:
            assert store.ports.s3 != taken_port
            assert len(handed_out) == 8  # two tries of four ports each
            store.client().create_bucket(Bucket="served")
            assert store.keys("served") == []
        finally:
            store.remove()
    finally:
        taken.close()
