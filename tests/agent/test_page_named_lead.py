"""A "who" answer quoting a person's page leads with the page's name, and only then."""

from __future__ import annotations

import pytest

from agent.page_named_lead import mention, name_of_page, page_named_lead
from demonstrations.schemas import QuoteRecord

SMITH = QuoteRecord(
    url="https://en.wikipedia.org/wiki/Ozzie_Smith",
    title="Ozzie Smith",
    domain="en.wikipedia.org",
    text="Smith was voted the starting shortstop in 1983, and at season's end won a fourth Gold Glove.",
)
BROWN = QuoteRecord(
    url="https://en.wikipedia.org/wiki/James_Brown",
    title="James Brown (singer)",
    domain="en.wikipedia.org",
    text="He toured widely. Having signed a new deal with King, Brown released his song "
    '"Papa\'s Got a Brand New Bag".',
)


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("Ozzie Smith", "Ozzie Smith"),
        ("James Brown (singer)", "James Brown"),
        ("Moctezuma II", "Moctezuma II"),
        ("Ludwig van Beethoven", "Ludwig van Beethoven"),
        ("Michelangelo", "Michelangelo"),
        ("September 11", None),
        ("Politics of Finland", None),
        ("Army football", None),
        ("List of Gold Glove Award winners", None),
        ("Kings of the Realm Beyond the Sea", None),
        ("iPhone", None),
    ],
)
def test_a_title_reads_as_a_name_or_not(title: str, name: str | None) -> None:
    assert name_of_page(title) == name


def test_the_mention_is_a_whole_capitalised_word_of_the_name() -> None:
    assert mention("Ozzie Smith", SMITH.text) == "Smith"
    assert mention("Ozzie Smith", "The smithy won.") is None
    assert mention("Jo Al", "Jo Al won.") is None  # words under three letters are not looked for


def test_a_surname_lead_becomes_the_page_name() -> None:
    answer = "Smith [1]. According to Ozzie Smith, “Smith was voted the starting shortstop in 1983” [1]."
    fixed = page_named_lead("who has the most gold gloves at shortstop", answer, [SMITH], 30)
    assert fixed.startswith("Ozzie Smith [1]. According to Ozzie Smith, “")
    assert "Smith was voted" in fixed and fixed.endswith("” [1].")


def test_another_name_of_the_sentence_gives_way_and_the_clause_follows_the_page_name() -> None:
    answer = "King [1]. According to James Brown (singer), “Having signed a new deal with King” [1]."
    fixed = page_named_lead("who wrote papa got a brand new bag", answer, [BROWN], 30)
    assert fixed.startswith("James Brown [1]. According to James Brown (singer), “Having signed")
    assert "Brown released" in fixed
    alone = "According to James Brown (singer), “He toured widely” [1]."
    named = page_named_lead("who wrote papa got a brand new bag", alone, [BROWN], 30)
    assert named.startswith("James Brown [1].")


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        # not a "who" question
        ("when did smith win a gold glove", "1983 [1]. According to Ozzie Smith, “in 1983” [1]."),
        # the question names the page: it is the subject, not the answer
        ("who did ozzie smith play for", "Padres [1]. According to Ozzie Smith, “Smith was voted” [1]."),
        # the lead already names it
        ("who has the most gold gloves", "Ozzie Smith [1]. According to Ozzie Smith, “Smith was voted” [1]."),
        # not the trained format
        ("who has the most gold gloves", "Smith won them [1]."),
        # a citation of no quote
        ("who has the most gold gloves", "Smith [3]. According to Ozzie Smith, “Smith was voted” [3]."),
    ],
)
def test_other_answers_stay_as_they_are(question: str, answer: str) -> None:
    assert page_named_lead(question, answer, [SMITH], 30) == answer


def test_a_page_its_quote_does_not_mention_is_not_named() -> None:
    quote = SMITH.model_copy(update={"text": "He won a fourth consecutive Gold Glove."})
    answer = "Gold Glove [1]. According to Ozzie Smith, “He won a fourth consecutive Gold Glove” [1]."
    assert page_named_lead("who has the most gold gloves", answer, [quote], 30) == answer
