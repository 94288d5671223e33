"""Bring outside data in: question lists, WebGPT comparisons and TruthfulQA answer pairs.

Every reader either returns every record the file holds or raises ``ImportFormatError`` naming the file
and the line (or row) that could not be read: nothing is dropped silently. Blank lines are not records.

    from demonstrations.imports import load_questions, read_webgpt_comparisons, read_truthfulqa_pairs
    questions = load_questions("../shared/data/qa/nq_open_dev.jsonl")

From the command line: ``webgpt demos import questions FILE`` (and ``webgpt-comparisons``, ``truthfulqa``).
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from demonstrations.schemas import ComparedAnswer, ComparisonRecord, QuestionRecord, QuoteRecord

QUESTION_KEYS = ("question", "query", "prompt")
ANSWER_KEYS = ("answers", "answer", "gold_answers")
TRUTHFULQA_COLUMNS = ("Question", "Best Answer", "Correct Answers", "Incorrect Answers")
TRUTHFULQA_SEPARATOR = "; "
#: |score_0 - score_1| at or above this is "much better" (scores run from -1 to 1, so the gap runs 0-2).
MUCH_BETTER_GAP = 1.5


class ImportFormatError(ValueError):
    """A file could not be read; the message names the file and, when known, the line."""

    def __init__(self, path: str | Path, message: str, line: int | None = None) -> None:
        where = f"{path}, line {line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.line = line


def question_id(source: str, question: str) -> str:
    """A stable id, so importing the same file twice yields the same ids."""
    return hashlib.sha1(f"{source}\n{question}".encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- question lists


def load_questions(path: str | Path, *, source: str | None = None) -> list[QuestionRecord]:
    """Questions (with gold answers when the file has them) from any supported list format.

    By suffix: ``.jsonl`` (one object a line: ``question`` plus ``answer``/``answers`` as a string or a
    list; this is NQ-open's layout), ``.json`` (a list of such objects, e.g. HotpotQA), ``.csv`` (a
    ``question`` column and an optional ``answer``/``answers`` column split on ``;``; TruthfulQA's
    columns are recognised and use its correct answers), anything else: plain text, one question a line.
    ``source`` defaults to the file's stem (``truthfulqa`` for TruthfulQA files).
    """
    path = _readable_file(path)
    suffix = path.suffix.lower()
    name = source or path.stem
    if suffix == ".jsonl":
        return [_question_from_object(obj, path, line, name) for line, obj in _jsonl(path)]
    if suffix == ".json":
        return [_question_from_object(obj, path, i, name) for i, obj in _json_list(path)]
    if suffix == ".csv":
        return _questions_from_csv(path, source)
    return _questions_from_text(path, name)


def _question_from_object(obj: Any, path: Path, line: int, source: str) -> QuestionRecord:
    if not isinstance(obj, dict):
        raise ImportFormatError(path, f"expected a JSON object, got {type(obj).__name__}", line)
    question = next((obj[k] for k in QUESTION_KEYS if k in obj), None)
    if not isinstance(question, str) or not question.strip():
        raise ImportFormatError(
            path, f"no non-empty question field (one of {', '.join(QUESTION_KEYS)})", line
        )
    answers: list[str] = []
    for key in ANSWER_KEYS:
        if key in obj and obj[key] is not None:
            answers = _answer_list(obj[key], path, line)
            break
    question = question.strip()
    return QuestionRecord(
        id=str(obj["id"]) if obj.get("id") else question_id(source, question),
        question=question,
        gold_answers=answers,
        source=source,
    )


def _answer_list(value: Any, path: Path, line: int) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(a, str | int | float) for a in value):
        raise ImportFormatError(path, "answers must be a string or a list of strings", line)
    return [str(a).strip() for a in value if str(a).strip()]


def _questions_from_csv(path: Path, source: str | None) -> list[QuestionRecord]:
    rows = _csv_rows(path)
    header = rows.fieldnames
    if all(column in header for column in TRUTHFULQA_COLUMNS):
        name = source or "truthfulqa"
        out = []
        for line, row in rows:
            question = _cell(row, "Question", path, line)
            answers = _dedupe([row["Best Answer"].strip(), *_split(row["Correct Answers"])])
            out.append(
                QuestionRecord(
                    id=question_id(name, question), question=question, gold_answers=answers, source=name
                )
            )
        return out
    lower = {c.lower().strip(): c for c in header}
    column = next((lower[k] for k in QUESTION_KEYS if k in lower), None)
    if column is None:
        raise ImportFormatError(path, f"no question column; columns are {', '.join(header)}", 1)
    answer_column = next((lower[k] for k in ANSWER_KEYS if k in lower), None)
    name = source or path.stem
    out = []
    for line, row in rows:
        question = _cell(row, column, path, line)
        answers = _split(row.get(answer_column) or "", ";") if answer_column else []
        out.append(
            QuestionRecord(
                id=question_id(name, question), question=question, gold_answers=answers, source=name
            )
        )
    return out


def _questions_from_text(path: Path, source: str) -> list[QuestionRecord]:
    out = []
    for _, text in _lines(path):
        if text.strip():
            out.append(
                QuestionRecord(id=question_id(source, text.strip()), question=text.strip(), source=source)
            )
    return out


# --------------------------------------------------------------------------- WebGPT comparisons


def read_webgpt_comparisons(
    path: str | Path, *, much_better_gap: float = MUCH_BETTER_GAP
) -> list[ComparisonRecord]:
    """Comparisons in the layout of ``openai/webgpt_comparisons`` (JSONL, or a JSON list of rows).

    Each row: ``question`` (``{"full_text", "dataset", "id"}`` or a string), ``quotes_0``/``quotes_1``
    (``{"title": [...], "extract": [...]}``), ``answer_0``/``answer_1``, ``score_0``/``score_1`` in
    [-1, 1]; ``tokens_*`` and other fields are ignored. The higher score wins; equal scores are a tie;
    a score gap of at least ``much_better_gap`` is "much better". Titles written as
    ``Page title (example.com)`` are split into title and domain.
    """
    path = _readable_file(path)
    rows = _json_list(path) if path.suffix.lower() == ".json" else _jsonl(path)
    return [
        webgpt_comparison(row, path=path, line=line, much_better_gap=much_better_gap) for line, row in rows
    ]


def webgpt_comparison(
    row: Any, *, path: str | Path = "<row>", line: int | None = None, much_better_gap: float = MUCH_BETTER_GAP
) -> ComparisonRecord:
    """One WebGPT comparison row as a ``ComparisonRecord`` (source ``webgpt``)."""
    if not isinstance(row, dict):
        raise ImportFormatError(path, f"expected a JSON object, got {type(row).__name__}", line)
    missing = [k for k in ("question", "answer_0", "answer_1", "score_0", "score_1") if k not in row]
    if missing:
        raise ImportFormatError(path, f"missing field(s): {', '.join(missing)}", line)
    question_field = row["question"]
    if isinstance(question_field, dict):
        question = question_field.get("full_text")
        question_ref = question_field.get("id")
        dataset = question_field.get("dataset")
    else:
        question, question_ref, dataset = question_field, None, None
    if not isinstance(question, str) or not question.strip():
        raise ImportFormatError(path, "question has no text", line)
    try:
        score_0, score_1 = float(row["score_0"]), float(row["score_1"])
    except (TypeError, ValueError):
        raise ImportFormatError(path, "score_0 and score_1 must be numbers", line) from None
    for score in (score_0, score_1):
        if not -1.0 <= score <= 1.0:
            raise ImportFormatError(path, f"score {score} is outside [-1, 1]", line)
    answers = []
    for side in ("0", "1"):
        text = row[f"answer_{side}"]
        if not isinstance(text, str):
            raise ImportFormatError(path, f"answer_{side} must be a string", line)
        quotes = _webgpt_quotes(row.get(f"quotes_{side}"), path, line, side)
        answers.append(ComparedAnswer(text=text, quotes=quotes))
    gap = abs(score_0 - score_1)
    preference = "tie" if score_0 == score_1 else ("A" if score_0 > score_1 else "B")
    strength = None if preference == "tie" else ("much_better" if gap >= much_better_gap else "better")
    note = f"WebGPT comparison: score_0={score_0:g}, score_1={score_1:g}"
    if dataset or question_ref:
        note += f" (question {dataset or ''}:{question_ref or ''})"
    ident = question_id("webgpt", json.dumps([question, answers[0].text, answers[1].text, score_0]))
    return ComparisonRecord(
        id=ident,
        question=question.strip(),
        answer_a=answers[0],
        answer_b=answers[1],
        preference=preference,
        strength=strength,
        justification=note,
        annotator="webgpt",
        source="webgpt",
    )


_TITLE_WITH_DOMAIN = re.compile(r"^(?P<title>.*\S)\s+\((?P<domain>[\w-]+(?:\.[\w-]+)+)\)\s*$")


def _webgpt_quotes(value: Any, path: str | Path, line: int | None, side: str) -> list[QuoteRecord]:
    if value is None:
        return []
    if not isinstance(value, dict):
        raise ImportFormatError(path, f"quotes_{side} must be an object with title and extract lists", line)
    titles, extracts = value.get("title") or [], value.get("extract") or []
    if not isinstance(titles, list) or not isinstance(extracts, list) or len(titles) != len(extracts):
        raise ImportFormatError(path, f"quotes_{side}: title and extract must be lists of equal length", line)
    quotes = []
    for title, extract in zip(titles, extracts, strict=True):
        match = _TITLE_WITH_DOMAIN.match(str(title))
        name, domain = (match["title"], match["domain"].removeprefix("www.")) if match else (str(title), "")
        quotes.append(
            QuoteRecord(
                url=f"https://{domain}/" if domain else "",
                title=name,
                domain=domain,
                text=str(extract),
                start=0,
                end=len(str(extract)),
            )
        )
    return quotes


# --------------------------------------------------------------------------- TruthfulQA


def read_truthfulqa_pairs(path: str | Path) -> list[ComparisonRecord]:
    """Each correct answer against each incorrect one, per question (source ``truthfulqa``, no quotes).

    The correct answer is answer A in even-numbered pairs and answer B in odd ones, so position says
    nothing about quality. The CSV needs TruthfulQA's columns (Question, Best Answer, Correct Answers,
    Incorrect Answers; answers separated by ``; ``).
    """
    path = Path(path)
    rows = _csv_rows(path)
    absent = [c for c in TRUTHFULQA_COLUMNS if c not in rows.fieldnames]
    if absent:
        raise ImportFormatError(path, f"not a TruthfulQA file: missing column(s) {', '.join(absent)}", 1)
    out = []
    for line, row in rows:
        question = _cell(row, "Question", path, line)
        correct = _dedupe([row["Best Answer"].strip(), *_split(row["Correct Answers"])])
        incorrect = _dedupe(_split(row["Incorrect Answers"]))
        if not correct or not incorrect:
            raise ImportFormatError(path, "needs at least one correct and one incorrect answer", line)
        pairs = [(good, bad) for good in correct for bad in incorrect]
        for number, (good, bad) in enumerate(pairs):
            swap = number % 2 == 1
            a, b = (bad, good) if swap else (good, bad)
            out.append(
                ComparisonRecord(
                    id=question_id("truthfulqa", f"{question}\n{good}\n{bad}"),
                    question=question,
                    answer_a=ComparedAnswer(text=a),
                    answer_b=ComparedAnswer(text=b),
                    preference="B" if swap else "A",
                    strength=None,
                    justification=f"TruthfulQA row {line}: a correct answer against an incorrect one",
                    annotator="truthfulqa",
                    source="truthfulqa",
                )
            )
    return out


# --------------------------------------------------------------------------- file helpers


def _readable_file(path: str | Path) -> Path:
    """``path`` if it is a file this process can read; otherwise ``ImportFormatError`` saying why."""
    path = Path(path)
    if path.is_dir():
        raise ImportFormatError(path, "is a folder; give the path of the file to import")
    if not path.exists():
        raise ImportFormatError(path, "no such file; check the path")
    if not path.is_file():
        raise ImportFormatError(path, "not a regular file; give the path of the file to import")
    try:
        with path.open("rb"):
            pass
    except OSError as error:
        raise ImportFormatError(path, f"cannot be read: {error.strerror or error}") from None
    return path


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with path.open(encoding="utf-8") as handle:
            yield from enumerate(handle, start=1)
    except UnicodeDecodeError as exc:
        raise ImportFormatError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    for line, text in _lines(path):
        if not text.strip():
            continue
        try:
            yield line, json.loads(text)
        except json.JSONDecodeError as exc:
            raise ImportFormatError(path, f"invalid JSON: {exc.msg} (column {exc.colno})", line) from None


def _json_list(path: Path) -> list[tuple[int, Any]]:
    """A JSON list of objects, numbered from 1 (``line`` in errors is then the item number)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ImportFormatError(path, f"invalid JSON: {exc.msg}", exc.lineno) from None
    except UnicodeDecodeError as exc:
        raise ImportFormatError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise ImportFormatError(path, "expected a JSON list of objects")
    return list(enumerate(data, start=1))


class _CsvRows:
    """Rows of a CSV file with their line numbers (the header is line 1)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportFormatError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        reader = csv.reader(self.text.splitlines(keepends=True))
        try:
            self.fieldnames = [c.strip() for c in next(reader)]
        except StopIteration:
            raise ImportFormatError(path, "empty CSV file (no header row)") from None
        except csv.Error as exc:
            raise ImportFormatError(path, f"unreadable CSV: {exc}", 1) from None

    def __iter__(self) -> Iterator[tuple[int, dict[str, str]]]:
        reader = csv.reader(self.text.splitlines(keepends=True))
        next(reader)
        width = len(self.fieldnames)
        while True:
            line = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise ImportFormatError(self.path, f"unreadable CSV: {exc}", line) from None
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != width:
                raise ImportFormatError(self.path, f"expected {width} columns, found {len(cells)}", line)
            yield line, dict(zip(self.fieldnames, cells, strict=True))


def _csv_rows(path: Path) -> _CsvRows:
    return _CsvRows(_readable_file(path))


def _cell(row: dict[str, str], column: str, path: Path, line: int) -> str:
    value = (row.get(column) or "").strip()
    if not value:
        raise ImportFormatError(path, f"empty {column!r}", line)
    return value


def _split(cell: str, separator: str = TRUTHFULQA_SEPARATOR) -> list[str]:
    return [part.strip() for part in cell.split(separator) if part.strip()]


def _dedupe(items: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        if item and item.casefold() not in seen:
            seen.add(item.casefold())
            out.append(item)
    return out
