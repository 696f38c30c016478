"""A progress bar on stderr while a replay runs (market time covered of the replay's window), drawn
only on a terminal; logs, pipes and CI get the run's summary table instead."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime


async def replay_progress(
    start_ms: int,
    end_ms: int,
    last_tick: Callable[[], int | None],
    *,
    every_s: float = 0.25,
    force_terminal: bool | None = None,
) -> None:
    """Runs until cancelled, redrawing every `every_s` seconds."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True, force_terminal=force_terminal)
    if not console.is_terminal or end_ms <= start_ms:
        return
    with Progress(
        TextColumn("replay"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[at]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("replay", total=end_ms - start_ms, at="")
        with contextlib.suppress(asyncio.CancelledError):
            while True:
                t = last_tick() or start_ms
                at = datetime.fromtimestamp(t / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")
                bar.update(task, completed=min(t, end_ms) - start_ms, at=at)
                await asyncio.sleep(every_s)
