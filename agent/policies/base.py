"""What every policy offers the rollout: a name, ``reset(question)`` and ``act(observation, info)``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from browser_env.web import SearchBackend


class Policy(Protocol):
    """Chooses one command (as text) per step from the observation and the env's ``info``."""

    name: str

    def reset(self, question: str) -> None: ...

    def act(self, observation: str, info: dict[str, Any]) -> str | None:
        """The next command, or None to stop without answering (the episode ends "abandoned")."""
        ...


@runtime_checkable
class SamplingPolicy(Policy, Protocol):
    """A policy that can sample its commands and has a twin that never does."""

    def greedy(self) -> Policy:
        """A twin that always takes the best-scored command (what one answer at temperature 0 does)."""
        ...


@runtime_checkable
class SearchingPolicy(Policy, Protocol):
    """A policy with a scorer that searches on its own (``agent.corroboration``): the rollout hands it
    each episode's search backend once the episode starts."""

    def use_search(self, search: SearchBackend) -> None: ...


@runtime_checkable
class LockstepPolicy(Policy, Protocol):
    """A policy whose episodes can step together: the commands of several episodes (each with its own
    policy object) chosen in one call, one batch for all."""

    def steps_with(self, other: Policy) -> bool:
        """Whether ``other``'s episode can step in the same call as this one's."""
        ...

    def episode_copy(self) -> LockstepPolicy:
        """A copy for another episode browsing at the same time (the same model, its own episode state)."""
        ...

    def act_together(
        self, policies: Sequence[Policy], observations: Sequence[str], infos: Sequence[dict[str, Any]]
    ) -> list[str | None]:
        """The next command of each episode (``policies[i]`` sees ``observations[i]``)."""
        ...


class ReplayPolicy:
    """Plays back a fixed list of commands, then ``End: Answer`` forever (tests, demos, replays)."""

    def __init__(self, commands: list[str], name: str = "replay") -> None:
        self.commands = list(commands)
        self.name = name
        self._position = 0

    def reset(self, question: str) -> None:
        self._position = 0

    def act(self, observation: str, info: dict[str, Any]) -> str:
        if self._position >= len(self.commands):
            return "End: Answer"
        command = self.commands[self._position]
        self._position += 1
        return command
