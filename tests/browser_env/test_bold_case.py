"""Stored articles: the capitals dumps write for bold, underscores for italics, image file names at
paragraph starts, galleries and category links."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from browser_env.bold_case import restore_bold_case
from browser_env.docstore import Document
from browser_env.memory_web import MemoryWeb
from browser_env.render_text import text_to_page

ALI = "MUHAMMAD RAMZAN ALI (born 13 December 1932) is a Pakistani former athlete."


def test_a_bold_title_is_written_as_the_title() -> None:
    assert restore_bold_case(ALI, "Muhammad Ramzan Ali").startswith("Muhammad Ramzan Ali (born 13 December")


def test_a_bold_run_mid_sentence_takes_the_casing_the_page_uses_elsewhere() -> None:
    text = "The ALKALI METALS are a group in the periodic table.\nAll the alkali metals react with water."
    assert restore_bold_case(text, "Alkali metal").split("\n")[0] == (
        "The alkali metals are a group in the periodic table."
    )


def test_a_run_that_starts_a_sentence_starts_with_a_capital() -> None:
    text = "LOCAL ELECTIONS were held in Cape Verde. The local elections were the first."
    assert restore_bold_case(text, "2008 Cape Verdean local elections").startswith(
        "Local elections were held"
    )


@pytest.mark.parametrize(
    "text",
    [
        "The agency is NASA, founded in 1958.",  # a single capitalised word that is not the title's
        "DO NOT REMOVE this line.",  # "remove" is written nowhere else, so its casing is unknown
        "Flags such as O_RDONLY O_WRONLY open the file.",  # identifiers with underscores
        "It was the CURTIS CUP MATCH.",  # "curtis" unknown: the run stays whole
    ],
)
def test_capitals_whose_casing_the_page_does_not_tell_stay(text: str) -> None:
    assert restore_bold_case(text, "Some page") == text


def test_short_unknown_words_stay_in_capitals_inside_a_restored_run() -> None:
    text = "The 2017 NCAA DIVISION I CHAMPIONSHIPS were held in Kentucky."
    restored = restore_bold_case(text, "2017 NCAA Division I Championships")
    assert restored == "The 2017 NCAA Division I Championships were held in Kentucky."


def test_a_single_capitalised_title_word_is_restored_but_not_a_short_one() -> None:
    assert (
        restore_bold_case("ABACÁ (_Musa textilis_) is a plant.", "Abacá")
        == "Abacá (_Musa textilis_) is a plant."
    )
    assert restore_bold_case("The UK won.", "Uk") == "The UK won."


def test_spacing_inside_table_lines_is_kept() -> None:
    text = "GOALS   FOR   AGAINST\n 3     1"
    assert restore_bold_case(text, "Goals for against") == "Goals   for   against\n 3     1"


def test_articles_lose_image_names_and_shouting_but_plain_text_keeps_them() -> None:
    text = (
        "102_Eaton_Square_06.jpg 102_Eaton_Square_04.jpg 102 EATON SQUARE is a listed house in"
        " Eaton Square.\n\n"
        "Map_of_London.png\n\nThe house was built in 1826."
    )
    article = text_to_page(
        text, "https://en.wikipedia.org/wiki/102_Eaton_Square", "102 Eaton Square", article=True
    )
    assert article.text == "102 Eaton Square is a listed house in Eaton Square.\nThe house was built in 1826."
    plain = text_to_page(text, "file:///notes.txt", "notes.txt")
    assert plain.text.startswith("102_Eaton_Square_06.jpg 102_Eaton_Square_04.jpg 102 EATON SQUARE")
    assert "Map_of_London.png" in plain.text


def test_articles_read_italics_plainly_but_identifiers_and_plain_text_keep_underscores() -> None:
    text = (
        "THE ENDLESS SUMMER is a 1966 surf film. _The Endless Summer_'s crew flew to Senegal.\n\n"
        "The aardvark (_Orycteropus afer_) digs. Flags such as O_RDONLY, __init__ and _start stay."
    )
    article = text_to_page(text, "https://w/The_Endless_Summer", "The Endless Summer", article=True)
    assert article.text == (
        "The Endless Summer is a 1966 surf film. The Endless Summer's crew flew to Senegal.\n"
        "The aardvark (Orycteropus afer) digs. Flags such as O_RDONLY, __init__ and _start stay."
    )
    plain = text_to_page(text, "file:///notes.txt", "notes.txt")
    assert "_The Endless Summer_'s" in plain.text
    assert "(_Orycteropus afer_)" in plain.text


def test_articles_lose_caption_ends_templates_and_empty_parentheses_but_keep_code() -> None:
    text = (
        "with a moving strip of LED lights]]\n\n"
        ".]] with avionics laid out]]\n\n(c. 1635).]] (c. 1697).]] Galleries end here.\n\n"
        "(1978)]] While small test programs existed, ''Hello World'' came later.\n\n"
        "ABDALLAH IBN GHANIYA () (died 1203) read _Billboard_{{'}}s chart.\n\n"
        "    x = a[b[1]]\n    main( ) {"
    )
    article = text_to_page(text, "https://w/Hello", "Abdallah ibn Ghaniya", article=True)
    assert article.text.split("\n") == [
        "Galleries end here.",
        "While small test programs existed, Hello World came later.",
        "Abdallah ibn Ghaniya (died 1203) read Billboard's chart.",
        "    x = a[b[1]]",
        "    main( ) {",
    ]
    assert text_to_page(text, "file:///notes.txt", "notes.txt").text.startswith(
        "with a moving strip of LED lights]]"
    )


def test_articles_lose_category_links_and_gallery_file_names_but_keep_captions_and_code() -> None:
    text = (
        "Shōwa was crowned in 1927.\n\n"
        "File:10sen taisho10.jpg|10 sen coin from 1921. File:10sen-S8.jpg%7C10 sen coin from 1933."
        " File:Blank.png\n\n"
        "| Gold | File:gold medal icon.svg | 3 |\n\n"
        '    open("File:a.png|b")\n\n'
        "Sources are listed at File:Notes.txt for readers.\n\n"
        "Category:1203 deaths Category:Berber rulers\n\n"
        "1_(number) Category:Integers"
    )
    article = text_to_page(text, "https://w/Sen", "10 sen coin", article=True)
    assert article.text.split("\n") == [
        "Shōwa was crowned in 1927.",
        "10 sen coin from 1921.",
        "10 sen coin from 1933.",
        "| Gold | | 3 |",
        '    open("File:a.png|b")',
        "Sources are listed at File:Notes.txt for readers.",
    ]
    plain = text_to_page(text, "file:///notes.txt", "notes.txt").text
    assert "Category:1203 deaths" in plain and "File:10sen taisho10.jpg|" in plain


def test_a_stored_article_is_shown_without_shouting() -> None:
    web = MemoryWeb(
        [Document(url="https://w/Ali", title="Muhammad Ramzan Ali", content=ALI, content_type="text")]
    )
    assert web.fetch("https://w/Ali").text.startswith("Muhammad Ramzan Ali (born")


def test_function_words_and_ordinals_lose_their_capitals() -> None:
    text = "By-elections FOR PRAGUE were held in the 147TH ELECTORAL DISTRICT, Prague's Electoral District."
    restored = restore_bold_case(text, "2004 Czech Senate by-elections")
    assert restored == (
        "By-elections for Prague were held in the 147th Electoral District, Prague's Electoral District."
    )


_WORDS = st.sampled_from(
    ["THE", "Alkali", "alkali", "METALS", "metals", "of", "NCAA", "İSTANBUL", "İstanbul", "1ST"]
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(_WORDS | st.text(max_size=6), max_size=12), max_size=6),
    st.lists(_WORDS, max_size=4),
)
def test_only_the_case_of_letters_ever_changes(lines: list[list[str]], title: list[str]) -> None:
    text = "\n".join(" ".join(words) for words in lines)
    restored = restore_bold_case(text, " ".join(title))
    assert restored.casefold() == text.casefold()
    assert restored.count("\n") == text.count("\n")
