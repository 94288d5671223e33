"""Passages, snippets, rank fusion and local search (BM25, MiniLM vectors, hybrid) on tiny corpora."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from corpus_fixtures import corpus_of_rows, write_jsonl

from browser_env.corpus import build_corpus, open_corpus
from browser_env.docstore import Document
from browser_env.passages import passages, split_passages
from browser_env.search import rrf, vocabulary
from browser_env.search.bm25 import Bm25Index
from browser_env.search.snippet import snippet
from browser_env.search.vocabulary import IDS, OFFSETS, STEMS, VOCAB_JSON, SortedVocabulary, load_vocabulary


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBGPT_HOME", str(tmp_path / "home"))


def words(text: str) -> int:
    return len(text.split())


def test_passages_group_paragraphs_to_about_100_words():
    paragraphs = ["History"] + [" ".join(f"w{p}x{i}" for i in range(40)) for p in range(6)]
    chunks = split_passages("\n\n".join(paragraphs))
    assert [words(c) for c in chunks] == [121, 120]
    assert chunks[0].startswith("History\nw0x0")
    assert " ".join(" ".join(chunks).split()) == " ".join(" ".join(paragraphs).split())


def test_long_paragraphs_split_at_sentence_ends():
    sentences = [f"Sentence {i} has exactly seven words here." for i in range(60)]
    chunks = split_passages(" ".join(sentences))
    assert all(70 <= words(c) <= 150 for c in chunks)
    assert all(c.endswith("here.") for c in chunks)
    assert sum(words(c) for c in chunks) == 60 * 7


def test_run_on_text_without_sentences_is_cut_between_words():
    chunks = split_passages(" ".join(f"w{i}" for i in range(1000)))
    assert all(words(c) <= 150 for c in chunks) and sum(words(c) for c in chunks) == 1000


def test_short_tail_joins_previous_passage():
    chunks = split_passages(" ".join(["a"] * 100) + "\n" + "tail end")
    assert len(chunks) == 1 and chunks[0].endswith("tail end")


def test_html_passages_are_rendered_text_without_link_markup():
    html = "<html><head><title>T</title><script>var x = 1;</script></head><body><nav>Menu</nav>"
    html += "<p>Read <a href='/b'>the other page</a> now.</p></body></html>"
    (passage,) = passages(Document("https://a.example/x", "T", html, "html"))
    assert passage.text == "Read the other page now." and passage.title == "T"


def test_snippet_picks_the_window_with_the_query_words():
    text = (
        " ".join(f"filler{i}." for i in range(200)) + " The volcano erupted lava. " + " ".join(["more"] * 100)
    )
    result = snippet(text, "volcanic eruption lava", words=30)
    assert "volcano erupted lava." in result and result.startswith("… ") and result.endswith(" …")
    assert words(result.replace("…", "")) == 30
    assert snippet("short text", "x") == "short text"


def test_snippets_of_passages_indexed_with_behaviour_switches_leave_them_out():
    text = "Blue Ridge Parkway.[2] __NOTOC__ The parkway runs 469 miles."
    assert snippet(text, "parkway") == "Blue Ridge Parkway.[2] The parkway runs 469 miles."
    assert snippet(text + " more" * 60, "parkway miles", words=10).count("__") == 0


def test_rrf_fuses_rankings():
    ids, scores = rrf([np.array([1, 2, 3]), np.array([3, 1, 4])], k=60)
    assert ids.tolist() == [1, 3, 2, 4]
    assert scores[0] == pytest.approx(1 / 61 + 1 / 62)


def test_bm25_search_returns_one_result_per_document(tmp_path):
    long_text = "\n\n".join(
        f"Paragraph {i} about the saxophone and its reeds and keys." * 8 for i in range(10)
    )
    path = tmp_path / "long.jsonl"
    path.write_text(
        write_jsonl(tmp_path).read_text() + json.dumps({"title": "Saxophone history", "text": long_text})
    )
    corpus = build_corpus("sax", [str(path)], dense=False, show_progress=False)
    assert corpus.meta["passages"] == 5 + 5  # the long article makes five passages
    results = corpus.search.search("saxophone", k=10)
    urls = [r.url for r in results]
    assert len(urls) == len(set(urls)) == 2
    assert set(urls) == {
        "https://en.wikipedia.org/wiki/Saxophone",
        "https://en.wikipedia.org/wiki/Saxophone_history",
    }
    assert all(10 <= words(r.snippet) <= 60 for r in results)
    assert corpus.search.search("saxophone", k=1)[0].url in urls
    assert corpus.search.search("the of and", k=5) == []
    assert corpus.search.search("zzzunknownword", k=5) == []
    assert corpus.search.search("", k=5) == []


def test_search_finds_the_right_document(tmp_path):
    corpus = build_corpus("five", [str(write_jsonl(tmp_path))], dense=False, show_progress=False)
    top = corpus.search.search("who is the eiffel tower named after", k=3)[0]
    assert top.title == "Eiffel Tower" and "Gustave Eiffel" in top.snippet
    assert (
        corpus.search.search("green plants sunlight", k=3)[0].url
        == "https://example.org/biology/photosynthesis"
    )
    passages = corpus.search.search_passages("volcanic ash", k=2)
    assert passages[0].passage.title == "Volcano" and passages[0].score > 0


def test_search_and_snippets_ignore_accents_and_special_forms(tmp_path):
    pages = {
        "Pokémon": "Pokémon is a media franchise created by Satoshi Tajiri in 1995.",
        "Kraków": "Kraków was the capital of Poland until 1596. It lies on the Vistula.",
        "Carbon dioxide": "Carbon dioxide (CO₂) is a colourless gas.",
    }
    corpus = corpus_of_rows(tmp_path, "accents", [{"title": t, "text": x} for t, x in pages.items()])
    assert corpus.search.search("who created pokemon", k=1)[0].title == "Pokémon"
    assert corpus.search.search("when did krakow stop being the capital", k=1)[0].title == "Kraków"
    assert corpus.search.search("Kraków Vistula", k=1)[0].title == "Kraków"
    assert corpus.search.search("co2 gas", k=1)[0].title == "Carbon dioxide"
    long = " ".join(f"filler{i}." for i in range(100)) + " Kraków lies on the Vistula. " + "more " * 100
    assert "Kraków" in snippet(long, "krakow", words=20)  # the window holding the word, not the start


@pytest.mark.slow
def test_hybrid_search_with_real_minilm_vectors(tmp_path):
    corpus = build_corpus("dense", [str(write_jsonl(tmp_path))], dense=True, show_progress=False)
    assert corpus.meta["dense"] and corpus.search.mode == "hybrid"
    query = "feline animal that people keep at home"  # no word in common with the Cat article's stems
    assert open_corpus("dense", mode="bm25").search.search(query, k=5) == []
    dense_top = open_corpus("dense", mode="dense").search.search(query, k=5)
    assert dense_top[0].title == "Cat"
    assert corpus.search.search(query, k=5)[0].title == "Cat"
    hybrid = corpus.search.search("Gustave Eiffel engineer", k=5)
    assert hybrid[0].title == "Eiffel Tower" and len(hybrid) == 5


def test_bm25_top_matches_a_full_sort_of_all_scores(tmp_path):
    rows = [
        {"title": f"Doc {i}", "text": " ".join(f"w{(i * j) % 37}" for j in range(1, 60))} for i in range(300)
    ]
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows))
    bm25 = build_corpus("many", [str(path)], dense=False, show_progress=False).search.bm25
    for query in ["w1 w2", "w5 w5 w30", "w36", "doc w0 w7 w11 w13"]:
        full = bm25.scores(query)
        expected = np.lexsort((np.arange(len(full)), -full))[:25]
        expected = expected[full[expected] > 0]
        ids, scores = bm25.top(query, 25)
        assert ids.tolist() == expected.tolist(), query
        assert np.allclose(scores, full[expected])


def test_documents_named_by_the_query_come_first(tmp_path):
    rows = [
        {"title": "Eiffel", "text": "Eiffel may refer to: the Eiffel Tower, Gustave Eiffel, Eiffel towers."},
        {"title": "Eiffel Tower", "text": "A wrought-iron lattice tower in Paris."},
        {"title": "Tower", "text": "A tower is a tall structure; the Eiffel tower is one."},
    ]
    corpus = corpus_of_rows(tmp_path, "named", rows)
    assert corpus.search.bm25.top("eiffel tower", 3)[0].size == 3
    assert corpus.search.search("eiffel tower", k=3)[0].title == "Eiffel Tower"
    assert corpus.search.search("who designed the Eiffel Tower?", k=3)[0].title == "Eiffel Tower"


def _old_style_index(bm25_folder):
    """The index as corpora built before the sorted vocabulary have it: bm25s's JSON only."""
    for name in (STEMS, OFFSETS, IDS):
        (bm25_folder / name).unlink()


def test_sorted_vocabulary_maps_every_stem_as_the_json_does(tmp_path):
    rows = [
        {"title": "Ünïcode", "text": "Café naïve Straße 東京 tōkyō résumé emoji 🙂 plain words and more"},
        {"title": "Numbers", "text": "1989 2001 3.14 thirty-three x86_64 the end"},
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in rows), encoding="utf-8")
    folder = build_corpus("mixed", [str(path)], dense=False, show_progress=False).path / "bm25"
    expected = json.loads((folder / VOCAB_JSON).read_text(encoding="utf-8"))
    vocabulary = load_vocabulary(folder)
    assert isinstance(vocabulary, SortedVocabulary)
    assert dict(vocabulary.items()) == expected and len(vocabulary) == len(expected)
    assert "not-a-stem" not in vocabulary and "\ud800" not in vocabulary and vocabulary.get("zz") is None
    with pytest.raises(KeyError):
        vocabulary["zz"]


def test_an_index_with_only_the_json_vocabulary_gets_the_sorted_one_and_ranks_the_same(tmp_path):
    corpus = build_corpus("five", [str(write_jsonl(tmp_path))], dense=False, show_progress=False)
    queries = ["who is the eiffel tower named after", "green plants sunlight", "volcanic ash", "zzz", ""]
    expected = [corpus.search.rank(q, 10) for q in queries]
    corpus.close()
    folder = corpus.path / "bm25"
    _old_style_index(folder)
    reopened = open_corpus("five").search
    assert isinstance(reopened.bm25.vocabulary, SortedVocabulary)
    assert all((folder / name).is_file() for name in (STEMS, OFFSETS, IDS))
    for query, (ids, scores) in zip(queries, expected, strict=True):
        got_ids, got_scores = reopened.rank(query, 10)
        assert got_ids.tolist() == ids.tolist() and got_scores.tolist() == scores.tolist(), query
    plain = Bm25Index(folder, mmap=False)  # loaded into memory: same answers
    assert plain.top("volcanic ash", 3)[0].tolist() == reopened.bm25.top("volcanic ash", 3)[0].tolist()


def test_a_stale_or_unwritable_sorted_vocabulary_falls_back_to_the_json(tmp_path, monkeypatch):
    corpus = build_corpus("five", [str(write_jsonl(tmp_path))], dense=False, show_progress=False)
    folder = corpus.path / "bm25"
    expected = json.loads((folder / VOCAB_JSON).read_text(encoding="utf-8"))
    earlier = (folder / VOCAB_JSON).stat().st_mtime_ns - 10**9
    os.utime(folder / IDS, ns=(earlier, earlier))  # older than the JSON: the arrays are rewritten
    assert isinstance(load_vocabulary(folder), SortedVocabulary)
    assert (folder / IDS).stat().st_mtime_ns > earlier
    _old_style_index(folder)

    def read_only(*args: object) -> None:
        raise PermissionError("read-only file system")

    monkeypatch.setattr(vocabulary, "write_sorted_vocabulary", read_only)
    assert load_vocabulary(folder) == expected
    assert Bm25Index(folder).top("eiffel", 1)[0].size == 1
