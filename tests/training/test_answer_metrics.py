"""Every answer metric against hand-computed cases (a wrong formula fails here)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from demonstrations.formats import without_attributions
from training.answer_metrics import (
    answer_lead,
    cited_sentence_share,
    contains_gold,
    correct_within,
    exact_match,
    gold_in_cited_quote,
    gold_in_cited_source,
    mean,
    normalize_answer,
    score_answer,
    word_count,
)


@dataclass
class Q:
    text: str
    title: str = ""


def test_normalisation_drops_case_punctuation_articles_and_citations() -> None:
    assert normalize_answer("The Eiffel Tower, in Paris [1, 2]!") == "eiffel tower in paris"
    assert normalize_answer("  “An” apple—pie [3-4] ") == "applepie"


@pytest.mark.parametrize(
    ("answer", "golds", "exact", "contains"),
    [
        ("Gustave Eiffel [1].", ["Gustave Eiffel"], True, True),
        ("It was designed by Gustave Eiffel [1].", ["Gustave Eiffel"], False, True),
        ("Eiffel", ["Gustave Eiffel"], False, False),
        ("Gustave Eiffels company", ["Gustave Eiffel"], False, False),  # whole words only
        ("Gustave Eiffel's company [1].", ["Gustave Eiffel"], False, True),  # a possessive is the name
        ("Ender’s Game", ["Ender's Game"], True, True),
        ("the 1889 fair", ["1889"], False, True),
        ("", ["x"], False, False),
    ],
)
def test_exact_match_and_containment(answer: str, golds: list[str], exact: bool, contains: bool) -> None:
    assert exact_match(answer, golds) is exact
    assert contains_gold(answer, golds) is contains


def test_words_and_short_accuracy() -> None:
    assert word_count("It is 330 metres tall [1] [2].") == 5
    long = "Gustave Eiffel " + "word " * 39
    assert not correct_within(long, ["Gustave Eiffel"], 40)
    assert correct_within(long, ["Gustave Eiffel"], 41)


def test_cited_sentence_share_and_gold_in_a_cited_quote() -> None:
    assert cited_sentence_share("It is tall [1]. It is old and famous.") == 0.5
    assert cited_sentence_share("") is None
    quotes = [Q("It is 330 metres tall."), Q("Gustave Eiffel designed it.")]
    assert gold_in_cited_quote("Eiffel designed it [2].", ["Gustave Eiffel"], quotes)
    assert not gold_in_cited_quote("Eiffel designed it [1].", ["Gustave Eiffel"], quotes)
    assert not gold_in_cited_quote("Eiffel designed it [7].", ["Gustave Eiffel"], quotes)


def test_a_cited_quote_holds_the_gold_in_its_title_or_its_text() -> None:
    quotes = [Q("Smith won a fourth consecutive Gold Glove.", "Ozzie Smith"), Q("Gold Gloves.", "Gold Glove")]
    answer = "Smith [1]. According to Ozzie Smith, “Smith won a fourth consecutive Gold Glove” [1]."
    assert gold_in_cited_source(answer, ["Ozzie Smith"], quotes)
    assert not gold_in_cited_quote(answer, ["Ozzie Smith"], quotes)
    assert not gold_in_cited_source("Smith [2].", ["Ozzie Smith"], quotes)
    # a gold split between the title and the text is in neither
    assert not gold_in_cited_source("Ozzie [1].", ["Ozzie Smith Smith won"], quotes)
    score = score_answer(answer, ["Ozzie Smith"], quotes)
    assert score.correct and score.correct_and_sourced and not score.correct_and_cited
    wrong = score_answer("Gold Glove [2].", ["Ozzie Smith"], quotes)
    assert not wrong.correct_and_sourced


def test_score_answer_puts_it_together() -> None:
    quotes = [Q("Gustave Eiffel designed it.")]
    score = score_answer(
        "Gustave Eiffel designed it [1]. Paris.", ["Gustave Eiffel"], quotes, verified=[True]
    )
    assert score.correct and score.correct_short and score.has_citation and score.correct_and_cited
    assert score.words == 5 and score.cited_share == 1.0 and score.verified_share == 1.0
    declined = score_answer("I decline", ["x"], [], declined=True)
    assert declined.declined and not declined.correct and declined.cited_share is None


def test_mean_skips_missing_values() -> None:
    assert mean([True, False, None, 1.0]) == pytest.approx(2 / 3)
    assert mean([None]) is None


def test_quotes_hold_gold_whatever_the_answer_says() -> None:
    quotes = [Q("It is 330 metres tall."), Q("Gustave Eiffel designed it.")]
    wrong = score_answer("Paris designed it [1].", ["Gustave Eiffel"], quotes)
    assert wrong.gold_in_quotes and not wrong.correct and not wrong.correct_and_cited
    assert not score_answer("Paris [1].", ["Gustave Eiffel"], quotes[:1]).gold_in_quotes
    assert score_answer("", ["Gustave Eiffel"], quotes, declined=True).gold_in_quotes


def test_the_lead_is_right_only_when_the_answer_itself_holds_the_gold() -> None:
    quotes = [Q("Gustave Eiffel designed it.")]
    repeats = score_answer(
        "Paris [1]. According to Eiffel Tower, “Gustave Eiffel designed it” [1].", ["Gustave Eiffel"], quotes
    )
    assert repeats.correct and not repeats.lead_correct
    assert score_answer("Gustave Eiffel [1].", ["Gustave Eiffel"], quotes).lead_correct
    assert score_answer("Gustave Eiffel designed it.", ["Gustave Eiffel"], quotes).lead_correct
    assert answer_lead("Paris [1]. More [2].") == "Paris "


@pytest.mark.parametrize(
    ("answer", "verbatim"),
    [
        ("Eiffel [1]. According to Eiffel Tower, “named after the engineer Gustave Eiffel” [1].", True),
        ("Eiffel [1]. According to Eiffel Tower, “…named after the engineer…” [1].", True),
        ("Eiffel [1]. According to Eiffel Tower, “…It is named…whose company designed…” [1].", True),
        ("Eiffel [1]. According to Eiffel Tower, “named after the architect Gustave Eiffel” [1].", False),
        ("Eiffel [1]. According to Eiffel Tower, “named after…the architect” [1].", False),  # one piece off
        ('Eiffel [1]. It says "whose company designed and built the tower." [1]', True),
        ("Eiffel [1]. According to Eiffel Tower, “Eiffel’s company built it” [1].", True),  # curly = straight
        ("Gustave Eiffel [1].", None),  # quotes nothing
        ("Two [1]. According to T, “…in two years…” [1].", True),  # a footnote mark between its words
        ("Built [1]. According to T, “(as Eiffel's firm) it was built” [1].", True),  # one in parentheses
    ],
)
def test_excerpts_are_verbatim_only_when_every_piece_is_in_a_quote(
    answer: str, verbatim: bool | None
) -> None:
    from training.answer_metrics import excerpts_verbatim

    quotes = [
        Q("It is named after the engineer Gustave Eiffel, whose company designed and built the tower."),
        Q("Eiffel's company built it[3] in two years. (as Eiffel's firm[4]) it was built."),
    ]
    assert excerpts_verbatim(answer, quotes) is verbatim


def test_a_gold_answer_only_in_the_attributed_title_is_not_a_right_claim() -> None:
    quotes = [Q("He won a fourth consecutive Gold Glove in 1983.")]
    by_title = score_answer(
        "Smith [1]. According to Ozzie Smith, “He won a fourth consecutive Gold Glove in 1983” [1].",
        ["Ozzie Smith"],
        quotes,
    )
    assert by_title.correct and not by_title.claim_correct
    stated = score_answer(
        "Ozzie Smith [1]. According to Gold Glove Award, “Ozzie Smith won 13 at shortstop” [1].",
        ["Ozzie Smith"],
        quotes,
    )
    assert stated.claim_correct
    assert without_attributions("Paris [1]. According to France, “Its capital is Paris” [1].") == (
        "Paris [1]. “Its capital is Paris” [1]."
    )
    assert not score_answer("", ["Paris"], quotes, declined=True).claim_correct
