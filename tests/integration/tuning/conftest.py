"""One local Ray (num_cpus=2) for the whole test session: Ray's start-up is slow, every ray test shares it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    import ray  # the [scale] extra: installed in CI, so the ray tests never skip there

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()
