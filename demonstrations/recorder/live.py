"""Episodes being recorded: a live environment per episode id, every step stored as it happens.

Live environments live in memory only. After a restart, an unfinished episode is resumed by replaying
its stored steps into a fresh environment (see ``demonstrations.replay``); if the replay no longer
shows what was recorded (the corpus changed), the episode cannot resume and says why.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from browser_env.env import BrowserEnv, EnvConfig
from browser_env.protocol import DECLINE_REASONS, EndReason
from demonstrations.recording import RecordingEnv
from demonstrations.replay import replay_episode
from demonstrations.schemas import AnswerRecord, EpisodeRecord, QuoteRecord, StepRecord
from demonstrations.store import EpisodeStore

EnvFactory = Callable[[EnvConfig], BrowserEnv]
DECLINES = DECLINE_REASONS
MAX_LIVE = 64  # environments kept in memory; older ones are dropped and resume from the store


class ResumeError(Exception):
    """A stored episode cannot be continued; the message says why."""


class StaleState(Exception):
    """A command was made against a state of the episode that is no longer current."""

    def __init__(self, shown: int, current: int) -> None:
        super().__init__(
            f"this page showed the episode after {shown} steps, but it has {current} now (another tab or "
            "window moved it on); the page now shows the current state: check it and send the command again"
        )
        self.shown, self.current = shown, current


def unicode_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored (it is not valid Unicode: a lone surrogate such as \\ud800), or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return (
            f"the text has a character that is not valid Unicode ({text[error.start]!r} at position "
            f"{error.start}): remove it and send it again"
        )
    return None


@dataclass
class LiveEpisode:
    episode: EpisodeRecord  # the header as stored (steps are not kept up to date here)
    recording: RecordingEnv

    @property
    def id(self) -> str:
        return self.episode.id

    @property
    def env(self) -> BrowserEnv:
        return self.recording.env

    @property
    def observation(self) -> str:
        return self.recording.observation

    @property
    def info(self) -> dict[str, Any]:
        return self.recording.info

    @property
    def steps(self) -> int:
        return len(self.recording.steps)

    @property
    def quotes(self) -> list[QuoteRecord]:
        return [QuoteRecord(**quote) for quote in self.info["quotes"]]

    @property
    def awaiting_answer(self) -> bool:
        """Browsing is over (End: Answer or a budget) and the answer is still to be written."""
        return self.env.done and self.env.end_reason not in DECLINES


class LiveEpisodes:
    """Starts, steps and resumes episodes; one lock keeps environment work and store writes in order."""

    def __init__(
        self, store: EpisodeStore, env_factory: EnvFactory, env_config: EnvConfig, corpus: str | None
    ) -> None:
        self.store = store
        self.env_factory = env_factory
        self.env_config = env_config
        self.corpus = corpus
        self._live: OrderedDict[str, LiveEpisode] = OrderedDict()
        self.lock = threading.RLock()

    def start(
        self,
        question: str,
        annotator: str,
        *,
        question_id: str | None = None,
        gold_answers: list[str] | None = None,
    ) -> LiveEpisode:
        with self.lock:
            recording = RecordingEnv(self.env_factory(self.env_config))
            _, info = recording.reset(options={"question": question})
            episode = EpisodeRecord(
                question=info["question"],
                source="human",
                annotator=annotator,
                corpus=self.corpus,
                env_config=recording.env.config.to_dict(),
                gold_answers=gold_answers or [],
                metadata={"question_id": question_id} if question_id else {},
            )
            self.store.start_episode(episode)
            return self._keep(LiveEpisode(episode, recording))

    def get(self, episode_id: str) -> LiveEpisode:
        """The live episode, resumed from the store if needed. ``KeyError`` if there is no such episode,
        ``ResumeError`` if it is finished or cannot be replayed."""
        with self.lock:
            live = self._live.get(episode_id)
            if live is not None:
                self._live.move_to_end(episode_id)
                return live
            episode = self.store.get_episode(episode_id)
            if episode.finished:
                raise ResumeError(f"episode {episode_id} is finished ({episode.end_reason})")
            if episode.source != "human":
                raise ResumeError(f"episode {episode_id} was made by a {episode.source} demonstrator")
            if self.corpus and episode.corpus and episode.corpus != self.corpus:
                raise ResumeError(
                    f"episode {episode_id} was recorded on corpus {episode.corpus!r}; "
                    f"this recorder serves {self.corpus!r}"
                )
            env = self.env_factory(
                EnvConfig.from_dict(episode.env_config) if episode.env_config else self.env_config
            )
            result = replay_episode(episode, env)
            if result.mismatch is not None:
                raise ResumeError(f"episode {episode_id} no longer replays: {result.mismatch.describe()}")
            recording = RecordingEnv(env)
            recording.resume(result.observation, result.info, episode.steps)
            return self._keep(LiveEpisode(episode, recording))

    def _keep(self, live: LiveEpisode) -> LiveEpisode:
        self._live[live.id] = live
        while len(self._live) > MAX_LIVE:
            self._live.popitem(last=False)
        return live

    def step(self, live: LiveEpisode, command: str, *, at: int | None = None) -> StepRecord:
        """Apply one command and store the step before returning it, or neither: if stepping or storing
        fails, the live environment is dropped and the episode resumes from the store. ``at``, when
        given, is the number of steps the command was chosen after (``StaleState`` if that is no longer
        so); ``ValueError`` for text that cannot be stored. A declining command finishes the episode."""
        problem = unicode_problem(command)
        if problem:
            raise ValueError(problem)
        with self.lock:
            if self._live.get(live.id) is not live:
                raise ResumeError(f"episode {live.id} is no longer being recorded")
            if live.env.done:
                raise ResumeError("browsing has ended for this episode")
            if at is not None and at != live.steps:
                raise StaleState(at, live.steps)
            try:
                live.recording.step(command)
                step = live.recording.steps[-1]
                self.store.append_step(live.id, step)
            except BaseException:
                self._live.pop(live.id, None)  # the environment may have run ahead of the store
                raise
            if live.env.end_reason in DECLINES:
                self._finish(live, answer=None, end_reason=live.env.end_reason)
            return step

    def answer(self, live: LiveEpisode, answer: AnswerRecord) -> None:
        with self.lock:
            if not live.awaiting_answer:
                raise ResumeError("this episode is not waiting for an answer")
            ended = live.env.end_reason
            metadata = {"browsing_end": ended} if ended != EndReason.ANSWER else None  # a budget ran out
            self._finish(live, answer=answer, end_reason=EndReason.ANSWER, metadata=metadata)

    def decline(self, live: LiveEpisode, reason: str) -> None:
        """Decline after browsing ended (from the answer page): no step is added."""
        with self.lock:
            self._finish(live, answer=None, end_reason=reason)

    def abandon(self, episode_id: str) -> None:
        with self.lock:
            live = self._live.get(episode_id)
            quotes = live.quotes if live else self.store.get_episode(episode_id).quotes
            self.store.finish_episode(episode_id, quotes=quotes, answer=None, end_reason=EndReason.ABANDONED)
            self._live.pop(episode_id, None)

    def _finish(
        self, live: LiveEpisode, *, answer: AnswerRecord | None, end_reason: Any, metadata: dict | None = None
    ) -> None:
        self.store.finish_episode(
            live.id, quotes=live.quotes, answer=answer, end_reason=end_reason, metadata=metadata
        )
        self._live.pop(live.id, None)

    def undo(self, episode_id: str, index: int) -> LiveEpisode:
        """Take back step ``index``, the episode's last (a wrong quote, an ``End: Answer`` too soon): the
        step is deleted from the store and the episode is rebuilt by replaying the steps before it
        into a fresh environment, exactly as a restart resumes it. The environment itself has no undo;
        nothing of the step remains. ``ValueError`` if ``index`` is not the last step or the episode
        is finished; ``KeyError`` if there is no such episode."""
        with self.lock:
            self.store.remove_last_step(episode_id, index)
            self._live.pop(episode_id, None)
            return self.get(episode_id)

    def forget(self, episode_id: str) -> None:
        with self.lock:
            self._live.pop(episode_id, None)
