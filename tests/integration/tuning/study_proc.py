"""A tuning run in its own process (killed by tests/integration/tuning/test_resume.py): the study at
argv[1] named argv[2], argv[3] complete trials, one slow trial at a time, SYNTHETIC candles."""

from __future__ import annotations

import sys

from composition.tuning.executors import make_executor
from composition.tuning.study import open_study, optimize
from services.tuning import parse_space
from tests.integration.tuning.helpers import SPACE, slow_job, tune_data


def main(url: str, name: str, n: int) -> None:
    study = open_study(url, name, False, 7)
    ex = make_executor("process", slow_job, tune_data(), 1)
    optimize(study, parse_space(SPACE), ex, n, seed=7, batch=1, retries=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
