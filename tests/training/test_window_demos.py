"""Window demonstrations: the ranker's window schedule on training questions, kept where a quote holds
the gold, become browsing rows (and only browsing rows)."""

from __future__ import annotations

from pathlib import Path

from demonstrations.exports import bc_rows
from demonstrations.schemas import QuestionRecord
from demonstrations.store import EpisodeStore
from training.window_demos import window_demonstrations


def _question(text: str, gold: list[str]) -> QuestionRecord:
    return QuestionRecord(id=text[:16], question=text, gold_answers=gold, source="test")


def test_episodes_whose_quotes_hold_the_gold_are_kept_with_it(tiny_corpus, tmp_path: Path) -> None:
    asked = [
        _question("who is the eiffel tower named after", ["Gustave Eiffel"]),
        _question("who is the eiffel tower named after", ["Wolfgang Amadeus Mozart"]),  # never quoted
    ]
    seen: list[tuple[int, int]] = []
    with EpisodeStore(tmp_path / "window.sqlite") as store:
        summary = window_demonstrations(
            asked, tiny_corpus, store, on_question=lambda done, total, _: seen.append((done, total))
        )
        kept = list(store.iter_episodes())
    assert seen == [(1, 2), (2, 2)]
    assert summary.questions == 2 and summary.kept == 1 == len(kept)
    (episode,) = kept
    assert episode.gold_answers == ["Gustave Eiffel"] and episode.source == "scripted"
    assert episode.model_id == "ranker-window"
    assert any("Gustave Eiffel" in quote.text for quote in episode.quotes)
    commands = [step.command for step in episode.steps]
    assert commands[0] == "Search who is the eiffel tower named after"
    assert commands[-1] == "End: Answer" and sum(c.startswith("Quote: ") for c in commands) == 1
    assert summary.actions == len(episode.steps)
    assert summary.to_dict()["kept_share"] == 0.5

    rows = list(bc_rows(kept, include_answers=False))
    assert [r["completion"] for r in rows] == commands and {r["kind"] for r in rows} == {"browse"}
