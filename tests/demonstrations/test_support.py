"""The demonstrator's support test: a passage must answer the question, not merely mention the answer."""

from __future__ import annotations

import pytest

from browser_env.page import Page
from browser_env.textmatch import locate_quote
from demonstrations.scripted.reading import best_sentence, search_queries, split_sentences
from demonstrations.scripted.similarity import QuestionSimilarity

RARITY = {"parthenon": 8.4, "athena": 7.5, "sanctuary": 6.8, "statue": 6.0, "inner": 5.7, "located": 3.3}


def rarity(word: str) -> float:
    return RARITY.get(word, 4.0)


def page(title: str, *paragraphs: str) -> Page:
    return Page(url="https://en.wikipedia.org/wiki/X", title=title, text="\n".join(paragraphs))


def test_a_ranking_question_needs_a_passage_that_ranks():
    question = "who has won the most f1 grand prix"
    mention = page(
        "Nürburgring",
        "After the first title of Michael Schumacher, a German F1 grand prix was held at the Nürburgring.",
    )
    assert best_sentence(mention, question, ["Michael Schumacher"]) is None
    ranks = page(
        "Formula One records",
        "Michael Schumacher won 91 F1 races, the most grand prix wins until 2020.",
    )
    assert best_sentence(ranks, question, ["Michael Schumacher"]) is not None


def test_numbers_inside_longer_numbers_and_percentages_are_not_the_answer():
    question = "how many episodes in season 3 of good witch"
    for text in (
        "Season 3 of Good Witch drew 10% more viewers per episode than season 2.",
        "Season 3 of Good Witch episodes averaged 10.4 million viewers.",
    ):
        assert best_sentence(page("Good Witch", text), question, ["10"]) is None
    right = page("Good Witch", "Season 3 of Good Witch has 10 episodes, first shown in 2017.")
    assert best_sentence(right, question, ["10"]) is not None


def test_an_answer_the_question_names_is_not_recognised():
    passage = page("Super Bowl", "The NFC Champion plays the AFC Champion in the Super Bowl each year.")
    assert best_sentence(passage, "who has more super bowl wins nfc or afc", ["NFC"]) is None


def test_a_rare_question_word_missing_refuses_the_passage():
    question = "the inner sanctuary of the parthenon where the statue of athena is located is known as the"
    elsewhere = page("Temple of Zeus", "The cella of the temple housed a great statue of Athena in gold.")
    assert best_sentence(elsewhere, question, ["cella"], weight=rarity) is None  # no Parthenon at all
    target = best_sentence(
        page("Parthenon", "The cella, the inner sanctuary, housed the statue of Athena Parthenos."),
        question,
        ["cella"],
        weight=rarity,
    )
    assert target is not None and "parthenon" in target.reason


def test_references_sections_are_not_support():
    question = "which part of asia is sri lanka in"
    back_matter = page(
        "Politics of Sri Lanka", "References", '"Party systems in Sri Lanka." Contemporary South Asia, 8 (1).'
    )
    assert best_sentence(back_matter, question, ["South Asia"]) is None
    body = page(
        "Sri Lanka", "Geography", "Sri Lanka is an island country in South Asia, in the Indian Ocean."
    )
    assert best_sentence(body, question, ["South Asia"]) is not None


def test_the_sentence_before_is_quoted_when_it_says_what_the_answer_is_about():
    question = "who plays hannibal in silence of the lambs"
    text = (
        "Demme first approached Sean Connery to play Hannibal Lecter. "
        "After the actor turned it down, Anthony Hopkins was offered the part."
    )
    film = page("The Silence of the Lambs (film)", "Casting", text)
    target = best_sentence(film, question, ["Anthony Hopkins"])
    assert target is not None
    assert target.sentence == text
    assert locate_quote(film.text, target.sentence) is not None


def test_the_meaning_check_refuses_what_the_word_rules_let_through():
    question = "who wrote the declaration of independence"
    passage = page(
        "Texas Declaration of Independence",
        "The Texas declaration of independence drew on the writings of John Locke and Thomas Jefferson.",
    )
    assert best_sentence(passage, question, ["Thomas Jefferson"]) is not None
    assert (
        best_sentence(
            passage, question, ["Thomas Jefferson"], similarity=lambda q, p: 0.2, min_similarity=0.5
        )
        is None
    )


@pytest.mark.slow
def test_passages_that_answer_sit_closer_to_the_question_than_mentions():
    similarity = QuestionSimilarity()
    question = "who was the captain of the mayflower"
    answers = similarity(
        question, "Mayflower: Christopher Jones was the master and captain of the Mayflower."
    )
    mentions = similarity(question, "Harwich: Christopher Jones street is named after a local merchant.")
    assert answers > mentions + 0.1


def test_the_narrowest_query_keeps_the_rarest_words_in_order():
    queries = search_queries("where is the statue of athena in the parthenon located", rarity)
    assert queries[0] == "where is the statue of athena in the parthenon located"
    assert queries[-1] == "statue athena parthenon"
    assert search_queries("who invented the telephone") == ["who invented the telephone"]


def test_each_refusal_says_why():
    misses: list[str] = []
    mention = page(
        "Nürburgring", "Michael Schumacher won the German F1 grand prix at the Nürburgring in 1995."
    )
    assert (
        best_sentence(mention, "who has won the most f1 grand prix", ["Michael Schumacher"], misses=misses)
        is None
    )
    assert misses == ["does not rank (all-time, highest, largest, most, record)"]
    misses.clear()
    elsewhere = page("Temple of Zeus", "The cella of the temple housed a great statue of Athena in gold.")
    question = "the inner sanctuary of the parthenon where the statue of athena is located is known as the"
    assert best_sentence(elsewhere, question, ["cella"], weight=rarity, misses=misses) is None
    assert len(misses) == 1 and "parthenon" in misses[0]


def test_split_sentences_ends_a_sentence_at_an_italic_title() -> None:
    paragraph = "In 1969 the band released _Abbey Road._ It topped the charts for weeks."
    assert split_sentences(paragraph) == [
        (0, "In 1969 the band released _Abbey Road."),
        (40, "It topped the charts for weeks."),
    ]


def test_split_sentences_does_not_end_a_sentence_at_an_initial_or_an_abbreviation() -> None:
    paragraph = "John F. Kennedy reached No. 1 in St. Louis.[4] He left in 1960."
    assert split_sentences(paragraph) == [
        (0, "John F. Kennedy reached No. 1 in St. Louis."),
        (47, "He left in 1960."),
    ]
