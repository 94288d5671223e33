"""Building, opening, listing and removing corpora; interrupted and damaged builds; the default corpus."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from corpus_fixtures import ARTICLES, write_html_folder, write_jsonl, write_zim

from browser_env.corpus import (
    Corpus,
    CorpusError,
    CorpusNotFound,
    build_corpus,
    default_sources,
    ensure_default_corpus,
    list_corpora,
    open_corpus,
    remove_corpus,
)
from browser_env.docstore import Document
from browser_env.home import corpora_dir
from browser_env.protocol import strip_links
from browser_env.sources import JsonlSource, Source


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBGPT_HOME", str(tmp_path / "home"))


def leftovers() -> list[str]:
    return sorted(p.name for p in corpora_dir().iterdir() if p.is_dir())


def test_build_mixed_sources_then_open_list_and_remove(tmp_path):
    sources = [
        str(write_jsonl(tmp_path, ".jsonl.gz")),
        str(write_html_folder(tmp_path)),
        str(write_zim(tmp_path / "g.zim")),
    ]
    built = build_corpus("mixed", sources, dense=False, show_progress=False)
    assert built.meta["documents"] == len(ARTICLES) + 3 + 2
    assert [s["kind"] for s in built.meta["sources"]] == ["jsonl", "html", "zim"]
    assert built.meta["sources"][0]["skipped"] == 4
    built.close()

    with open_corpus("mixed") as corpus:
        assert isinstance(corpus, Corpus) and len(corpus.store) == 10
        assert corpus.store.get("https://my-site.local/guide/tomatoes.html").content_type == "html"
        assert (
            corpus.search.search("tomatoes full sun stake", k=3)[0].url
            == "https://my-site.local/guide/tomatoes.html"
        )
        assert corpus.search.search("earthworm aerates soil", k=3)[0].title == "Earthworm"
        assert corpus.search.search("crème fraîche", k=3)[0].title == "Herbs & spices"

    (info,) = list_corpora()
    assert (info.name, info.documents, info.dense, info.problem) == ("mixed", 10, False, None)
    assert info.passages == built.meta["passages"] and info.size_bytes > 0 and info.built_at
    remove_corpus("mixed")
    assert list_corpora() == [] and leftovers() == []
    with pytest.raises(CorpusNotFound, match="webgpt corpus build mixed"):
        open_corpus("mixed")


def test_duplicate_urls_are_stored_once(tmp_path):
    path = write_jsonl(tmp_path)
    corpus = build_corpus("dups", [str(path), str(path)], dense=False, show_progress=False)
    assert corpus.meta["documents"] == len(ARTICLES) and corpus.meta["duplicates_skipped"] == len(ARTICLES)
    assert len(corpus.search.search("tower", k=10)) == 1


def test_existing_corpus_needs_force(tmp_path):
    first = build_corpus("c", [str(write_jsonl(tmp_path))], dense=False, show_progress=False)
    with pytest.raises(CorpusError, match=r"already exists.*--force"):
        build_corpus("c", [str(write_jsonl(tmp_path))], dense=False, show_progress=False)
    second = build_corpus(
        "c", [str(write_html_folder(tmp_path))], dense=False, force=True, show_progress=False
    )
    assert second.meta["built_at"] >= first.meta["built_at"] and second.meta["documents"] == 3
    assert open_corpus("c").search.search("eiffel", k=3) == []
    assert leftovers() == ["c"]


def test_bad_names_and_sources_are_refused_before_any_work(tmp_path):
    with pytest.raises(CorpusError, match="invalid corpus name"):
        build_corpus("../escape", ["wiki-vital"], show_progress=False)
    with pytest.raises(CorpusError, match="unknown source"):
        build_corpus("x", ["wiki-vital", "no-such-source"], show_progress=False)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("{broken\n")
    with pytest.raises(CorpusError, match="no text to index"):
        build_corpus("x", [str(empty)], show_progress=False)
    assert leftovers() == []


class InterruptedSource(Source):
    """Real documents, then a Ctrl-C half way through."""

    kind = "interrupted"

    def __init__(self, inner: Source) -> None:
        super().__init__("interrupted")
        self.inner = inner

    def _documents(self) -> Iterator[Document]:
        for n, document in enumerate(self.inner.documents()):
            if n == 2:
                raise KeyboardInterrupt
            yield document


def test_interrupted_build_leaves_no_corpus_and_keeps_the_old_one(tmp_path):
    jsonl = write_jsonl(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        build_corpus("i", [InterruptedSource(JsonlSource(jsonl))], dense=False, show_progress=False)
    assert leftovers() == []
    with pytest.raises(CorpusNotFound):
        open_corpus("i")

    build_corpus("i", [str(jsonl)], dense=False, show_progress=False)
    with pytest.raises(KeyboardInterrupt):
        build_corpus(
            "i", [InterruptedSource(JsonlSource(jsonl))], dense=False, force=True, show_progress=False
        )
    assert leftovers() == ["i"]
    assert open_corpus("i").search.search("volcano", k=1)[0].title == "Volcano"


def test_leftovers_of_killed_builds_are_cleaned_up(tmp_path):
    stale = corpora_dir() / ".build-k-999999999"
    (stale / "bm25").mkdir(parents=True)
    build_corpus("k", [str(write_jsonl(tmp_path))], dense=False, show_progress=False)
    assert not stale.exists() and leftovers() == ["k"]


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda path: (path / "meta.json").unlink(), "meta.json is missing"),
        (lambda path: (path / "meta.json").write_text("{trunc"), "meta.json is unreadable"),
        (lambda path: (path / "bm25" / "params.index.json").unlink(), "missing bm25/params.index.json"),
    ],
)
def test_damaged_corpus_says_to_rebuild(tmp_path, damage, problem):
    corpus = build_corpus("d", [str(write_jsonl(tmp_path))], dense=False, show_progress=False)
    damage(corpus.path)
    with pytest.raises(CorpusError, match=rf"incomplete or damaged.*{problem}.*--force"):
        open_corpus("d")
    (info,) = list_corpora()
    assert info.problem and problem in info.problem


def test_corrupt_index_file_gives_a_clear_error_on_search(tmp_path):
    corpus = build_corpus("z", [str(write_jsonl(tmp_path))], dense=False, show_progress=False)
    (corpus.path / "bm25" / "indptr.csc.index.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(CorpusError, match="rebuild it"):
        open_corpus("z").search.search("tower")


def test_dense_mode_needs_vectors(tmp_path):
    build_corpus("nd", [str(write_jsonl(tmp_path))], dense=False, show_progress=False)
    with pytest.raises(CorpusError, match="no dense vectors"):
        open_corpus("nd", mode="hybrid")


def test_make_env_browses_the_corpus(tmp_path):
    corpus = build_corpus("web", [str(write_html_folder(tmp_path))], dense=False, show_progress=False)
    env = corpus.make_env()
    env.reset(options={"question": "How do I grow tomatoes?"})
    obs, _, _, _, info = env.step("Search tomatoes")
    assert "Growing tomatoes" in obs and info["error"] is None
    obs, _, _, _, info = env.step("Clicked on link 0")
    assert info["url"] == "https://my-site.local/guide/tomatoes.html" and "full sun" in obs
    back_home = next(link for link in info["links"] if link["text"] == "Back home")
    obs, _, _, _, info = env.step(f"Clicked on link {back_home['id']}")
    assert info["url"] == "https://my-site.local/index.html" and info["error"] is None
    assert json.loads((corpus.path / "meta.json").read_text())["name"] == "web"


def test_default_sources_include_the_python_docs_when_installed():
    assert default_sources() == ["wiki-vital", "python-docs"]


@pytest.mark.slow
def test_default_corpus_is_built_on_first_use_then_opened(capsys):
    corpus = ensure_default_corpus(dense=False, show_progress=False)
    assert "Building the default offline corpus" in capsys.readouterr().err
    kinds = [s["kind"] for s in corpus.meta["sources"]]
    assert kinds == ["wiki-vital", "python-docs"] and corpus.meta["documents"] > 10_000
    top = corpus.search.search("Who is the Eiffel Tower named after?", k=5)
    assert top[0].url == "https://en.wikipedia.org/wiki/Eiffel_Tower"
    docs = corpus.search.search("os.getcwd current working directory", k=5)
    assert "https://docs.python.org/3/library/os.html" in [r.url for r in docs]
    page = corpus.fetcher.fetch("https://docs.python.org/3/library/os.html")
    linked = [link for link in page.links if link.url.startswith("https://docs.python.org/3/library/")]
    assert len(linked) > 20
    assert corpus.fetcher.fetch(linked[0].url).title
    again = ensure_default_corpus()
    assert again.meta["built_at"] == corpus.meta["built_at"] and "Building" not in capsys.readouterr().err


def test_title_links_between_text_articles(tmp_path):
    rows = [
        {
            "title": "Gustave Eiffel",
            "text": "Gustave Eiffel was a French engineer.\n\nHe built the Eiffel Tower.",
        },
        {"title": "Eiffel Tower", "text": "The Eiffel Tower in Paris is named after Gustave Eiffel."},
        {"title": "Paris", "text": "Paris is the capital of France. The Eiffel Tower and the Eiffel Tower."},
        {"title": "Mercury (planet)", "text": "Mercury is the smallest planet."},
        {
            "title": "Orbit",
            "text": "Mercury has the most eccentric orbit; Paris has none. paris is lower case.",
        },
    ]
    path = tmp_path / "linked.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows))
    plain = build_corpus("plain", [str(path)], dense=False, show_progress=False)
    assert plain.meta["title_links"] is None
    corpus = build_corpus("linked", [str(path)], dense=False, show_progress=False, link_titles=True)
    assert corpus.meta["title_links"] == {"documents_linked": 4, "links": 6}
    links = {}
    for row in rows:
        url = "https://en.wikipedia.org/wiki/" + row["title"].replace(" ", "_")
        page = corpus.fetcher.fetch(url)
        assert plain.fetcher.fetch(url).text == strip_links(page.text)  # the text reads the same
        links[row["title"]] = [(link.text, link.url.rsplit("/", 1)[1]) for link in page.links]
    assert links == {
        "Gustave Eiffel": [("Eiffel Tower", "Eiffel_Tower")],
        "Eiffel Tower": [("Paris", "Paris"), ("Gustave Eiffel", "Gustave_Eiffel")],
        "Paris": [("Eiffel Tower", "Eiffel_Tower")],
        "Mercury (planet)": [],
        "Orbit": [("Mercury", "Mercury_(planet)"), ("Paris", "Paris")],
    }
