"""The browsing steps as ``webgpt ask`` lists them: a run of the same scroll on one line, and the page
each click opened.

    lines = StepLines(labelled=False)
    for event in events:
        for line in lines.add(event):
            print(line.text)
    for line in lines.flush():
        print(line.text)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from agent.rollout import StepEvent

_REPEATABLE = ("Scrolled down", "Scrolled up")


class StepLine(NamedTuple):
    text: str
    failed: bool = False  # the step was refused (an invalid action)


@dataclass
class _Run:
    first: StepEvent
    last: StepEvent
    count: int = 1


@dataclass
class StepLines:
    """Turns step events into lines of plain text (no markup). A scroll is held back until a different step
    of its episode (or ``flush``) shows how long its run was. ``labelled`` prefixes each line with its
    episode ("[2] "), for best-of-n."""

    labelled: bool = False
    clip: int = 110
    _runs: dict[int, _Run] = field(default_factory=dict)

    def add(self, event: StepEvent) -> list[StepLine]:
        run = self._runs.get(event.episode)
        if run is not None and _repeats(run.last, event):
            run.last, run.count = event, run.count + 1
            return []
        lines = self._end_run(event.episode)
        if event.error is None and event.command.startswith(_REPEATABLE):
            self._runs[event.episode] = _Run(event, event)
            return lines
        return [*lines, self._line(event)]

    def flush(self) -> list[StepLine]:
        """The scroll runs still held back, episode by episode."""
        return [line for episode in sorted(self._runs) for line in self._end_run(episode)]

    def _end_run(self, episode: int) -> list[StepLine]:
        run = self._runs.pop(episode, None)
        if run is None:
            return []
        if run.count == 1:
            return [self._line(run.first)]
        numbers = f"{run.first.index + 1}–{run.last.index + 1}"
        return [
            StepLine(f"  {self._label(run.first)}{numbers}. {self._text(run.first.command)} (×{run.count})")
        ]

    def _line(self, event: StepEvent) -> StepLine:
        text = self._text(event.command)
        if event.error is not None:
            text += f"  ✗ {event.error}"
        elif event.command.startswith("Clicked on link") and event.title:
            text += f" → {self._text(event.title)}"
        return StepLine(f"  {self._label(event)}{event.index + 1:>2}. {text}", event.error is not None)

    def _label(self, event: StepEvent) -> str:
        return f"[{event.episode + 1}] " if self.labelled else ""

    def _text(self, text: str) -> str:
        return clip(" ".join(text.split()), self.clip)


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _repeats(last: StepEvent, event: StepEvent) -> bool:
    return event.error is None and event.command == last.command and event.index == last.index + 1
