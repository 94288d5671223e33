from agent.question_scores import QuestionScores
from agent.sentence_ranker import SHIPPED_RANKER, SentenceRanker


def test_each_passage_is_scored_once_per_question_and_a_new_question_starts_afresh() -> None:
    calls: list[list[str]] = []

    def length(todo: list[str]) -> list[float]:
        calls.append(list(todo))
        return [float(len(text)) for text in todo]

    cache: QuestionScores[str] = QuestionScores()
    assert cache.get("q1", ["ab", "abc", "ab"], length) == [2.0, 3.0, 2.0]
    assert cache.get("q1", ["abc", "abcd"], length) == [3.0, 4.0]
    assert calls == [["ab", "abc"], ["abcd"]]
    assert cache.get("q2", ["ab"], length) == [2.0]
    assert calls[-1] == ["ab"]
    assert set(cache.scores) == {"ab"}  # the first question's scores are gone


def test_the_sentence_ranker_keeps_one_questions_scores() -> None:
    ranker = SentenceRanker.load(SHIPPED_RANKER)
    passages = [("Eiffel Tower", "It was designed by Gustave Eiffel's company."), ("Paris", "Paris is big.")]
    first = ranker.score("Who designed the Eiffel Tower?", passages)
    assert first[0] > first[1]
    assert ranker.score("Who designed the Eiffel Tower?", passages[:1]) == first[:1]
    ranker.score("How big is Paris?", passages[1:])
    assert len(ranker.kept_scores.scores) == 1


def test_a_scheduled_policy_forgets_its_scores_on_request() -> None:
    from agent.policies.scripted import ScriptedPolicy

    ranker = SentenceRanker.load(SHIPPED_RANKER)
    policy = ScriptedPolicy(ranker)
    ranker.score("Who designed the Eiffel Tower?", [("Eiffel Tower", "Gustave Eiffel's company built it.")])
    policy.forget_scores()
    assert ranker.kept_scores.scores == {}
