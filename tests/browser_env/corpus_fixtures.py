"""Small corpus sources written on the fly for the corpus, source and search tests."""

from __future__ import annotations

import gzip
import json
import lzma
from pathlib import Path

ARTICLES = [
    {
        "title": "Eiffel Tower",
        "text": "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France.\n\n"
        "It is named after the engineer Gustave Eiffel, whose company designed and built the tower.",
    },
    {
        "title": "Cat",
        "text": "The cat is a small domesticated carnivorous mammal. It is the only domesticated species "
        "in the family Felidae and is commonly kept as a house pet.\n\nHistory\n\n"
        "Cats were first tamed in the Near East around 7500 BC.",
    },
    {
        "title": "Photosynthesis",
        "text": "Photosynthesis is the process by which green plants use sunlight, water and carbon "
        "dioxide to make glucose and release oxygen.",
        "url": "https://example.org/biology/photosynthesis",
    },
    {
        "title": "Volcano",
        "text": "A volcano is a rupture in the crust of a planet that allows hot lava, volcanic ash and "
        "gases to escape from a magma chamber below the surface.",
    },
    {
        "title": "Saxophone",
        "text": "The saxophone is a woodwind instrument invented by the Belgian instrument maker Adolphe Sax "
        "in the early 1840s.",
    },
]
BAD_LINES = [
    "{not json at all",
    json.dumps(["a", "list"]),
    json.dumps({"text": "a row without a title"}),
    json.dumps({"title": "No text here", "text": "   "}),
]


def jsonl_lines() -> list[str]:
    lines = [json.dumps(article) for article in ARTICLES[:2]]
    lines += [*BAD_LINES, ""]
    lines += [json.dumps(article) for article in ARTICLES[2:]]
    return lines


def write_jsonl(folder: Path, suffix: str = ".jsonl") -> Path:
    """The five articles with four bad lines (and a blank one) among them, plain, .gz or .xz."""
    path = folder / f"articles{suffix}"
    data = ("\n".join(jsonl_lines()) + "\n").encode("utf-8")
    if suffix.endswith(".gz"):
        path.write_bytes(gzip.compress(data))
    elif suffix.endswith(".xz"):
        path.write_bytes(lzma.compress(data))
    else:
        path.write_bytes(data)
    return path


def write_html_folder(folder: Path) -> Path:
    """Three linked pages (one in a sub-folder, one in Latin-1), a hidden folder and a non-HTML file."""
    site = folder / "My Site"
    (site / "guide").mkdir(parents=True)
    (site / ".hidden").mkdir()
    (site / "index.html").write_text(
        "<html><head><title>Home of the garden</title></head><body><h1>Gardening</h1>"
        "<p>Start with the <a href='guide/tomatoes.html'>tomato guide</a> or read about "
        "<a href='herbs.htm#basil'>herbs</a>.</p></body></html>",
        encoding="utf-8",
    )
    (site / "guide" / "tomatoes.html").write_text(
        "<html><head><title>Growing tomatoes</title></head><body><p>Tomatoes need full sun, deep watering "
        "and a stake or cage for support.</p><p><a href='../index.html'>Back home</a></p></body></html>",
        encoding="utf-8",
    )
    (site / "herbs.htm").write_bytes(
        "<html><head><meta charset='iso-8859-1'><title>Herbs &amp; spices</title></head><body>"
        "<p id='basil'>Basil is a tender herb used in pesto; its name comes from the Greek basilikón. "
        "Crème fraîche goes well with chives.</p><p><a href='guide/tomatoes.html'>Tomatoes</a> like basil."
        "</p></body></html>".encode("latin-1")
    )
    (site / ".hidden" / "secret.html").write_text("<title>Hidden</title><p>never stored</p>")
    (site / "notes.txt").write_text("not a page")
    return site


def write_zim(path: Path, name: str = "garden_en_all") -> Path:
    """A ZIM archive (new namespace scheme) with two linked HTML articles, a stylesheet and a redirect."""
    from libzim.writer import Creator, Hint, Item, StringProvider

    class Entry(Item):
        def __init__(self, entry_path: str, title: str, body: str, mimetype: str = "text/html") -> None:
            super().__init__()
            self.entry_path, self.title, self.body, self.mimetype = entry_path, title, body, mimetype

        def get_path(self) -> str:
            return self.entry_path

        def get_title(self) -> str:
            return self.title

        def get_mimetype(self) -> str:
            return self.mimetype

        def get_contentprovider(self) -> StringProvider:
            return StringProvider(self.body)

        def get_hints(self) -> dict:
            return {Hint.FRONT_ARTICLE: self.mimetype == "text/html"}

    with Creator(str(path)).config_indexing(False, "eng") as creator:
        creator.set_mainpath("Compost")
        creator.add_item(
            Entry(
                "Compost",
                "Compost",
                "<html><head><title>Compost</title></head><body><p>Compost is decomposed organic matter; "
                "worms help. See <a href='Earthworm'>earthworms</a>.</p></body></html>",
            )
        )
        creator.add_item(
            Entry(
                "Earthworm",
                "Earthworm",
                "<html><head><title>Earthworm</title></head><body><p>An earthworm is a tube-shaped "
                "segmented worm that aerates soil.</p></body></html>",
            )
        )
        creator.add_item(Entry("style.css", "style", "body { color: green }", "text/css"))
        creator.add_redirection("Worm", "Worm", "Earthworm", {Hint.FRONT_ARTICLE: True})
        creator.add_metadata("Name", name)
        creator.add_metadata("Title", "Garden")
        creator.add_metadata("Language", "eng")
    return path


def corpus_of_rows(tmp_path, name: str, rows: list[dict[str, str]]):
    """A BM25 corpus built from JSONL ``rows`` (title, text) in ``tmp_path``."""
    from browser_env.corpus import build_corpus

    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return build_corpus(name, [str(path)], dense=False, show_progress=False)
