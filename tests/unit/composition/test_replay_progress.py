"""The replay progress bar: drawn on a terminal with the share of the window covered, silent otherwise."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from composition.runtime.progress import replay_progress

DAY = 86_400_000


def _run(force_terminal: bool) -> None:
    ticks = iter(range(0, 10 * DAY, DAY))

    async def main() -> None:
        task = asyncio.create_task(
            replay_progress(0, 10 * DAY, lambda: next(ticks, 9 * DAY), every_s=0.01, force_terminal=force_terminal)
        )
        await asyncio.sleep(0.3)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(main())


def test_bar_on_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    _run(force_terminal=True)
    err = capsys.readouterr().err
    assert "replay" in err and "90%" in err and "1970-01-10 00:00 UTC" in err


def test_silent_when_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    _run(force_terminal=False)
    assert capsys.readouterr().err == ""
