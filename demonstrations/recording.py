"""One way to turn environment steps into ``StepRecord``s, for the rollout, the recorder and the
scripted demonstrator alike.

    recording = RecordingEnv(env)
    observation, info = recording.reset(options={"question": question})
    observation, _, terminated, truncated, info = recording.step("Search eiffel tower")
    recording.steps  # [StepRecord(index=0, observation=<what was shown>, command="Search eiffel tower", ...)]

Each record holds the observation and URL shown *before* its command (what the command was chosen
from), the command as the environment read it (canonical; invalid text as typed, trimmed), and whether
it succeeded. Replaying ``steps[*].command`` from ``reset`` reproduces every observation.
"""

from __future__ import annotations

from typing import Any

from browser_env.actions import AnyAction, InvalidAction, parse_action, render_action
from browser_env.env import BrowserEnv
from demonstrations.schemas import StepRecord


def command_text(action: AnyAction | str) -> str:
    """The command as it is stored: canonical for a command, the trimmed text for anything else."""
    parsed = parse_action(action) if isinstance(action, str) else action
    if isinstance(parsed, InvalidAction):
        return parsed.text.strip() if isinstance(action, str) else render_action(parsed).strip()
    return render_action(parsed)


class RecordingEnv:
    """A ``BrowserEnv`` that keeps a ``StepRecord`` of every step (see the module docstring)."""

    def __init__(self, env: BrowserEnv) -> None:
        self.env = env
        self.steps: list[StepRecord] = []
        self.observation = ""
        self.info: dict[str, Any] = {}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict]:
        self.steps = []
        self.observation, self.info = self.env.reset(seed=seed, options=options)
        return self.observation, self.info

    def resume(self, observation: str, info: dict[str, Any], steps: list[StepRecord]) -> None:
        """Carry on an episode whose ``steps`` were replayed into ``env`` (leaving it at ``observation``)."""
        self.steps = list(steps)
        self.observation, self.info = observation, info

    def step(self, action: AnyAction | str) -> tuple[str, float, bool, bool, dict]:
        shown, url = self.observation, self.info.get("url")
        parsed = parse_action(action) if isinstance(action, str) else action
        observation, reward, terminated, truncated, info = self.env.step(parsed)
        self.steps.append(
            StepRecord(
                index=len(self.steps),
                observation=shown,
                command=command_text(action),
                valid=info["error"] is None,
                error=info["error"],
                url=url,
            )
        )
        self.observation, self.info = observation, info
        return observation, reward, terminated, truncated, info

    @property
    def last_step(self) -> StepRecord | None:
        return self.steps[-1] if self.steps else None

    @property
    def done(self) -> bool:
        return self.env.done

    def close(self) -> None:
        self.env.close()
