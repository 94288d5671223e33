"""Rejection sampling: n episodes per training question, the reward model's pick kept as a demonstration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from demonstrations.exports import bc_rows
from demonstrations.splits import split_of
from demonstrations.store import EpisodeStore
from training.rejection_sampling import RSConfig, rejection_sample

QUESTIONS = [
    {"question": "who is the eiffel tower named after", "answer": ["Gustave Eiffel"]},
    {"question": "what is the capital and most populous city of france", "answer": ["Paris"]},
    {"question": "when was the eiffel tower constructed", "answer": ["1887"]},
    {"question": "what did alexandre gustave eiffel contribute to", "answer": ["Statue of Liberty"]},
]


@pytest.fixture
def questions(tmp_path: Path) -> Path:
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS), encoding="utf-8")
    return path


def scripted_config(questions: Path, corpus, folder: Path, **settings) -> RSConfig:
    """Scripted sampling over ``questions``, winners and every candidate stored in ``folder``."""
    return RSConfig(
        questions=str(questions),
        corpus=corpus.name,
        policy="scripted",
        store=str(folder / "kept.sqlite"),
        candidates_store=str(folder / "all.sqlite"),
        **settings,
    )


def test_the_best_of_n_is_kept_with_its_gold_and_every_candidate_too(
    tiny_corpus, questions: Path, tiny_rm_dir: Path, tmp_path: Path
) -> None:
    train = [q["question"] for q in QUESTIONS if split_of(q["question"]) == "train"]
    config = scripted_config(
        questions,
        tiny_corpus,
        tmp_path,
        n=2,
        reward_model=str(tiny_rm_dir),
        require_correct=False,
        temperature=1.0,
    )
    summary = rejection_sample(config)
    assert summary.questions == len(train) and summary.candidates == 2 * len(train)
    with EpisodeStore(tmp_path / "kept.sqlite") as store:
        kept = list(store.iter_episodes())
    with EpisodeStore(tmp_path / "all.sqlite") as store:
        everything = list(store.iter_episodes())
    assert len(everything) == 2 * len(train) and all(
        e.metadata["reward"] is not None for e in everything if e.answer
    )
    assert {e.question for e in kept} <= set(train)  # never a test-split question
    assert all(e.metadata["chosen"] and e.gold_answers and e.source == "model" for e in kept)
    assert any(row["kind"] == "answer" for row in bc_rows(kept))


def test_require_correct_keeps_only_winners_that_cite_their_gold(
    tiny_corpus, questions: Path, tmp_path: Path
) -> None:
    config = RSConfig(
        questions=str(questions),
        corpus=tiny_corpus.name,
        policy="scripted",
        n=1,
        store=str(tmp_path / "kept.sqlite"),
    )
    progress: list[tuple[int, int, int]] = []
    summary = rejection_sample(config, on_question=lambda d, t, s: progress.append((d, t, s.kept)))
    with EpisodeStore(tmp_path / "kept.sqlite") as store:
        kept = list(store.iter_episodes())
    assert summary.kept == len(kept) == summary.correct_winners
    total = summary.questions
    assert [(d, t) for d, t, _ in progress] == [(d, total) for d in range(1, total + 1)]
    assert progress[-1][2] == summary.kept
    for episode in kept:
        assert any(g.lower() in episode.answer.text.lower() for g in episode.gold_answers)


def test_settings_that_cannot_work_are_refused(questions: Path) -> None:
    with pytest.raises(ValueError, match="reward_model"):
        RSConfig(questions=str(questions), n=4)
    with pytest.raises(ValueError, match="n must be"):
        RSConfig(questions=str(questions), n=0)
    with pytest.raises(ValueError, match="pick is reward or gold"):
        RSConfig(questions=str(questions), n=4, pick="longest")
    RSConfig(questions=str(questions), n=4, pick="gold")  # no reward model needed


def test_picking_against_the_gold_keeps_every_question_some_candidate_gets_right(
    tiny_corpus, questions: Path, tmp_path: Path
) -> None:
    from training.answer_metrics import score_answer

    config = scripted_config(questions, tiny_corpus, tmp_path, n=3, pick="gold", temperature=1.0)
    summary = rejection_sample(config)
    with EpisodeStore(tmp_path / "kept.sqlite") as store:
        kept = {e.question: e for e in store.iter_episodes()}
    with EpisodeStore(tmp_path / "all.sqlite") as store:
        candidates = [e for e in store.iter_episodes() if e.answer]
    right: dict[str, tuple[float, object]] = {}
    for episode in candidates:  # in sampling order: the earliest of the best wins
        score = score_answer(episode.answer.text, episode.gold_answers, episode.quotes)
        value = float(score.correct_and_cited) * (1 + float(score.lead_correct))
        if value and value > right.get(episode.question, (0.0, None))[0]:
            right[episode.question] = (value, episode)
    assert right, "the scripted demonstrator answers some tiny-corpus question right"
    assert summary.kept == len(kept) == len(right) == summary.correct_winners
    for question, episode in kept.items():
        assert episode.answer.text == right[question][1].answer.text  # type: ignore[attr-defined]


def test_reachable_keeps_only_the_questions_bm25_reaches(
    tiny_corpus, questions: Path, tmp_path: Path
) -> None:
    train = [q["question"] for q in QUESTIONS if split_of(q["question"]) == "train"]
    assert len(train) >= 2  # so that leaving one out shows
    reachable = tmp_path / "reachable.json"
    reachable.write_text(json.dumps({q: k == 0 for k, q in enumerate(train)}), encoding="utf-8")
    config = scripted_config(questions, tiny_corpus, tmp_path, n=1, reachable=str(reachable))
    summary = rejection_sample(config)
    with EpisodeStore(tmp_path / "all.sqlite") as store:
        sampled = {e.question for e in store.iter_episodes()}
    assert summary.questions == 1 and sampled == {train[0]}


def test_a_corrupt_reachable_cache_is_refused_clearly(tiny_corpus, questions: Path, tmp_path: Path) -> None:
    reachable = tmp_path / "reachable.json"
    reachable.write_text('{"who is', encoding="utf-8")  # cut mid-write
    config = scripted_config(questions, tiny_corpus, tmp_path, n=1, reachable=str(reachable))
    with pytest.raises(ValueError, match="not a reachable cache"):
        rejection_sample(config)
    reachable.write_text("[]", encoding="utf-8")
    with pytest.raises(ValueError, match="not a reachable cache"):
        rejection_sample(config)


def test_require_lead_correct_drops_answers_right_only_through_their_quote(questions: Path) -> None:
    from training.answer_metrics import score_answer
    from training.rejection_sampling import keeps

    class Quote:
        title, domain, text = "Eiffel Tower", "example.org", "It is named after the engineer Gustave Eiffel."

    golds = ["Gustave Eiffel"]
    led = score_answer(
        "Gustave Eiffel [1]. It is named after the engineer Gustave Eiffel [1].", golds, [Quote()]
    )
    echoed = score_answer(
        "The tower [1]. It is named after the engineer Gustave Eiffel [1].", golds, [Quote()]
    )
    wrong = score_answer("Paris [1].", golds, [Quote()])
    default = RSConfig(questions=str(questions), n=1)
    strict = RSConfig(questions=str(questions), n=1, require_lead_correct=True)
    anything = RSConfig(questions=str(questions), n=1, require_correct=False)
    assert [keeps(s, default) for s in (led, echoed, wrong)] == [True, True, False]
    assert [keeps(s, strict) for s in (led, echoed, wrong)] == [True, False, False]
    assert [keeps(s, anything) for s in (led, echoed, wrong)] == [True, True, True]


def test_browsing_once_samples_every_candidate_answer_from_one_episode(
    tiny_corpus, questions: Path, tmp_path: Path
) -> None:
    for once in (False, True):
        folder = tmp_path / str(once)
        config = scripted_config(
            questions, tiny_corpus, folder, n=3, pick="gold", temperature=1.0, browse_once=once
        )
        rejection_sample(config)
        with EpisodeStore(folder / "all.sqlite") as store:
            candidates = list(store.iter_episodes())
        by_question: dict[str, list] = {}
        for episode in candidates:
            by_question.setdefault(episode.question, []).append(episode)
        assert by_question and all(len(group) == 3 for group in by_question.values())
        episodes = {(e.question, e.metadata["episode"]) for e in candidates}
        samples = sorted(e.metadata["sample"] for e in candidates)
        if once:  # one episode per question, its three answers
            assert len(episodes) == len(by_question) and samples == sorted([0, 1, 2] * len(by_question))
        else:  # three episodes per question, one answer each
            assert len(episodes) == 3 * len(by_question) and set(samples) == {0}


def test_candidates_are_sampled_as_data_not_as_a_pick(
    tiny_corpus, questions: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agent.best_of_n as module

    picking: list[bool] = []
    real = module.best_of_n

    def spy(*args, **options):  # type: ignore[no-untyped-def]
        picking.append(options["picking"])
        return real(*args, **options)

    monkeypatch.setattr(module, "best_of_n", spy)
    rejection_sample(scripted_config(questions, tiny_corpus, tmp_path, n=2, pick="gold", browse_once=True))
    # every answer sampled afresh: no sibling reuse, no cut (agent.answer.ModelAnswerer.write_many)
    assert picking and not any(picking)


def test_browsing_once_is_refused_for_a_policy_that_samples_its_steps(
    tiny_corpus, questions: Path, tiny_lm_dir: Path, tmp_path: Path
) -> None:
    config = RSConfig(
        questions=str(questions),
        corpus=tiny_corpus.name,
        policy=str(tiny_lm_dir),
        mode="free",
        n=2,
        pick="gold",
        browse_once=True,
        store=str(tmp_path / "kept.sqlite"),
    )
    with pytest.raises(ValueError, match="browses the same way every time"):
        rejection_sample(config)
