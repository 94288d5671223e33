"""``webgpt eval``: answer a question set with a policy on a corpus and measure the answers.

    webgpt eval --questions ../shared/data/qa/nq_open_dev.jsonl --corpus wiki --split test --limit 200
    webgpt eval ... --policy runs/bc --best_of 1,4,16 --reward_model runs/rm     # quality against n
    webgpt eval ... --policy scripted                  # the scripted policy with the extractive answerer
    webgpt eval ... --policy closed-book               # the model answers without browsing
    webgpt eval ... --policy bm25-top3                 # the model reads BM25's top 3 passages, no browsing

Per question: accuracy (normalised exact match and containment), containment at most ``max_words``
words, words, citations, share of sentences cited, share of cited quotes that verify, correct answers
whose gold lies in a cited quote, declines, actions, latency. Reported overall and on the questions whose
answer BM25 reaches (``--reachable``, a cache written by ``bench/teacher.py``). Writes ``report.json``,
``report.md`` (a table), ``answers.jsonl`` and ``quality_vs_n.png`` to ``output_dir``. Reads only the
``--split`` you give (``test`` by default): training never reads ``test``.

``answers.jsonl`` grows one question at a time, so a long run that is stopped resumes where it stopped
when run again with the same settings into the same ``output_dir`` (``settings.json`` there records
them; other settings are refused rather than mixed in).
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent.config import RANKER_HELP
from agent.models import SHIPPED_POLICY_ID
from agent.policies import load_named_agent
from browser_env.config import EnvConfig
from training.answer_metrics import correct_within, mean, score_answer
from training.common import load_reachable, reachable_hint, split_questions

DEFAULT_MAX_ACTIONS = EnvConfig().max_actions

BASELINES = ("closed-book", "bm25-top3")


@dataclass
class EvalConfig:
    """Evaluation settings (every field is a ``webgpt eval`` flag)."""

    questions: str = field(default="", metadata={"help": "Question set: NQ JSONL, TruthfulQA CSV, HotpotQA."})
    corpus: str = field(default="default", metadata={"help": "Corpus to browse."})
    split: str = field(default="test", metadata={"help": "test, train or all (the fixed question split)."})
    limit: int | None = field(
        default=None, metadata={"help": "At most this many questions (counted after --reachable_only)."}
    )
    policy: str = field(
        default=SHIPPED_POLICY_ID,
        metadata={"help": "Model id or folder, scripted, closed-book or bm25-top3."},
    )
    mode: str | None = field(default=None, metadata={"help": "free, guided or scheduled (model policies)."})
    best_of: str = field(default="1", metadata={"help": "Candidates per question; a comma list compares n."})
    reward_model: str | None = field(default=None, metadata={"help": "Reward model for best_of > 1."})
    ranker: str | None = field(default=None, metadata={"help": RANKER_HELP})
    temperature: float | None = None
    seed: int = 0
    max_words: int = field(default=40, metadata={"help": "Accuracy is also reported at most this long."})
    max_actions: int = field(
        default=DEFAULT_MAX_ACTIONS, metadata={"help": "Browsing actions per episode (the env's budget)."}
    )
    reachable: str | None = field(default=None, metadata={"help": "reachable-<corpus>.json (bench/teacher)."})
    reachable_only: bool = field(
        default=False, metadata={"help": "Only the questions whose answer BM25 reaches (needs --reachable)."}
    )
    output_dir: str = field(default="runs/eval", metadata={"help": "Where the report goes."})
    device: str | None = None

    def __post_init__(self) -> None:
        if self.split not in ("test", "train", "all"):
            raise ValueError(f"split must be test, train or all, not {self.split!r}")
        if self.max_actions < 1:
            raise ValueError(f"max_actions must be at least 1, not {self.max_actions}")
        if self.ranker is not None and self.policy in BASELINES:
            raise ValueError(f"{self.policy} answers without browsing: drop --ranker")
        if not self.best_of_values or min(self.best_of_values) < 1:
            raise ValueError(f"best_of must be a comma list of whole numbers >= 1, not {self.best_of!r}")

    @property
    def best_of_values(self) -> list[int]:
        try:
            return sorted({int(v) for v in str(self.best_of).split(",") if v.strip()})
        except ValueError:
            return []


@dataclass
class QuestionResult:
    question: str
    golds: list[str]
    n: int
    answer: str
    declined: bool
    reachable: bool | None
    actions: int
    seconds: float
    reward: float | None
    score: dict[str, Any]
    any_right: bool | None = None  # some candidate of the first n right at ≤ max words (a perfect pick)


def summarize(rows: list[QuestionResult]) -> dict[str, Any]:
    """The means of every metric over ``rows``; shares in percent, rounded."""
    if not rows:
        return {"questions": 0}

    def pct(values: list[Any]) -> float | None:
        value = mean(values)
        return None if value is None else round(100 * value, 1)

    answered = [r for r in rows if not r.declined]
    correct = [r for r in rows if r.score["correct"]]
    return {
        "questions": len(rows),
        "accuracy_exact": pct([r.score["exact"] for r in rows]),
        "accuracy": pct([r.score["correct"] for r in rows]),
        "accuracy_short": pct([r.score["correct_short"] for r in rows]),
        "claim_correct": pct([r.score.get("claim_correct") for r in rows]),
        "correct_and_cited": pct([r.score["correct_and_cited"] for r in rows]),
        "correct_citing_gold": pct([r.score["correct_and_cited"] for r in correct]),
        "correct_citing_source": pct([r.score.get("correct_and_sourced") for r in correct]),
        "quotes_hold_gold": pct([r.score.get("gold_in_quotes") for r in rows]),
        "lead_correct": pct([r.score.get("lead_correct") for r in rows]),
        "any_right_short": pct([r.any_right for r in rows]),
        "excerpts_verbatim": pct([r.score.get("excerpts_verbatim") for r in answered]),
        "with_citation": pct([r.score["has_citation"] for r in answered]),
        "sentences_cited": pct([r.score["cited_share"] for r in answered]),
        "citations_verified": pct([r.score["verified_share"] for r in answered]),
        "declined": pct([r.declined for r in rows]),
        "mean_words": round(statistics.fmean(r.score["words"] for r in answered), 1) if answered else None,
        "mean_actions": round(statistics.fmean(r.actions for r in rows), 1),
        "p50_seconds": round(statistics.median(r.seconds for r in rows), 2),
    }


def _baseline_quotes(kind: str, question: str, corpus: Any) -> list[Any]:
    from demonstrations.schemas import QuoteRecord

    if kind == "closed-book":
        return []
    results = corpus.search.search(question, k=3)
    return [QuoteRecord(url=r.url, title=r.title, domain="", text=r.snippet) for r in results]


def _answer_without_browsing(kind: str, question: str, corpus: Any, answerer: Any) -> tuple[str, list[Any]]:
    quotes = _baseline_quotes(kind, question, corpus)
    (text,) = answerer.write(question, quotes, n=1)
    return text, quotes


def evaluate(config: EvalConfig) -> dict[str, Any]:
    """Run the evaluation ``config`` describes; returns the report (also written to ``output_dir``)."""
    from agent.models import DEFAULT_MODEL_ID
    from agent.reward import load_reward_model
    from browser_env.corpus import ensure_default_corpus, open_corpus

    questions = split_questions(config.questions, config.split)
    if not questions:
        raise ValueError(f"{config.questions}: no questions with gold answers in split {config.split!r}")
    if max(config.best_of_values) > 1 and config.reward_model is None:
        raise ValueError("best_of above 1 needs --reward_model to choose the best answer")
    reachable: dict[str, bool] = {}
    if config.reachable:
        reachable = load_reachable(config.reachable)
    elif config.reachable_only:
        raise ValueError("--reachable_only needs --reachable (a cache written by bench/teacher.py)")
    unknown = [q.question for q in questions if reachable and q.question not in reachable]
    if unknown:
        raise ValueError(
            f"{config.reachable} has no entry for {len(unknown)} of the {len(questions)} questions (the "
            f"first: {unknown[0]!r}); add them with: "
            + reachable_hint(config.corpus, config.questions, config.split)
        )
    if config.reachable_only:
        questions = [q for q in questions if reachable[q.question]]
    questions = questions[: config.limit] if config.limit else questions
    wanted = {q.question for q in questions}
    results = [r for r in _resume(config) if r.question in wanted]
    done = {r.question for r in results}
    questions = [q for q in questions if q.question not in done]
    corpus = ensure_default_corpus() if config.corpus == "default" else open_corpus(config.corpus)
    name = DEFAULT_MODEL_ID if config.policy in BASELINES else config.policy
    mode = None if config.policy in BASELINES else config.mode
    agent = load_named_agent(
        name,
        mode=mode,
        temperature=config.temperature,
        seed=config.seed,
        device=config.device,
        ranker=config.ranker,
    )
    reward = load_reward_model(config.reward_model, device=config.device) if config.reward_model else None
    values = config.best_of_values
    for question in questions:
        if config.policy in BASELINES:
            started = time.perf_counter()
            text, quotes = _answer_without_browsing(config.policy, question.question, corpus, agent.answerer)
            seconds = time.perf_counter() - started
            outcomes = {n: _Pick(text, quotes, False, 0, None, [], seconds) for n in values}
        else:
            outcomes = _best_of_each_n(
                question.question, agent, corpus, values, reward, EnvConfig(max_actions=config.max_actions)
            )
        rows = []
        for n, pick in outcomes.items():
            score = score_answer(
                pick.text,
                question.gold_answers,
                pick.quotes,
                declined=pick.declined,
                verified=pick.verified,
                max_words=config.max_words,
            )
            rows.append(
                QuestionResult(
                    question=question.question,
                    golds=list(question.gold_answers),
                    n=n,
                    answer=pick.text,
                    declined=pick.declined,
                    reachable=reachable.get(question.question) if reachable else None,
                    actions=pick.actions,
                    seconds=round(pick.seconds, 3),
                    reward=pick.reward,
                    score=asdict(score),
                    any_right=None
                    if pick.candidates is None
                    else any(
                        correct_within(t, question.gold_answers, config.max_words) for t in pick.candidates
                    ),
                )
            )
        _append(config, rows)
        results.extend(rows)
    report = _report(config, results)
    _write(config, report)
    return report


_NOT_SETTINGS = ("limit", "output_dir", "device")
_SETTINGS_ADDED: dict[str, Any] = {"max_actions": DEFAULT_MAX_ACTIONS, "ranker": None}
"""Settings that reports written before them lack, at the value those reports ran with."""


def _settings(config: EvalConfig) -> dict[str, Any]:
    return {k: v for k, v in asdict(config).items() if k not in _NOT_SETTINGS}


def _resume(config: EvalConfig) -> list[QuestionResult]:
    """The rows an earlier run with the same settings left in ``output_dir`` (none for a new folder).
    A line cut short by a killed run is dropped, and so is its question: it runs again."""
    folder = Path(config.output_dir)
    settings_path, answers_path = folder / "settings.json", folder / "answers.jsonl"
    settings = _settings(config)
    if settings_path.is_file() and answers_path.is_file():
        earlier = _SETTINGS_ADDED | json.loads(settings_path.read_text(encoding="utf-8"))
        if earlier != settings:
            changed = sorted(k for k in settings if earlier.get(k) != settings[k])
            raise ValueError(
                f"{folder} holds an evaluation with other settings ({', '.join(changed)}); "
                "choose another --output_dir or remove that folder"
            )
        rows: list[QuestionResult] = []
        for line in answers_path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(QuestionResult(**json.loads(line)))
            except (json.JSONDecodeError, TypeError):
                break
        counts = Counter(r.question for r in rows)
        complete = [r for r in rows if counts[r.question] == len(config.best_of_values)]
        answers_path.write_text(
            "".join(json.dumps(asdict(r), ensure_ascii=False) + "\n" for r in complete), encoding="utf-8"
        )
        return complete
    folder.mkdir(parents=True, exist_ok=True)
    settings_path.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    answers_path.write_text("", encoding="utf-8")
    return []


def _append(config: EvalConfig, rows: list[QuestionResult]) -> None:
    with (Path(config.output_dir) / "answers.jsonl").open("a", encoding="utf-8") as out:
        out.write("".join(json.dumps(asdict(row), ensure_ascii=False) + "\n" for row in rows))
        out.flush()


@dataclass
class _Pick:
    """What one question's answer at one n is: the pick, and the answers it was picked from."""

    text: str
    quotes: list[Any]
    declined: bool
    actions: int
    reward: float | None
    verified: list[bool | None]
    seconds: float
    candidates: list[str] | None = None  # the texts of the answered candidates (None: no pick made)


def _best_of_each_n(
    question: str, agent: Any, corpus: Any, values: list[int], reward: Any, env_config: EnvConfig
) -> dict[int, _Pick]:
    """One set of ``max(values)`` sampled candidates, and for each n the reward model's pick among the
    first n (as more samples would have been drawn one by one): quality against n from one run. The
    time for n is that of its first n episodes, plus the scoring when n > 1 (a policy that browses the
    same way every time browses once and samples every answer there: its time is that one episode's,
    all answers included, for every n)."""
    from agent.best_of_n import best_of_n, select_best

    most = max(values)
    episode_seconds: list[float] = []
    started = time.perf_counter()

    def timed(_: Any) -> None:
        episode_seconds.append(time.perf_counter() - started - sum(episode_seconds))

    outcome = best_of_n(
        question,
        agent.policy,
        corpus.search,
        corpus.fetcher,
        n=most,
        reward_model=reward if most > 1 else None,
        answerer=agent.answerer,
        corpus=corpus.name,
        config=env_config,
        on_episode=timed,
        batch_answers=False,  # each episode answers in turn, so the first n episodes' time is best-of-n's
    )
    scoring = outcome.timings.reward
    picks = {}
    for n in values:
        best = select_best(outcome.candidates[:n])
        verified = [r.verified for r in best.answer.references if r.cited]
        seconds = sum(episode_seconds[:n]) + (scoring * n / most if n > 1 else 0.0)
        picks[n] = _Pick(
            best.answer.text,
            best.record.quotes,
            best.answer.declined,
            len(best.actions),
            best.reward if n > 1 else None,
            verified,
            seconds,
            [c.answer.text for c in outcome.candidates[:n] if not c.answer.declined],
        )
    return picks


def _report(config: EvalConfig, results: list[QuestionResult]) -> dict[str, Any]:
    by_n: dict[str, Any] = {}
    for n in config.best_of_values:
        rows = [r for r in results if r.n == n]
        entry = {"all": summarize(rows)}
        if any(r.reachable is not None for r in rows):
            entry["reachable"] = summarize([r for r in rows if r.reachable])
        by_n[str(n)] = entry
    return {"config": asdict(config), "by_n": by_n}


def markdown_table(report: dict[str, Any]) -> str:
    """The report as a Markdown table: one row per n and question subset."""
    columns = (
        ("accuracy", "accuracy %"),
        ("accuracy_short", "≤ max words %"),
        ("claim_correct", "right, titles aside %"),
        ("correct_and_cited", "correct and cited %"),
        ("correct_citing_gold", "right citing gold %"),
        ("correct_citing_source", "right citing gold, titles too %"),
        ("lead_correct", "lead right %"),
        ("any_right_short", "a candidate right, ≤ max words %"),
        ("quotes_hold_gold", "quotes hold gold %"),
        ("excerpts_verbatim", "excerpts verbatim %"),
        ("sentences_cited", "sentences cited %"),
        ("citations_verified", "citations verify %"),
        ("declined", "declined %"),
        ("mean_words", "words"),
        ("mean_actions", "actions"),
        ("p50_seconds", "p50 s"),
    )
    lines = [
        "| policy | n | questions | " + " | ".join(label for _, label in columns) + " |",
        "|---" * (len(columns) + 3) + "|",
    ]
    policy = report["config"]["policy"]
    for n, entry in report["by_n"].items():
        for subset, summary in entry.items():
            values = " | ".join("—" if summary.get(key) is None else str(summary[key]) for key, _ in columns)
            lines.append(f"| {policy} ({subset}) | {n} | {summary['questions']} | {values} |")
    return "\n".join(lines) + "\n"


def _write(config: EvalConfig, report: dict[str, Any]) -> None:
    folder = Path(config.output_dir)
    (folder / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (folder / "report.md").write_text(markdown_table(report), encoding="utf-8")
    if len(config.best_of_values) > 1:
        _plot_quality(report, folder / "quality_vs_n.png")


def _plot_quality(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = [int(n) for n in report["by_n"]]
    figure, axis = plt.subplots(figsize=(6, 4), dpi=100)
    for key in ("accuracy", "accuracy_short", "correct_and_cited"):
        axis.plot(ns, [report["by_n"][str(n)]["all"][key] for n in ns], marker="o", label=key)
    axis.set_xscale("log", base=2)
    axis.set_xlabel("n (best of)")
    axis.set_ylabel("%")
    axis.set_title(f"Quality against n: {report['config']['policy']}")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    """``webgpt eval``: parse flags (and ``--config``), evaluate, print the table."""
    from trl import TrlParser

    try:
        (config,) = TrlParser(dataclass_types=[EvalConfig]).parse_args_and_config(args=argv)
        report = evaluate(config)
    except (FileNotFoundError, ValueError) as error:
        print(f"Error: {error}")
        return 2
    print(markdown_table(report), end="")
    print(f"report: {Path(config.output_dir) / 'report.json'}")
    return 0
