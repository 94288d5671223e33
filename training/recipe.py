"""The recipe of the shipped weights, end to end, one resumable command:

    webgpt train recipe                              # all stages, into runs/ship
    webgpt train recipe --stages bc,samples,rm      # some of them

Stages (each skipped when its output is there, so running the command again resumes; one whose
output was made with other settings is refused, see ``STAGE_SETTINGS``). Each stage's
seconds go to ``<output_dir>/timings.json``: a stage whose last output was already there keeps the time
it took then, and a resumed stage records the resumed part.

1. ``demos``: the scripted demonstrator on the training split of the questions (never the test split);
2. ``window_demos`` (unless ``window_browse_rows`` is 0): the guided policy's teacher on the
   BM25-reachable training questions after the first ``ranker_held_out``, episodes kept where a quote
   holds the gold (``training.window_demos``; no model): with ``guided_reading`` page (the default) the
   skimming teacher, which reads the result the ranker rates highest to its end and quotes its best
   sentence (about 7 minutes), with window the window schedule (about 2 minutes);
3. ``browsed`` (only with ``browsed_questions``): scheduled browsing quoting the best sentence of each
   of three results on that many BM25-reachable training questions after the first ``ranker_held_out``,
   and the answer rows of those whose quotes hold the gold, citing that quote
   (``training.browsed_answers``: which of the ranker's quotes answers; about 1.5 s a question here;
   off by default, as the 135M policy trained on them chose worse than the ranker's order);
4. ``data``: behaviour-cloning rows: the demonstrations' answer rows, answer rows from reading BM25's
   results (``demonstrations.reading_rows``), every browsed answer row and a sample of the
   demonstrations' browsing rows (from answered and from declined episodes), mixed and shuffled with
   the seed;
5. ``bc``: ``webgpt train bc`` with the BC preset (``--quoted_pages 3`` after the browsed stage: the
   policy answers from the three quotes it was trained to choose among);
6. ``guided`` (unless ``window_browse_rows`` is 0): the bc policy trained on at
   ``guided_learning_rate``: ``webgpt train bc --init_adapter`` on ``window_browse_rows`` of the
   teacher's browsing decisions (reading pages: its scrolls left out, its quotes cut to the command) and
   ``guided_answer_rows`` answer rows (reading pages: the teacher's quotes answered in the trained
   format; else the mix's again; ``guided_rows``), so that it browses by itself (``webgpt.json``:
   ``mode: guided``, and ``guided_skim`` with ``guided_compare_pages`` 3 when reading pages); installed
   beside the bc policy as ``webgpt-135m-guided``, what ``webgpt ask`` uses by default;
7. ``samples``: the trained policy writes ``sample_answers`` answers to held-back reading prompts
   (answer rows not in the BC mix); each becomes an answer-only episode, the input of automatic
   comparisons (a correct, supported answer against one that is not);
8. ``ranker``: ``webgpt train ranker`` on the training questions after the split's first
   ``ranker_held_out`` (its held-out report), ``ranker_questions`` of them (0: all; about 10 minutes);
9. ``candidates`` (only with ``on_policy_questions``): the trained policy, browsing with that ranker,
   samples ``on_policy_n`` episodes for each of that many BM25-reachable training questions after the
   first ``ranker_held_out`` (``webgpt train rs --pick gold``): automatic comparisons of its own
   browsing, the data that teaches a reward model to judge the policy's answers (30–40 minutes for 600
   questions on two CPU cores, so off by default there);
10. ``rm``: ``webgpt train rm`` with the RM preset on TruthfulQA pairs and those automatic comparisons;
11. ``install``: the adapters (bf16) and the sentence ranker into ``agent/weights/``, where
    ``webgpt ask`` finds them.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from agent.config import AGENT_CONFIG, MAX_QUOTED_PAGES, read_json_object

STAGES = (
    "demos",
    "window_demos",
    "browsed",
    "data",
    "bc",
    "guided",
    "samples",
    "ranker",
    "candidates",
    "rm",
    "install",
)
STAGE_SETTINGS: dict[str, tuple[str, ...]] = {
    "demos": ("questions", "corpus", "seed"),
    "browsed": (
        "questions",
        "corpus",
        "seed",
        "ranker_held_out",
        "reachable",
        "browsed_questions",
        "browsed_variants",
    ),
    "data": (
        "questions",
        "corpus",
        "seed",
        "reading_variants",
        "reading_rows",
        "answered_browse_rows",
        "declined_browse_rows",
        "browsed_questions",
        "browsed_variants",
    ),
    "window_demos": ("questions", "corpus", "ranker_held_out", "reachable", "guided_reading"),
    "guided": ("seed", "window_browse_rows", "guided_answer_rows", "guided_reading", "guided_learning_rate"),
    "samples": ("seed", "sample_answers", "sample_prompts"),
    "ranker": ("questions", "corpus", "seed", "ranker_questions", "ranker_held_out"),
    "candidates": ("questions", "corpus", "seed", "on_policy_questions", "on_policy_n", "reachable"),
}
"""The settings each skipped stage's output depends on: a stage found finished with other settings is
refused, not skipped (``bc`` and ``rm`` resume from their checkpoints instead)."""
ROOT = Path(__file__).resolve().parents[1]
GUIDED_READINGS = ("page", "window")
# Results the guided policy reads before it quotes the best sentence of them, as scheduled browsing does.
GUIDED_COMPARE_PAGES = 3


@dataclass
class RecipeConfig:
    """The shipped recipe's settings (every field is a ``webgpt train recipe`` flag)."""

    questions: str = field(
        default=str(ROOT.parent / "shared" / "data" / "qa" / "nq_open_dev.jsonl"),
        metadata={"help": "Questions with gold answers (NQ-open JSONL); only the train split is used."},
    )
    truthfulqa: str = field(
        default=str(ROOT.parent / "shared" / "data" / "qa" / "TruthfulQA.csv"),
        metadata={"help": "TruthfulQA CSV for reward-model pairs ('' to leave them out)."},
    )
    corpus: str = field(default="wiki", metadata={"help": "Corpus the demonstrations browse."})
    output_dir: str = field(default="runs/ship", metadata={"help": "Folder of every stage's outputs."})
    stages: str = field(default=",".join(STAGES), metadata={"help": "Comma list of stages to run."})
    seed: int = 0
    reading_variants: int = field(default=3, metadata={"help": "Answer rows per question read."})
    reading_rows: int = field(default=620, metadata={"help": "Reading answer rows in the BC mix."})
    answered_browse_rows: int = field(default=330, metadata={"help": "Browsing rows of answered episodes."})
    declined_browse_rows: int = field(default=90, metadata={"help": "Browsing rows of declined episodes."})
    window_browse_rows: int = field(
        default=720,
        metadata={
            "help": "Browsing rows of the window demonstrations the guided stage trains on (0: the "
            "window_demos and guided stages are skipped and the bc policy is the one installed)."
        },
    )
    browsed_questions: int = field(
        default=0,
        metadata={
            "help": "BM25-reachable training questions browsed for answer rows that choose among three "
            "quotes, and the policy then quotes three pages (0: none; the 135M policy chose worse than "
            "the ranker's order, so off)."
        },
    )
    browsed_variants: int = field(
        default=1,
        metadata={
            "help": "Quote orders per browsed question: the order browsing collected them, then shuffles "
            "(shuffles taught the policy to leave the ranker's best quote more often, and worse)."
        },
    )
    guided_answer_rows: int = field(
        default=250,
        metadata={
            "help": "Answer rows the guided stage trains on: the BC mix's again (window reading) or from "
            "the skimming teacher's quotes (page reading)."
        },
    )
    guided_reading: str = field(
        default="page",
        metadata={
            "help": "How the guided policy reads a page: page (to its end before the model chooses there, "
            "taught by the skimming teacher) or window (the model chooses at every window, taught by "
            "the window schedule)."
        },
    )
    corroboration: bool = field(
        default=True,
        metadata={
            "help": "The installed policies weigh the best sentences read again by how often other "
            "results of a search for the question repeat their new words (webgpt.json)."
        },
    )
    guided_learning_rate: float = field(
        default=1e-4, metadata={"help": "Learning rate of the guided stage (the BC adapter trained on)."}
    )
    bc_preset: str = str(ROOT / "training" / "presets" / "bc-smollm2-cpu.yaml")
    rm_preset: str = str(ROOT / "training" / "presets" / "rm-smollm2-cpu.yaml")
    sample_answers: int = field(default=4, metadata={"help": "Answers sampled per held-back prompt."})
    sample_prompts: int = field(default=42, metadata={"help": "Held-back prompts the policy answers."})
    ranker_questions: int = field(
        default=0, metadata={"help": "Questions the sentence ranker fits on (0: all it may use)."}
    )
    ranker_held_out: int = field(
        default=320, metadata={"help": "The train split's first questions the ranker reports on, not fit on."}
    )
    on_policy_questions: int = field(
        default=0,
        metadata={
            "help": "BM25-reachable training questions the trained policy browses on_policy_n times each "
            "for the reward model's automatic comparisons (0: none; about 3 s a question here, so use it "
            "on a GPU)."
        },
    )
    on_policy_n: int = field(default=8, metadata={"help": "Episodes sampled per on-policy question."})
    reachable: str = field(
        default=str(ROOT / "bench" / "results" / "reachable-wiki.json"),
        metadata={"help": "Which questions BM25 reaches in the corpus (bench/teacher.py writes it)."},
    )
    bc_flags: str = field(default="", metadata={"help": "Extra `train bc` flags, e.g. '--base_model X'."})
    rm_flags: str = field(default="", metadata={"help": "Extra `train rm` flags."})
    weights_dir: str = field(
        default="", metadata={"help": "Install into this folder (default agent/weights)."}
    )

    def __post_init__(self) -> None:
        if self.guided_reading not in GUIDED_READINGS:
            raise ValueError(
                f"guided_reading must be {' or '.join(GUIDED_READINGS)}, not {self.guided_reading!r}"
            )

    def stage_list(self) -> list[str]:
        chosen = [s.strip() for s in self.stages.split(",") if s.strip()]
        unknown = [s for s in chosen if s not in STAGES]
        if unknown:
            raise ValueError(f"unknown stage {unknown[0]!r}: use {', '.join(STAGES)}")
        return chosen


class Recipe:
    def __init__(self, config: RecipeConfig) -> None:
        self.config = config
        self.out = Path(config.output_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self.demos_db = self.out / "demos.sqlite"
        self.demos_summary = self.out / "demos.json"  # written last
        self.window_db = self.out / "window-demos.sqlite"
        self.window_summary = self.out / "window-demos.json"  # written last
        self.browsed_rows = self.out / "browsed.jsonl"
        self.browsed_summary = self.out / "browsed.json"  # written last
        self.bc_data = self.out / "bc.jsonl"
        self.held_back = self.out / "held-back-reading.jsonl"
        self.samples = self.out / "answer-samples.jsonl"
        self.truthfulqa_pairs = self.out / "truthfulqa-pairs.jsonl"
        self.bc_dir = self.out / "bc"
        self.guided_data = self.out / "guided.jsonl"
        self.guided_dir = self.out / "guided"
        self.rm_dir = self.out / "rm"
        self.ranker_file = self.out / "sentence-ranker.json"
        self.on_policy = self.out / "on-policy-candidates.sqlite"
        self.on_policy_summary = self.out / "on-policy.json"  # written last

    # stages ----------------------------------------------------------------------------------------
    def train_questions(self) -> list[Any]:
        from training.common import split_questions

        return split_questions(self.config.questions, "train")

    def demos(self) -> None:
        if self.finished("demos"):
            return
        from browser_env.corpus import open_corpus
        from demonstrations.generate import generate_demonstrations
        from demonstrations.scripted import ScriptedConfig
        from demonstrations.store import EpisodeStore

        self.demos_db.unlink(missing_ok=True)  # a half-made store from an interrupted run
        questions = self.train_questions()
        with open_corpus(self.config.corpus) as corpus, EpisodeStore(self.demos_db) as store:
            result = generate_demonstrations(
                questions, corpus, store, ScriptedConfig(), seed=self.config.seed
            )
        _write_json(self.demos_summary, result.to_dict())

    def window_demos(self) -> None:
        if not self.config.window_browse_rows or self.finished("window_demos"):
            return
        from browser_env.corpus import open_corpus
        from demonstrations.store import EpisodeStore
        from training.common import reachable_only
        from training.window_demos import PAGE_SCHEDULE, WINDOW_SCHEDULE, window_demonstrations

        questions = reachable_only(self.train_questions(), self.config.reachable)
        schedule = PAGE_SCHEDULE if self.reads_pages else WINDOW_SCHEDULE
        self.window_db.unlink(missing_ok=True)  # a half-made store from an interrupted run
        with open_corpus(self.config.corpus) as corpus, EpisodeStore(self.window_db) as store:
            summary = window_demonstrations(
                questions[self.config.ranker_held_out :],
                corpus,
                store,
                schedule=schedule,
                on_question=_progress("window demonstrations", 50),
            )
        _write_json(self.window_summary, summary.to_dict())

    def browsed(self) -> None:
        if not self.config.browsed_questions or self.finished("browsed"):
            return
        from browser_env.corpus import open_corpus
        from training.browsed_answers import browsed_answer_rows
        from training.common import reachable_only

        questions = reachable_only(self.train_questions(), self.config.reachable)
        chosen = questions[self.config.ranker_held_out :][: self.config.browsed_questions]
        started = time.perf_counter()

        def progress(done: int, total: int, kept: int) -> None:
            _report("browsed answers", 50, done, total, kept, time.perf_counter() - started)

        with open_corpus(self.config.corpus) as corpus:
            rows = list(
                browsed_answer_rows(
                    corpus,
                    chosen,
                    variants=self.config.browsed_variants,
                    seed=self.config.seed,
                    on_question=progress,
                )
            )
        _write_jsonl(self.browsed_rows, rows)
        kept = len({row["episode_id"] for row in rows})  # one episode id per question
        seconds = round(time.perf_counter() - started, 1)
        _write_json(
            self.browsed_summary,
            {"questions": len(chosen), "kept": kept, "rows": len(rows), "seconds": seconds},
        )

    def browsed_answer_rows(self) -> list[dict[str, Any]]:
        """The browsed stage's answer rows (none when that stage was not asked for)."""
        if not self.config.browsed_questions:
            return []
        if not self.finished("browsed"):
            raise FileNotFoundError(f"{self.browsed_summary} is missing: run the browsed stage first")
        return _read_jsonl(self.browsed_rows)

    @property
    def reads_pages(self) -> bool:
        return self.config.guided_reading == "page"

    def window_rows(self) -> list[dict[str, Any]]:
        """The window demonstrations' browsing rows (none when that stage was not asked for); reading
        pages, less the scrolls the policy takes without its model."""
        if not self.config.window_browse_rows:
            return []
        if not self.finished("window_demos"):
            raise FileNotFoundError(f"{self.window_summary} is missing: run the window_demos stage first")
        from demonstrations.exports import bc_rows
        from demonstrations.store import EpisodeStore
        from training.window_demos import skimming_decisions

        with EpisodeStore(self.window_db) as store:
            rows = list(bc_rows(store.iter_episodes(), include_answers=False))
        return skimming_decisions(rows) if self.reads_pages else rows

    def guided_answers(self) -> list[dict[str, Any]]:
        """The answer rows the guided stage trains on: the BC mix's again; reading pages, first the
        skimming teacher's (its quotes answered in the trained format), then the mix's, drawn with the
        seed, up to ``guided_answer_rows``."""
        mix = [r for r in _read_jsonl(self.bc_data) if r["kind"] == "answer"]
        if not self.reads_pages:
            return mix
        from demonstrations.store import EpisodeStore
        from training.window_demos import teacher_answer_rows

        with EpisodeStore(self.window_db) as store:
            teacher = list(teacher_answer_rows(store.iter_episodes()))
        random.Random(self.config.seed).shuffle(mix)
        return teacher + mix[: max(0, self.config.guided_answer_rows - len(teacher))]

    def data(self) -> None:
        if self.finished("data"):
            return
        from browser_env.corpus import open_corpus
        from demonstrations.exports import bc_rows
        from demonstrations.reading_rows import reading_rows
        from demonstrations.store import EpisodeStore

        with EpisodeStore(self.demos_db) as store:
            demo_rows = list(bc_rows(store.iter_episodes()))
        with open_corpus(self.config.corpus) as corpus:
            read = list(
                reading_rows(
                    corpus,
                    self.train_questions(),
                    seed=self.config.seed,
                    top_k=20,
                    variants=self.config.reading_variants,
                )
            )
        mix, held_back = mix_rows(demo_rows, read, self.config, self.browsed_answer_rows())
        _write_jsonl(self.held_back, held_back)
        _write_jsonl(self.bc_data, mix)
        counts: dict[str, int] = {}
        for row in mix:
            key = f"{row['kind']}:{row['source']}"
            counts[key] = counts.get(key, 0) + 1
        _write_json(
            self.out / "data.json", {"rows": len(mix), "held_back": len(held_back), "by_kind": counts}
        )

    def bc(self) -> None:
        from training.bc import main

        flags = [
            "--config",
            self.config.bc_preset,
            "--data",
            str(self.bc_data),
            "--output_dir",
            str(self.bc_dir),
        ]
        if self.config.browsed_questions:
            flags += ["--quoted_pages", str(MAX_QUOTED_PAGES)]
        if self.config.corroboration:
            flags += ["--corroboration", "true"]
        if main([*flags, *self.config.bc_flags.split()]) != 0:
            raise RuntimeError("behaviour cloning failed (see above)")

    def guided(self) -> None:
        if not self.config.window_browse_rows:
            return
        from training.bc import main

        if not self.finished("bc"):
            raise FileNotFoundError(f"{self.bc_dir} holds no trained policy: run the bc stage first")
        _write_jsonl(self.guided_data, guided_rows(self.window_rows(), self.guided_answers(), self.config))
        flags = ["--config", self.config.bc_preset, "--data", str(self.guided_data)]
        flags += [
            "--output_dir",
            str(self.guided_dir),
            "--init_adapter",
            str(self.bc_dir),
            "--mode",
            "guided",
            "--learning_rate",
            str(self.config.guided_learning_rate),
        ]
        if self.reads_pages:
            flags += ["--guided_skim", "true", "--guided_compare_pages", str(GUIDED_COMPARE_PAGES)]
            flags += ["--answer_model", os.path.relpath(self.bc_dir, self.guided_dir)]  # BC's answers
        if self.config.corroboration:
            flags += ["--corroboration", "true"]
        if main([*flags, *self.config.bc_flags.split()]) != 0:
            raise RuntimeError("guided-browsing training failed (see above)")

    def sample(self) -> None:
        if self.finished("samples"):
            return
        from training.answer_samples import sample_answer_episodes

        rows = _read_jsonl(self.held_back)
        random.Random(self.config.seed).shuffle(rows)
        episodes = sample_answer_episodes(
            str(self.bc_dir),
            rows[: self.config.sample_prompts],
            n=self.config.sample_answers,
            seed=self.config.seed,
        )
        _write_jsonl(self.samples, (e.model_dump(mode="json") for e in episodes))

    def candidates(self) -> None:
        if not self.config.on_policy_questions or self.finished("candidates"):
            return
        from training.rejection_sampling import RSConfig, rejection_sample

        winners = self.out / "on-policy-winners.sqlite"
        for store in (self.on_policy, winners):  # half-made stores of an interrupted run
            store.unlink(missing_ok=True)
        summary = rejection_sample(
            RSConfig(
                questions=self.config.questions,
                corpus=self.config.corpus,
                policy=str(self.bc_dir),
                ranker=str(self.ranker_file) if self.ranker_file.is_file() else None,
                pick="gold",
                n=self.config.on_policy_n,
                seed=self.config.seed,
                reachable=self.config.reachable,
                offset=self.config.ranker_held_out,
                limit=self.config.on_policy_questions,
                store=str(winners),
                candidates_store=str(self.on_policy),
            ),
            on_question=_progress("on-policy candidates", 10),
        )
        _write_json(self.on_policy_summary, summary.to_dict())

    def rm(self) -> None:
        from training.reward import main

        data: list[str] = []
        if self.config.truthfulqa:
            if not self.truthfulqa_pairs.is_file():
                from demonstrations.exports import comparison_rows
                from demonstrations.imports import read_truthfulqa_pairs

                _write_jsonl(
                    self.truthfulqa_pairs, comparison_rows(read_truthfulqa_pairs(self.config.truthfulqa))
                )
            data = ["--data", str(self.truthfulqa_pairs)]
        flags = ["--config", self.config.rm_preset, *data, "--automatic", *self.automatic_sources()]
        if main([*flags, "--output_dir", str(self.rm_dir), *self.config.rm_flags.split()]) != 0:
            raise RuntimeError("reward-model training failed (see above)")

    def automatic_sources(self) -> list[str]:
        """The episodes the reward model's automatic comparisons come from: the sampled answers, and the
        on-policy candidates when that stage ran."""
        sources = [str(self.samples)]
        if self.config.on_policy_questions and self.finished("candidates"):
            sources.append(str(self.on_policy))
        return sources

    def ranker(self) -> None:
        if self.finished("ranker"):
            return
        from training.sentence_ranker import main

        flags = ["--questions", self.config.questions, "--corpus", self.config.corpus, "--split", "train"]
        flags += ["--held_out", str(self.config.ranker_held_out), "--seed", str(self.config.seed)]
        if self.config.ranker_questions:
            flags += ["--limit", str(self.config.ranker_questions)]
        if main([*flags, "--output", str(self.ranker_file)]) != 0:
            raise RuntimeError("sentence-ranker fitting failed (see above)")

    def install(self) -> None:
        from agent.models import SHIPPED_GUIDED_ID, SHIPPED_POLICY_ID, SHIPPED_REWARD_ID, WEIGHTS_DIR
        from agent.sentence_ranker import SHIPPED_RANKER

        target = Path(self.config.weights_dir) if self.config.weights_dir else WEIGHTS_DIR
        install_adapter(self.bc_dir, target / SHIPPED_POLICY_ID)
        if self.config.window_browse_rows:
            answering = {"answer_model": f"../{SHIPPED_POLICY_ID}"} if self.reads_pages else {}
            install_adapter(self.guided_dir, target / SHIPPED_GUIDED_ID, answering)
        install_adapter(self.rm_dir, target / SHIPPED_REWARD_ID)
        if self.ranker_file.is_file():
            shutil.copy2(self.ranker_file, target / SHIPPED_RANKER.name)

    def last_output(self, stage: str) -> Path | None:
        """The file a stage writes last (None for ``install``)."""
        return {
            "demos": self.demos_summary,
            "window_demos": self.window_summary,
            "browsed": self.browsed_summary,
            "data": self.bc_data,
            "bc": self.bc_dir / AGENT_CONFIG,  # written after the model
            "guided": self.guided_dir / AGENT_CONFIG,
            "samples": self.samples,
            "ranker": self.ranker_file,
            "candidates": self.on_policy_summary,
            "rm": self.rm_dir / "train_results.json",  # written after the model
        }.get(stage)

    def finished(self, stage: str) -> bool:
        """Whether the stage's last output is there. ``demos``, ``data``, ``samples``, ``ranker`` and
        ``candidates`` are then skipped; ``bc`` and ``rm`` run again and resume from their checkpoints (a
        changed preset trains on); ``install`` is never finished: it always copies."""
        last = self.last_output(stage)
        return last is not None and last.is_file()

    def settings(self, stage: str) -> dict[str, Any]:
        """The stage's settings, the question file as an absolute path (however it was written)."""
        values = {name: getattr(self.config, name) for name in STAGE_SETTINGS.get(stage, ())}
        if "questions" in values:
            values["questions"] = str(Path(values["questions"]).resolve())
        return values

    def check_settings(self, stage: str, recorded: dict[str, Any]) -> None:
        """Refuse to skip a finished stage whose output was made with other settings than these."""
        before = recorded.get(stage)
        if not self.finished(stage) or before is None:
            return
        defaults = {f.name: f.default for f in fields(RecipeConfig)}  # for settings newer than the record
        made_with = {k: before.get(k, defaults[k]) for k in self.settings(stage)}
        changed = [
            f"{k}={made_with[k]!r} (now {v!r})" for k, v in self.settings(stage).items() if made_with[k] != v
        ]
        if changed:
            raise ValueError(
                f"the {stage} stage in {self.out} was made with {', '.join(changed)}; delete "
                f"{self.last_output(stage)} to make it again with the new settings, or use another "
                "--output_dir"
            )

    def run(self) -> None:
        actions = {
            "demos": self.demos,
            "window_demos": self.window_demos,
            "browsed": self.browsed,
            "data": self.data,
            "bc": self.bc,
            "guided": self.guided,
            "samples": self.sample,
            "ranker": self.ranker,
            "candidates": self.candidates,
            "rm": self.rm,
            "install": self.install,
        }
        timings_file = self.out / "timings.json"
        timings = _read_record(timings_file)
        settings_file = self.out / "stage-settings.json"
        recorded = _read_record(settings_file)
        for stage in self.config.stage_list():
            self.check_settings(stage, recorded)
        for stage in self.config.stage_list():
            print(f"== {stage}", flush=True)
            done_before = self.finished(stage)
            started = time.perf_counter()
            actions[stage]()
            seconds = round(time.perf_counter() - started, 1)
            if not (done_before and stage in timings):  # a stage done before keeps the time it took then
                timings[stage] = seconds
            timings["total"] = round(sum(v for k, v in timings.items() if k != "total"), 1)
            _write_json(timings_file, timings)
            if stage in STAGE_SETTINGS:
                recorded[stage] = self.settings(stage)
                _write_json(settings_file, recorded)
            print(f"== {stage}: {seconds:.0f} s (recipe so far {timings['total'] / 60:.1f} min)", flush=True)


def mix_rows(
    demo_rows: Sequence[dict[str, Any]],
    read_rows: Sequence[dict[str, Any]],
    config: RecipeConfig,
    browsed_rows: Sequence[dict[str, Any]] = (),
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The BC mix (every demonstration answer row, ``reading_rows`` reading rows, every browsed answer
    row and browsing rows of answered and declined episodes, each drawn with the seed) and the reading
    rows held back from it (whole questions, so the held-back prompts are new to the policy)."""
    rng = random.Random(config.seed)
    answered = {r["episode_id"] for r in demo_rows if r["kind"] == "answer"}
    answers = [r for r in demo_rows if r["kind"] == "answer"]
    browse_answered = [r for r in demo_rows if r["kind"] == "browse" and r["episode_id"] in answered]
    browse_declined = [r for r in demo_rows if r["kind"] == "browse" and r["episode_id"] not in answered]
    questions = sorted({r["episode_id"] for r in read_rows})
    rng.shuffle(questions)
    kept: set[str] = set()
    reading: list[dict[str, Any]] = []
    for key in questions:  # whole questions, until the reading budget is spent
        group = [r for r in read_rows if r["episode_id"] == key]
        if len(reading) + len(group) > config.reading_rows:
            break
        kept.add(key)
        reading += group
    held_back = [r for r in read_rows if r["episode_id"] not in kept]
    rng.shuffle(browse_answered)
    rng.shuffle(browse_declined)
    mix = [
        *answers,
        *reading,
        *browsed_rows,
        *browse_answered[: config.answered_browse_rows],
        *browse_declined[: config.declined_browse_rows],
    ]
    rng.shuffle(mix)
    return mix, held_back


def guided_rows(
    window_rows: Sequence[dict[str, Any]], answer_rows: Sequence[dict[str, Any]], config: RecipeConfig
) -> list[dict[str, Any]]:
    """What the guided stage trains the BC policy on: ``window_browse_rows`` of the window
    demonstrations' browsing rows and ``guided_answer_rows`` of ``answer_rows`` (so its answers are not
    forgotten), each drawn with the seed, shuffled together."""
    rng = random.Random(config.seed)
    window = list(window_rows)
    answers = list(answer_rows)
    rng.shuffle(window)
    rng.shuffle(answers)
    mix = [*window[: config.window_browse_rows], *answers[: config.guided_answer_rows]]
    rng.shuffle(mix)
    return mix


def _progress(label: str, every: int) -> Callable[[int, int, Any], None]:
    """A stage's progress line every ``every`` questions and at the last, from a summary with ``kept``
    and ``seconds`` (``_report``)."""

    def report(done: int, total: int, summary: Any) -> None:
        _report(label, every, done, total, summary.kept, summary.seconds)

    return report


def _report(label: str, every: int, done: int, total: int, kept: int, seconds: float) -> None:
    """``label: done/total questions, kept, seconds`` every ``every`` questions and at the last."""
    if done % every == 0 or done == total:
        print(f"{label}: {done}/{total} questions, {kept} kept, {seconds:.0f} s", flush=True)


def install_adapter(run: Path, target: Path, settings: dict[str, Any] | None = None) -> None:
    """Copy a run's final adapter (weights in bf16), its config and ``webgpt.json`` (``settings``
    replacing some of its keys: the installed names of other checkpoints it refers to)."""
    from safetensors.torch import load_file, save_file

    weights = run / "adapter_model.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(f"{run} holds no adapter_model.safetensors: train that stage first")
    scratch = target.with_name(f".{target.name}.new")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    tensors = {name: tensor.bfloat16().contiguous() for name, tensor in load_file(str(weights)).items()}
    save_file(tensors, str(scratch / weights.name), metadata={"format": "pt"})
    (scratch / weights.name).chmod(0o644)
    for name in ("adapter_config.json", "webgpt.json"):  # the tokenizer is the base model's
        if (run / name).is_file():
            shutil.copy2(run / name, scratch / name)
    if settings and (scratch / "webgpt.json").is_file():
        agent = json.loads((scratch / "webgpt.json").read_text(encoding="utf-8")) | settings
        (scratch / "webgpt.json").write_text(json.dumps(agent, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    scratch.rename(target)


def _write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    scratch = path.with_name(path.name + ".partial")
    with scratch.open("w", encoding="utf-8") as file:
        for row in rows:
            file.write(json.dumps(row, ensure_ascii=False) + "\n")
    scratch.replace(path)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]


def _read_record(path: Path) -> dict[str, Any]:
    """A JSON object the recipe wrote before ({} when there is none yet)."""
    return read_json_object(path, "; delete it and run again") or {}


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """``webgpt train recipe``: run the shipped recipe's stages."""
    from trl import TrlParser

    try:
        (config,) = TrlParser(dataclass_types=[RecipeConfig]).parse_args_and_config(args=argv)
        Recipe(config).run()
    except (FileNotFoundError, ValueError, RuntimeError) as error:
        print(f"Error: {error}")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
