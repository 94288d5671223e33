from __future__ import annotations

import pytest
import torch

from agent.answer import DECLINED, NOT_FOUND, ExtractiveAnswerer, ModelAnswerer, compose_answer, tidy
from agent.citations import attribute_citations, check_citations
from browser_env.docstore import Document
from browser_env.memory_web import MemoryWeb
from browser_env.protocol import parse_citations
from demonstrations.schemas import QuoteRecord

URL = "https://example.org/eiffel"
PAGE = "The Eiffel Tower is in Paris.\nIt is 330 metres tall, about the same height as an 81-storey building."


def quote(text: str, url: str = URL) -> QuoteRecord:
    return QuoteRecord(url=url, title="Eiffel Tower", domain="example.org", text=text)


@pytest.fixture
def web() -> MemoryWeb:
    return MemoryWeb([Document(URL, "Eiffel Tower", PAGE, "text")])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tall [1]. In Paris [2].", [1, 2]),
        ("Both [2, 1] and again [1].", [2, 1]),
        ("A range [1-3].", [1, 2, 3]),
        ("No citations here.", []),
        ("Not a citation [a] or [ 1 x].", []),
    ],
)
def test_parse_citations(text: str, expected: list[int]) -> None:
    assert parse_citations(text) == expected


def test_a_supported_answer_has_verified_references(web: MemoryWeb) -> None:
    quotes = [quote("It is 330 metres tall"), quote("The Eiffel Tower is in Paris.")]
    report = check_citations("It is 330 metres tall [1].", quotes, web)
    assert report.supported and report.problems == []
    assert [r.n for r in report.references] == [1, 2]
    assert report.references[0].cited and not report.references[1].cited
    assert all(r.verified for r in report.references)


def test_a_citation_to_a_missing_quote_is_flagged(web: MemoryWeb) -> None:
    report = check_citations("Tall [1] and old [3].", [quote("It is 330 metres tall")], web)
    assert not report.supported
    assert report.problems == ["[3] does not match any quote (there are 1: 1-1)"]


def test_an_answer_without_citations_is_flagged() -> None:
    report = check_citations("It is tall.", [quote("It is 330 metres tall")])
    assert not report.supported
    assert report.problems == ["the answer cites no quote; cite at least one, like [1]"]


def test_a_quote_no_longer_on_its_page_is_flagged(web: MemoryWeb) -> None:
    changed = MemoryWeb([Document(URL, "Eiffel Tower", "The page was rewritten.", "text")])
    quotes = [quote("It is 330 metres tall")]
    assert check_citations("Tall [1].", quotes, web).supported
    report = check_citations("Tall [1].", quotes, changed)
    assert not report.supported
    assert report.references[0].verified is False
    assert "the quote is not on its page" in report.problems[0]


def test_a_quote_whose_page_is_gone_is_flagged(web: MemoryWeb) -> None:
    report = check_citations(
        "Tall [1].", [quote("It is 330 metres tall", url="https://example.org/gone")], web
    )
    assert not report.supported
    assert "could not be loaded again" in report.problems[0]


@pytest.mark.parametrize("reason", ["nonsense", "controversial"])
def test_declines_are_clear(reason: str) -> None:
    answer = compose_answer("Q?", None, [], reason)
    assert answer.declined and answer.text == DECLINED[reason]
    assert answer.references == [] and not answer.supported


def test_no_quotes_gives_no_answer() -> None:
    for end in ("action_budget", "abandoned", "answer"):
        answer = compose_answer("Q?", "made up [1]", [], end)
        assert answer.declined and answer.text == NOT_FOUND


def test_an_empty_answer_is_flagged() -> None:
    answer = compose_answer("Q?", "", [quote("It is 330 metres tall")], "answer")
    assert not answer.supported and answer.problems[0] == "the answer is empty"


def test_attribution_cites_only_supported_sentences() -> None:
    quotes = [quote("The Eiffel Tower is in Paris."), quote("It is 330 metres tall, about the same height.")]
    attribution = attribute_citations(
        "The tower is 330 metres tall. Bananas grow on trees! It is in Paris [1].", quotes
    )
    assert attribution.text == "The tower is 330 metres tall [2]. Bananas grow on trees! It is in Paris [1]."
    assert attribution.automatic == (0,)


def test_tidy_cuts_an_unfinished_sentence() -> None:
    assert tidy("  It is tall [1]. It was built in ") == "It is tall [1]."
    assert tidy("It is tall [1]") == "It is tall [1]"


def test_extractive_answers_cite_every_quote() -> None:
    quotes = [quote("It is 330 metres tall."), quote("The Eiffel Tower is in Paris")]
    (text,) = ExtractiveAnswerer().write("Q?", quotes)
    assert parse_citations(text) == [1, 2]


def test_model_answers_are_sampled_in_one_batch_and_fit_the_context(tiny_lm_dir) -> None:
    from agent.models import load_causal_lm
    from agent.policies.engine import LMEngine

    engine = LMEngine(load_causal_lm(str(tiny_lm_dir), dtype="float32"))
    answerer = ModelAnswerer(engine, temperature=1.0, max_new_tokens=20, seed=0)
    quotes = [quote("word " * 5000)]  # far beyond the context window
    assert len(answerer.prompt_ids("Q?", quotes)) <= engine.loaded.context_window - 20
    marked = engine.tokenizer.decode(answerer.prompt_ids("Q?", [quote("It opened in 1889.[33] It is tall.")]))
    assert "It opened in 1889. It is tall." in marked and "[33]" not in marked
    before = engine.stats.generation_seconds
    texts = answerer.write("Q?", [quote("It is 330 metres tall.")], n=3)
    assert len(texts) == 3 and len(set(texts)) > 1
    assert engine.stats.generation_seconds > before


def test_a_sample_citing_nothing_never_replaces_an_answer_that_cites(tiny_lm_dir) -> None:
    from agent.answer import _Batch
    from agent.models import load_causal_lm
    from agent.policies.engine import LMEngine

    engine = LMEngine(load_causal_lm(str(tiny_lm_dir), dtype="float32"))
    answerer = ModelAnswerer(engine, temperature=1.0, max_new_tokens=20, seed=0)
    cited = "Cc [1]. According to Email, “Cc: Carbon copy” [1]."
    samples = {"cites nothing": ["C.", "C."], "one cites": ["C.", "Carbon copy [1]."]}
    for case, fresh in samples.items():
        answerer._sample = lambda batch, prefixes, n, fresh=fresh: [fresh]  # type: ignore[method-assign]
        texts = [[cited]]
        answerer._resample(texts, [(0, 0)], _Batch([[1]], [frozenset()], [[]]), "", 2)
        assert texts == [[cited if case == "cites nothing" else "Carbon copy [1]."]], case
    texts = [["Cc."]]  # an answer citing nothing may be replaced by anything kept
    answerer._resample(texts, [(0, 0)], _Batch([[1]], [frozenset()], [[]]), "", 2)
    assert texts == [["C."]]


def test_a_rejected_sample_takes_a_valid_siblings_place_before_any_new_sample(tiny_lm_dir) -> None:
    from agent.answer import _Batch
    from agent.models import load_causal_lm
    from agent.policies.engine import LMEngine

    engine = LMEngine(load_causal_lm(str(tiny_lm_dir), dtype="float32"))
    answerer = ModelAnswerer(engine, temperature=1.0, max_new_tokens=20, seed=0)
    drawn: list[int] = []

    def fresh(batch, prefixes, n):  # type: ignore[no-untyped-def]
        drawn.append(n)
        return [["New [1]."] * n for _ in prefixes]

    answerer._sample = fresh  # type: ignore[method-assign]
    batch = _Batch([[1], [2]], [frozenset()] * 2, [[], []])
    cites = lambda _, text: "[1]" in text  # noqa: E731
    texts = [["Stray [2].", "Kept [1].", "Echo [2].", "Also [1]."], ["Stray [2].", "No [2]."]]
    rejected = [(0, 0), (0, 2), (1, 0), (1, 1)]
    answerer._resample(texts, rejected, batch, "", 3, keep=cites, siblings=True)
    # the first prompt's siblings fill its rejected rows in turn; the second has none, so it samples
    assert texts == [["Kept [1].", "Kept [1].", "Also [1].", "Also [1]."], ["New [1].", "New [1]."]]
    assert drawn == [6]
    texts = [["Cited [2].", "uncited"]]  # a sibling citing nothing never replaces one that cites
    answerer._resample(texts, [(0, 0)], batch.rows([0]), "", 1, keep=lambda _, text: True, siblings=True)
    assert texts == [["New [1].", "uncited"]]
    texts = [["Stray [2].", "Kept [1].", "Echo [2].", "Also [1]."], ["Stray [2].", "No [2]."]]
    answerer._resample(texts, rejected, batch, "", 3, keep=cites)  # without siblings: all sampled again
    assert texts == [["New [1].", "Kept [1].", "New [1].", "Also [1]."], ["New [1].", "New [1]."]]


def test_only_a_candidate_for_a_pick_is_cut_when_it_runs_on_without_citing(tiny_lm_dir) -> None:
    from agent.answer import UNCITED_SAMPLE_WORDS
    from agent.models import load_causal_lm
    from agent.policies.engine import LMEngine

    engine = LMEngine(load_causal_lm(str(tiny_lm_dir), dtype="float32"))
    answerer = ModelAnswerer(engine, temperature=1.0, max_new_tokens=4, seed=0, clause_words=12)
    stops: list = []
    generate = engine.generate_batch

    def recording(prompts, *, n=1, **options):  # type: ignore[no-untyped-def]
        stops.append(options["stop"])
        return generate(prompts, n=n, **options)

    engine.generate_batch = recording  # type: ignore[method-assign]
    request = [("Q?", [quote("It is 330 metres tall.")])]

    def first_stop(n: int, picking: bool):  # type: ignore[no-untyped-def]
        stops.clear()
        answerer.write_many(request, n, picking=picking)
        return stops[0]  # the first batch's (retries come after)

    picked, sampled, one = first_stop(3, True), first_stop(3, False), first_stop(1, True)
    rambling, short = "word " * UNCITED_SAMPLE_WORDS, "word " * (UNCITED_SAMPLE_WORDS - 1)
    assert picked(0, rambling) and not picked(0, short)
    assert not one(0, rambling)  # one answer is decoded to its end: nothing could replace it
    assert not sampled(0, rambling)  # nor are samples that are not candidates of a pick (reward data)
    assert one(0, "330 metres [1]") and picked(0, "330 metres [1]") and sampled(0, "330 metres [1]")


def test_attribution_keeps_every_character() -> None:
    quotes = [quote("Dysprosium is a chemical element; it has symbol Dy and atomic number 66.")]
    answer = "Dysprosium (en.wikipedia.org)\nDysprosium has atomic number 66.  Done!"
    assert attribute_citations(answer, quotes).text == (
        "Dysprosium (en.wikipedia.org)\nDysprosium has atomic number 66 [1].  Done!"
    )


def test_an_answer_with_an_uncited_sentence_is_not_supported(web: MemoryWeb) -> None:
    quotes = [quote("It is 330 metres tall")]
    answer = compose_answer(
        "Q?", "Gustave Eiffel designed it [1]. The moon is made of cheese.", quotes, "answer", web
    )
    assert not answer.supported
    assert [(s.text, s.citations) for s in answer.sentences] == [
        ("Gustave Eiffel designed it [1].", (1,)),
        ("The moon is made of cheese.", ()),
    ]
    assert answer.problems == ["this sentence cites no quote: 'The moon is made of cheese.'"]


def test_automatic_citations_are_counted_apart(web: MemoryWeb) -> None:
    quotes = [quote("It is 330 metres tall")]
    written = compose_answer("Q?", "It is 330 metres tall [1].", quotes, "answer", web, attribute=True)
    added = compose_answer("Q?", "It is 330 metres tall.", quotes, "answer", web, attribute=True)
    assert written.supported and written.automatic_citations == 0
    assert added.supported and added.text == "It is 330 metres tall [1]." and added.automatic_citations == 1
    assert [s.automatic for s in added.sentences] == [True]


def test_a_quote_altered_after_it_was_taken_does_not_verify(web: MemoryWeb) -> None:
    page = web.fetch(URL)
    start = page.text.index("330 metres")
    honest = QuoteRecord(
        url=URL,
        title="Eiffel Tower",
        text="330 metres",
        start=start,
        end=start + 10,
        page_sha256=page.text_sha256,
    )
    assert check_citations("Tall [1].", [honest], web).supported
    moved = honest.model_copy(update={"start": 0, "end": 10})  # same text, claimed at another place
    report = check_citations("Tall [1].", [moved], web)
    assert not report.supported and "not the text at its recorded place" in report.problems[0]


GOLD = QuoteRecord(
    url="https://en.wikipedia.org/wiki/Gold", title="Gold", domain="en.wikipedia.org", text="Au"
)


@pytest.mark.parametrize(
    ("text", "finished"),
    [
        ("Paris is the capital", False),
        ("Gold (en.wikipedia.org)\n", False),
        ("Gold (en.wikipedia.org)\nGold is a metal [1].", False),
        ("Gold (en.wikipedia.org)\nGold is a metal [1].\n", True),
        ("Gold (en.wikipedia.org)\nGold (en.wikipedia.org)\n", True),
        ("Paris [1]. ♦Question", True),
        ("Gold is yellow (en.wikipedia.org).\n", True),
    ],
)
def test_answers_are_one_paragraph(text: str, finished: bool) -> None:
    from agent.answer import answer_finished

    assert answer_finished(text, [GOLD]) is finished


def test_a_copied_header_that_asks_a_question_does_not_finish_the_answer() -> None:
    from agent.answer import answer_finished

    quote = QuoteRecord(url=URL, title="Is gold a metal? Facts", domain="example.org", text="Yes.")
    assert answer_finished("[1] Is gold a metal? Facts (example.org)\n", [quote]) is False
    assert answer_finished("Is gold a metal? Yes [1].\n", [quote]) is True


def test_copied_headers_and_repeats_are_cleaned() -> None:
    from agent.answer import clean_answer

    text = (
        "Gold (en.wikipedia.org)\n[1] Gold (en.wikipedia.org)\nGold is a metal [1].\nGold is a metal [1].\n♦Q"
    )
    assert clean_answer(text, [GOLD]) == "Gold is a metal [1]."
    assert clean_answer("Paris is the capital (of France) [1].") == "Paris is the capital (of France) [1]."


@pytest.mark.parametrize(
    "text",
    [
        "Python is maintained by the PSF (python.org)",
        "Python is maintained by the PSF (python.org).",
        "Gold is a metal (en.wikipedia.org)",
        "Gold is a metal [1] (en.wikipedia.org)",
        "[1] Gold is a dense metal (en.wikipedia.org)",
        "Its symbol is Au (from the Latin aurum, see latin.example.org) [1].",
        "Gold (en.wikipedia.org",
        "Gold",
    ],
)
def test_answers_that_mention_a_domain_in_parentheses_are_kept(text: str) -> None:
    from agent.answer import clean_answer

    assert clean_answer(text) == text
    assert clean_answer(text, [GOLD]) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Gold is a metal [1].\n[1] Gold (en.wikipedia.org)", "Gold is a metal [1]."),
        ("Gold is a metal [1].\nGold (en.wikipedia.org)\n", "Gold is a metal [1]."),
        ("[2] gold  (EN.wikipedia.org)\nGold is a metal [1].", "Gold is a metal [1]."),
        ("[1]Gold (en.wikipedia.org)\nGold is a metal [1].", "Gold is a metal [1]."),
        ("Gold (en.wikipedia.org)", ""),
        ("Gold is a metal [1].\nSilver (en.wikipedia.org)", "Gold is a metal [1]. Silver (en.wikipedia.org)"),
    ],
)
def test_only_copies_of_the_quote_headers_are_removed(text: str, expected: str) -> None:
    from agent.answer import clean_answer

    assert clean_answer(text, [GOLD]) == expected


def test_a_bare_title_is_a_header_only_with_its_number() -> None:
    from agent.answer import clean_answer

    quote = QuoteRecord(url=URL, title="Paris", domain="", text="Paris is the capital of France.")
    assert clean_answer("[1] Paris\nParis", [quote]) == "Paris"


@pytest.mark.parametrize(
    "device",
    ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA"))],
)
def test_model_answers_are_sampled_on_the_models_device(tiny_lm_dir, device: str) -> None:
    from agent.models import load_causal_lm
    from agent.policies.engine import LMEngine

    engine = LMEngine(load_causal_lm(str(tiny_lm_dir), device=device, dtype="float32"))
    quotes = [quote("It is 330 metres tall.")]
    answerer = ModelAnswerer(engine, temperature=1.0, max_new_tokens=12, seed=0)
    assert answerer.generator.device == engine.model.device
    texts = answerer.write("Q?", quotes, n=3)
    again = ModelAnswerer(engine, temperature=1.0, max_new_tokens=12, seed=0).write("Q?", quotes, n=3)
    assert texts == again and len(set(texts)) > 1


@pytest.mark.parametrize(
    ("answer", "question", "echoes"),
    [
        ("Eiffel Tower [1]. According to Eiffel Tower, …", "Who designed the Eiffel Tower?", True),
        ("The towers [1].", "Who designed the Eiffel Tower?", True),  # plural and article do not hide it
        ("Gustave Eiffel [1].", "Who designed the Eiffel Tower?", False),
        ("Batman [1].", "who came out first batman or spider man", False),  # a choice the question offers
        ("[1] nothing before the citation", "Who designed the Eiffel Tower?", False),
    ],
)
def test_an_answer_that_only_repeats_the_question_is_recognised(
    answer: str, question: str, echoes: bool
) -> None:
    from agent.answer import echoes_question

    assert echoes_question(answer, question) is echoes


@pytest.mark.parametrize(
    ("answer", "held"),
    [
        ("Gustave Eiffel [1]. According to Eiffel Tower, “…” [1].", True),
        ("Stephen Sauvestre [2].", True),  # the second quote names him
        ("Stephen Sauvestre [1].", False),  # the first does not
        ("D. H. Lawrence [1].", False),  # a name no quote holds
        ("the tower [1].", True),  # the title holds it
        ("1889 [1].", True),
        ("1887 [1].", False),
        ("[1] nothing before the citation", True),
        ("Paris [3].", True),  # cites no quote given: nothing to check
        ("No citation at all.", True),
        ("Orycteropus [2].", True),  # italics' underscores do not hide a word
    ],
)
def test_a_short_answer_is_checked_against_the_quote_it_cites(answer: str, held: bool) -> None:
    from agent.answer import lead_in_cited_quote

    quotes = [
        quote("The tower was designed by Gustave Eiffel's company and opened in 1889.[3]"),
        quote("Stephen Sauvestre drew the arches of the _Orycteropus_ house."),
    ]
    assert lead_in_cited_quote(answer, quotes) is held


def test_a_short_answer_may_take_a_choice_the_question_offers() -> None:
    from agent.answer import lead_in_cited_quote

    quotes = [quote("The company merged with two of its bottlers in 1986.")]
    assert lead_in_cited_quote("Public [1].", quotes, "is coca cola a public or private company")
    assert not lead_in_cited_quote("Public [1].", quotes, "what kind of company is coca cola")


def test_the_answer_model_reads_quotes_without_their_sources_footnote_marks() -> None:
    from demonstrations.formats import without_footnotes

    assert without_footnotes("It was uploaded in 2017.[33] It was screened [34][35] in Chicago.") == (
        "It was uploaded in 2017. It was screened in Chicago."
    )
    assert without_footnotes("No marks here.") == "No marks here."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the lead and its citation kept, the rest copied from quote 1, whatever the model went on with
        (
            "Gustave Eiffel [1]. According to Eifel, “designed by Eiffel’s firm” [1].",
            "Gustave Eiffel [1]. According to Eiffel Tower, “…tower was designed by the engineer "
            "Gustave Eiffel, whose company built it in 1889” [1].",
        ),
        # the lead's own full stop or comma dropped: the citation's stop follows
        (
            "Gustave Eiffel. [1]",
            "Gustave Eiffel [1]. According to Eiffel Tower, “…tower was designed by the engineer "
            "Gustave Eiffel, whose company built it in 1889” [1].",
        ),
        (
            "in 1889, [1]",
            "in 1889 [1]. According to Eiffel Tower, “…tower was designed by the engineer Gustave Eiffel, "
            "whose company built it in 1889” [1].",
        ),
        # the model wrote a clause of its own before citing: the lead is what comes before it
        (
            "Gustave Eiffel. According to Eiffel Tower, “The tower was designed” [1].",
            "Gustave Eiffel [1]. According to Eiffel Tower, “…tower was designed by the engineer "
            "Gustave Eiffel, whose company built it in 1889” [1].",
        ),
        ("According to Eiffel Tower, “The tower” [1].", "According to Eiffel Tower, “The tower” [1]."),
        (
            "Built according to plan. [1]",
            "Built according to plan [1]. According to Eiffel Tower, “The tower was designed by the engineer "
            "Gustave Eiffel, whose company built it in…” [1].",  # in prose, "according to" stays
        ),
        ("1889 [1", "1889 [1"),  # no finished citation: as written
        ("It is in Paris.", "It is in Paris."),  # nothing cited: as written
        ("[1] Paris", "[1] Paris"),  # no lead before the citation
        ("Paris [3].", "Paris [3]."),  # a quote that does not exist
    ],
)
def test_a_composed_answer_copies_its_clause_from_the_cited_quote(text: str, expected: str) -> None:
    from agent.answer import compose_cited

    quotes = [
        quote("The tower was designed by the engineer Gustave Eiffel, whose company built it in 1889.[4]")
    ]
    assert compose_cited(text, quotes, clause_words=14) == expected


def test_a_lead_keeps_the_full_stop_of_an_abbreviation() -> None:
    from agent.answer import _without_end_mark

    assert _without_end_mark(" Paris. ") == "Paris"
    assert _without_end_mark("Washington, D.C.") == "Washington, D.C."
    assert _without_end_mark("John Smith Jr.") == "John Smith Jr."
    assert _without_end_mark("the U.S.") == "the U.S."


def test_a_composed_clause_is_the_window_around_the_lead_or_the_quotes_start() -> None:
    from demonstrations.formats import cited_answer

    text = " ".join(f"w{i}" for i in range(40))
    assert cited_answer("w20", 2, "T", text, 9) == (
        "w20 [2]. According to T, “…w17 w18 w19 w20 w21 w22 w23 w24 w25…” [2]."
    )
    assert cited_answer("absent", 1, "T", text, 3) == "absent [1]. According to T, “w0 w1 w2…” [1]."
    assert (
        cited_answer("1889", 1, "T", "Built in 1889.", 30) == "1889 [1]. According to T, “Built in 1889” [1]."
    )


@pytest.mark.slow
def test_the_shipped_answer_model_writes_the_lead_and_the_quote_supplies_the_rest(default_model_dir) -> None:
    from agent.policies import load_agent
    from training.answer_metrics import excerpts_verbatim

    agent = load_agent(seed=0)
    answerer, stats = agent.answerer, agent.answerer.engine.stats
    assert answerer.clause_words == 30  # the shipped checkpoint's setting
    source = quote(
        "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France. It is named "
        "after the engineer Gustave Eiffel, whose company designed and built the tower from 1887 to 1889."
    )
    before = stats.generated_tokens
    (composed,) = answerer.write("Who designed the Eiffel Tower?", [source])
    composed_tokens = stats.generated_tokens - before
    lead, _, rest = composed.partition(" [1]. According to Eiffel Tower, “")
    assert lead and rest.endswith("” [1].") and excerpts_verbatim(composed, [source]) is True
    answerer.clause_words = None
    before = stats.generated_tokens
    (written,) = answerer.write("Who designed the Eiffel Tower?", [source])
    assert written.startswith(f"{lead} [1]")  # the same lead, greedy
    assert stats.generated_tokens - before > 2 * composed_tokens  # the model no longer copies the clause


@pytest.mark.slow
def test_an_answer_that_keeps_repeating_the_question_is_written_again_starting_elsewhere(
    default_model_dir,
) -> None:
    from agent.answer import echoes_question
    from agent.policies import load_agent

    answerer = load_agent(seed=0).answerer
    question = "Who wrote the novel Moby-Dick?"
    # the quote names the novel, its title the author: the model's first choice repeats the question
    source = wikipedia_quote(
        "Herman Melville", "Moby-Dick would eventually be considered one of the Great American Novels."
    )
    answers = answerer.write(question, [source]) + answerer.write(question, [source], 3)
    assert all(answer.startswith("Herman Melville [1].") for answer in answers)
    assert not any(echoes_question(answer, question) for answer in answers)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            "Finite [1]. According to History of the Comoros, “On 23 November 1996, …” [1].",
            "According to History of the Comoros, “On 23 November 1996, …” [1].",
        ),
        ("Finite [1].", "Finite [1]."),  # no attributed clause to fall back on: unchanged
        ("No citation at all.", "No citation at all."),
    ],
)
def test_an_answer_can_lose_its_short_answer_and_keep_its_quoted_clause(answer: str, expected: str) -> None:
    from agent.answer import without_lead
    from browser_env.protocol import answer_lead

    assert without_lead(answer) == expected
    if expected.startswith("According to"):
        assert answer_lead(expected) == ""  # what remains states only the quote


COMOROS = (
    "On 23 November 1996, Ethiopian Airlines Flight 961 crashed near a beach on the island after it "
    "was hijacked and ran out of fuel killing 125 people and leaving 50 survivors."
)
BEETHOVEN = (
    "Regarded as one of the greatest composers in the history of Western music, he was mentored during "
    "the Classical period, and his musical style was a key driver of the transition to Romantic music."
)


@pytest.mark.parametrize(
    ("question", "title", "text", "answer", "kept"),
    [
        (  # a word the quote does not hold: only the quote's clause stays
            "ethiopia flight 961 crashes in to the sea",
            "History of the Comoros",
            COMOROS,
            "Finite [1]. According to History of the Comoros, “On 23 November 1996, Ethiopian…” [1].",
            False,
        ),
        (  # held by the quote: stays
            "ethiopia flight 961 crashes in to the sea",
            "History of the Comoros",
            COMOROS,
            "23 November 1996 [1]. According to History of the Comoros, “On 23 November 1996…” [1].",
            True,
        ),
        (  # the clause copied in front of itself is no short answer
            "Who composed the Moonlight Sonata?",
            "Ludwig van Beethoven",
            BEETHOVEN,
            "Regarded as one of the greatest composers in the history of Western music, he was mentored [1]. "
            "According to Ludwig van Beethoven, “Regarded as one of the greatest composers in the history of "
            "Western music, he was…” [1].",
            False,
        ),
        (  # the page's title holds it
            "Who composed the Moonlight Sonata?",
            "Ludwig van Beethoven",
            BEETHOVEN,
            "Ludwig van Beethoven [1]. According to Ludwig van Beethoven, “Regarded as one…” [1].",
            True,
        ),
    ],
)
def test_a_short_answer_stays_only_when_its_quote_holds_it_and_it_is_not_the_clause_again(
    question: str, title: str, text: str, answer: str, kept: bool
) -> None:
    from agent.answer import grounded_lead, without_lead

    result = grounded_lead(answer, [wikipedia_quote(title, text)], question)
    assert result == (answer if kept else without_lead(answer))
    assert kept or result.startswith(f"According to {title}, “")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "title", "text"),
    [
        ("ethiopia flight 961 crashes in to the sea", "History of the Comoros", COMOROS),
        ("Who composed the Moonlight Sonata?", "Ludwig van Beethoven", BEETHOVEN),
    ],
)
def test_the_model_s_short_answer_is_one_its_quote_holds_or_none(
    default_model_dir, question: str, title: str, text: str
) -> None:
    """Whatever the shipped model writes here (its greedy words vary with the processor's bf16
    rounding: "Finite", "Ethiopia" or the clause again), the answer keeps only a short answer its quote
    holds, never the clause copied in front of itself, and its clause is the quote's words."""
    from agent.answer import lead_copies_clause, lead_in_cited_quote
    from agent.policies import load_agent
    from training.answer_metrics import excerpts_verbatim

    answerer = load_agent(seed=0).answerer
    source = wikipedia_quote(title, text)
    (answer,) = answerer.write(question, [source])
    assert f"According to {title}, “" in answer and answer.endswith("” [1].")
    assert lead_in_cited_quote(answer, [source], question) and not lead_copies_clause(answer)
    assert excerpts_verbatim(answer, [source])


@pytest.mark.parametrize(
    ("answer", "copies"),
    [
        (
            "Regarded as one of the greatest composers in the history of Western music, he was mentored [1]. "
            "According to Ludwig van Beethoven, “Regarded as one of the greatest composers in the history of "
            "Western music, he was…” [1].",
            True,
        ),
        (  # a list of names is a short answer, even a long one the clause holds
            "Kelli Giddish, Richard Belzer, Stephanie March, Diane Neal, Ice-T [1]. "
            "According to Law & Order, “Kelli Giddish, Richard Belzer, Stephanie March, Diane Neal, Ice-T "
            "and others star” [1].",
            False,
        ),
        (
            "Gustave Eiffel [1]. According to Eiffel Tower, “It is named after the engineer Gustave Eiffel” "
            "[1].",
            False,
        ),
        (  # long and in lower case, but not the clause's words
            "a wrought-iron lattice tower on the Champ de Mars in Paris [1]. "
            "According to Eiffel Tower, “It is named after the engineer Gustave Eiffel, whose company "
            "designed and built the tower” [1].",
            False,
        ),
        (
            "Regarded as one of the greatest composers in the history of Western music [1].",
            False,
        ),  # no clause
    ],
)
def test_a_lead_that_only_copies_its_clause_is_told_from_a_short_answer(answer: str, copies: bool) -> None:
    from agent.answer import lead_copies_clause

    assert lead_copies_clause(answer) is copies


def wikipedia_quote(title: str, text: str) -> QuoteRecord:
    """A quote of the Wikipedia article ``title``."""
    return QuoteRecord(
        url=f"https://en.wikipedia.org/wiki/{title.replace(' ', '_')}",
        title=title,
        domain="en.wikipedia.org",
        text=text,
    )
