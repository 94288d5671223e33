from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pytest

from agent.models import ModelNotFound, load_causal_lm, resolve_checkpoint
from training.answer_samples import sample_answer_episodes
from training.recipe import Recipe, RecipeConfig, guided_rows, install_adapter, main, mix_rows
from training.reward_data import automatic_comparisons


def _demo_rows() -> list[dict]:
    rows = []
    for episode in range(10):
        answered = episode < 4
        for step in range(5):
            rows.append(
                {
                    "kind": "browse",
                    "episode_id": f"e{episode}",
                    "prompt": f"{episode}/{step}",
                    "completion": "Back",
                    "source": "scripted",
                }
            )
        if answered:
            rows.append(
                {
                    "kind": "answer",
                    "episode_id": f"e{episode}",
                    "prompt": f"{episode}/a",
                    "completion": "x [1].",
                    "source": "scripted",
                }
            )
    return rows


def _read_rows() -> list[dict]:
    return [
        {
            "kind": "answer",
            "episode_id": f"reading:{q}",
            "prompt": f"{q}/{v}",
            "completion": "y [1].",
            "source": "reading",
        }
        for q in range(20)
        for v in range(3)
    ]


def test_the_mix_takes_what_the_recipe_says_and_holds_back_whole_questions() -> None:
    config = RecipeConfig(reading_rows=30, answered_browse_rows=7, declined_browse_rows=3, seed=5)
    mix, held_back = mix_rows(_demo_rows(), _read_rows(), config)
    kinds = [(r["kind"], r["source"]) for r in mix]
    assert kinds.count(("answer", "scripted")) == 4  # every demonstration answer
    assert kinds.count(("answer", "reading")) == 30
    browse = [r for r in mix if r["kind"] == "browse"]
    assert sum(r["episode_id"] in {"e0", "e1", "e2", "e3"} for r in browse) == 7
    assert sum(r["episode_id"] not in {"e0", "e1", "e2", "e3"} for r in browse) == 3
    trained = {r["episode_id"] for r in mix if r["source"] == "reading"}
    assert trained.isdisjoint({r["episode_id"] for r in held_back})
    assert len(held_back) == 60 - 30
    again, _ = mix_rows(_demo_rows(), _read_rows(), config)
    assert [r["prompt"] for r in again] == [r["prompt"] for r in mix]  # the seed fixes the mix
    browsed = [{**row, "source": "browsed", "prompt": f"b/{k}"} for k, row in enumerate(_read_rows()[:5])]
    with_browsed, _ = mix_rows(_demo_rows(), _read_rows(), config, browsed)
    assert sum(r["source"] == "browsed" for r in with_browsed) == 5  # every browsed row
    assert len(with_browsed) == len(mix) + 5


def _reachable_questions(corpus, folder: Path) -> tuple[dict[str, str], list[str]]:
    """Recipe settings for four questions of ``corpus``, all marked BM25-reachable, and those of them
    in the train split."""
    from demonstrations.splits import split_of

    asked = {
        "who is the eiffel tower named after": ["Gustave Eiffel"],
        "when was the eiffel tower constructed": ["1887"],
        "what is the capital and most populous city of france": ["Paris"],
        "what did alexandre gustave eiffel contribute to": ["Statue of Liberty"],
    }
    train = [q for q in asked if split_of(q) == "train"]
    assert train
    questions = folder / "questions.jsonl"
    questions.write_text("".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a in asked.items()))
    reachable = folder / "reachable.json"
    reachable.write_text(json.dumps(dict.fromkeys(asked, True)))
    return {"questions": str(questions), "corpus": corpus.name, "reachable": str(reachable)}, train


def test_the_guided_rows_are_window_rows_and_answers_again_as_asked() -> None:
    window = [
        {
            "kind": "browse",
            "episode_id": f"w{k}",
            "prompt": f"w/{k}",
            "completion": "Quote: x",
            "source": "model",
        }
        for k in range(6)
    ]
    answers = [r for r in _demo_rows() + _read_rows() if r["kind"] == "answer"]
    config = RecipeConfig(window_browse_rows=4, guided_answer_rows=5, seed=3)
    rows = guided_rows(window, answers, config)
    assert sum(r["prompt"].startswith("w/") for r in rows) == 4
    assert sum(r["kind"] == "answer" for r in rows) == 5 and len(rows) == 9
    assert [r["prompt"] for r in guided_rows(window, answers, config)] == [r["prompt"] for r in rows]
    with pytest.raises(ValueError, match="guided_reading must be page or window"):
        RecipeConfig(guided_reading="scroll")


def test_the_window_stage_keeps_reachable_training_questions_it_found_support_for(
    tiny_corpus, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    settings, train = _reachable_questions(tiny_corpus, tmp_path)
    off = Recipe(RecipeConfig(**settings, output_dir=str(tmp_path / "off"), window_browse_rows=0))
    off.window_demos()  # not asked for: nothing browsed, no rows
    assert not off.finished("window_demos") and off.window_rows() == []

    recipe = Recipe(
        RecipeConfig(
            **settings,
            output_dir=str(tmp_path / "on"),
            window_browse_rows=50,
            ranker_held_out=0,
            guided_reading="window",
        )
    )
    with pytest.raises(FileNotFoundError, match="run the window_demos stage first"):
        recipe.window_rows()
    recipe.window_demos()
    summary = json.loads(recipe.window_summary.read_text())
    assert summary["questions"] == len(train) and 1 <= summary["kept"] <= len(train)
    progress = f"window demonstrations: {len(train)}/{len(train)} questions, {summary['kept']} kept"
    assert progress in capsys.readouterr().out
    rows = recipe.window_rows()
    assert rows and {r["kind"] for r in rows} == {"browse"}
    assert {r["prompt"].split("\n")[1] for r in rows} <= set(train)  # each observation names its question


def test_reading_pages_the_guided_policy_learns_the_skimming_teachers_decisions_and_answers(
    tiny_corpus, tmp_path: Path
) -> None:
    from demonstrations.store import EpisodeStore

    settings, train = _reachable_questions(tiny_corpus, tmp_path)
    recipe = Recipe(RecipeConfig(**settings, output_dir=str(tmp_path / "page"), ranker_held_out=0))
    assert recipe.config.guided_reading == "page"
    recipe.window_demos()
    with EpisodeStore(recipe.window_db) as store:
        episodes = list(store.iter_episodes())
    commands = [s.command for e in episodes for s in e.steps]
    assert episodes and all(e.steps[-1].command == "End: Answer" for e in episodes)
    assert not any(c.startswith("Find in page") for c in commands)  # and quoted without bringing into view
    rows = recipe.window_rows()
    assert rows and not any(r["completion"].startswith("Scrolled down") for r in rows)
    assert {r["completion"].split()[0] for r in rows} <= {"Search", "Clicked", "Quote:", "Back", "End:"}
    recipe.bc_data.write_text("".join(json.dumps(r) + "\n" for r in _demo_rows() + _read_rows()))
    answers = recipe.guided_answers()
    teacher = [r for r in answers if "\n" in r["prompt"] and r["prompt"].split("\n")[1] in train]
    assert teacher and len(teacher) <= len(episodes) and answers[: len(teacher)] == teacher
    for row in teacher:
        assert row["kind"] == "answer" and row["completion"].count("[1]") == 2  # cites the teacher's quote
    mix = [r for r in _demo_rows() + _read_rows() if r["kind"] == "answer"]
    assert len(answers) == min(recipe.config.guided_answer_rows, len(teacher) + len(mix))  # topped up


def test_the_browsed_stage_makes_answer_rows_from_reachable_training_questions(
    tiny_corpus, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    settings, train = _reachable_questions(tiny_corpus, tmp_path)
    asked = "who was the eiffel tower named after"  # a training question whose pages answer it
    with Path(settings["questions"]).open("a", encoding="utf-8") as questions:
        questions.write(json.dumps({"question": asked, "answer": ["Gustave Eiffel"]}) + "\n")
    reachable = json.loads(Path(settings["reachable"]).read_text())
    Path(settings["reachable"]).write_text(json.dumps({**reachable, asked: True}))
    train.append(asked)
    off = Recipe(RecipeConfig(**settings, output_dir=str(tmp_path / "off")))
    off.browsed()  # not asked for: nothing browsed, no rows
    assert not off.finished("browsed") and off.browsed_answer_rows() == []

    recipe = Recipe(
        RecipeConfig(**settings, output_dir=str(tmp_path / "on"), browsed_questions=50, ranker_held_out=0)
    )
    with pytest.raises(FileNotFoundError, match="run the browsed stage first"):
        recipe.browsed_answer_rows()
    recipe.browsed()
    summary = json.loads(recipe.browsed_summary.read_text())
    assert summary["questions"] == len(train) and summary["rows"] == summary["kept"] >= 1
    assert f"browsed answers: {len(train)}/{len(train)} questions" in capsys.readouterr().out
    rows = recipe.browsed_answer_rows()
    assert len(rows) == summary["rows"] and {r["source"] for r in rows} <= {"browsed"}
    assert {r["question"] for r in rows} <= set(train)
    for row in rows:  # each cites a quote holding its gold answer
        cited = int(row["completion"].split("[", 1)[1].split("]", 1)[0])
        assert any(g.lower() in row["quotes"][cited - 1]["text"].lower() for g in row["gold_answers"])


def test_unknown_stages_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown stage 'bake'"):
        RecipeConfig(stages="data,bake").stage_list()


def test_a_stage_done_before_keeps_the_time_it_took_then(tmp_path: Path) -> None:
    recipe = Recipe(RecipeConfig(output_dir=str(tmp_path), stages="demos,data"))
    (tmp_path / "demos.json").write_text("{}")
    (tmp_path / "bc.jsonl").write_text("")
    recipe.run()  # both outputs are there: the stages skip, and their first times are these
    first = json.loads((tmp_path / "timings.json").read_text())
    assert set(first) == {"demos", "data", "total"} and first["demos"] < 1
    (tmp_path / "timings.json").write_text(json.dumps({"demos": 300.0, "data": 20.5, "total": 320.5}))
    recipe.run()
    assert json.loads((tmp_path / "timings.json").read_text()) == {
        "demos": 300.0,
        "data": 20.5,
        "total": 320.5,
    }
    assert recipe.finished("data") and not recipe.finished("bc") and not recipe.finished("install")


def test_a_finished_stage_made_with_other_settings_is_refused_not_skipped(tmp_path: Path) -> None:
    (tmp_path / "demos.json").write_text("{}")
    (tmp_path / "bc.jsonl").write_text("")
    Recipe(RecipeConfig(output_dir=str(tmp_path), stages="demos,data", reading_rows=620)).run()
    recorded = json.loads((tmp_path / "stage-settings.json").read_text())
    assert recorded["data"]["reading_rows"] == 620 and recorded["demos"]["seed"] == 0
    Recipe(RecipeConfig(output_dir=str(tmp_path), stages="demos,data", reading_rows=620)).run()  # same: skips
    changed = Recipe(RecipeConfig(output_dir=str(tmp_path), stages="demos,data", reading_rows=700))
    with pytest.raises(ValueError, match=r"data stage .* reading_rows=620 \(now 700\); delete .*bc\.jsonl"):
        changed.run()
    assert (tmp_path / "bc.jsonl").is_file()  # nothing lost
    questions = Path(RecipeConfig().questions)
    relative = os.path.relpath(questions, Path.cwd())
    Recipe(RecipeConfig(output_dir=str(tmp_path), stages="demos,data", questions=relative)).run()  # same file
    assert json.loads((tmp_path / "stage-settings.json").read_text()) == recorded


def test_a_setting_newer_than_the_record_counts_as_its_default(tmp_path: Path) -> None:
    (tmp_path / "demos.json").write_text("{}")
    (tmp_path / "bc.jsonl").write_text("")
    Recipe(RecipeConfig(output_dir=str(tmp_path), stages="demos,data")).run()
    recorded = json.loads((tmp_path / "stage-settings.json").read_text())
    del recorded["data"]["reading_rows"]  # as in a record written before that setting existed
    (tmp_path / "stage-settings.json").write_text(json.dumps(recorded))
    Recipe(RecipeConfig(output_dir=str(tmp_path), stages="demos,data")).run()  # the default: skips
    with pytest.raises(ValueError, match=r"data stage .* reading_rows=620 \(now 700\)"):
        Recipe(RecipeConfig(output_dir=str(tmp_path), stages="data", reading_rows=700)).run()


def test_a_damaged_record_of_an_earlier_run_is_named(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "demos.json").write_text("{}")
    (tmp_path / "stage-settings.json").write_text('{"demos": {"seed"')  # cut short by a crash
    assert main(["--output_dir", str(tmp_path), "--stages", "demos"]) == 2
    assert "stage-settings.json is unreadable" in capsys.readouterr().out
    (tmp_path / "stage-settings.json").write_text("[]")
    with pytest.raises(ValueError, match=r"stage-settings\.json is not a JSON object; delete it"):
        Recipe(RecipeConfig(output_dir=str(tmp_path), stages="demos")).run()
    assert (tmp_path / "demos.json").read_text() == "{}"


@pytest.fixture(scope="module")
def adapter_run(tmp_path_factory: pytest.TempPathFactory, tiny_lm_dir: Path) -> Path:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    run = tmp_path_factory.mktemp("bc-run")
    with warnings.catch_warnings():  # PEFT reads a deprecated alias when it wraps the model
        warnings.simplefilter("ignore", FutureWarning)
        model = get_peft_model(
            AutoModelForCausalLM.from_pretrained(tiny_lm_dir), LoraConfig(r=4, target_modules="all-linear")
        )
    model.peft_config["default"].base_model_name_or_path = str(tiny_lm_dir)
    model.save_pretrained(run)
    (run / "webgpt.json").write_text(json.dumps({"mode": "guided", "prompt_format": "plain"}))
    return run


def test_install_writes_a_bf16_adapter_that_loads(adapter_run: Path, tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file

    target = tmp_path / "weights" / "policy"
    install_adapter(adapter_run, target)
    tensors = load_file(str(target / "adapter_model.safetensors"))
    assert tensors and all(t.dtype == torch.bfloat16 for t in tensors.values())
    assert json.loads((target / "webgpt.json").read_text())["mode"] == "guided"
    install_adapter(adapter_run, target)  # again: replaced, no scratch folder left
    assert sorted(p.name for p in target.parent.iterdir()) == ["policy"]
    loaded = load_causal_lm(str(target))
    assert loaded.model.config.num_hidden_layers == 2


def test_install_refuses_a_run_without_an_adapter(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="train that stage first"):
        install_adapter(tmp_path, tmp_path / "out")


def test_missing_shipped_weights_say_what_to_use_instead(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import agent.models

    monkeypatch.setattr(agent.models, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(ModelNotFound, match="--policy smollm2-135m"):
        resolve_checkpoint(agent.models.SHIPPED_POLICY_ID)


def test_sampled_answers_become_answer_only_episodes(tiny_lm_dir: Path) -> None:
    quotes = [
        {
            "url": "https://example.org/eiffel",
            "title": "Eiffel Tower",
            "domain": "example.org",
            "text": "It is named after the engineer Gustave Eiffel, whose company designed the tower.",
        },
    ]
    rows = [
        {"question": "Who designed the Eiffel Tower?", "quotes": quotes, "gold_answers": ["Gustave Eiffel"]}
    ]
    episodes = list(sample_answer_episodes(str(tiny_lm_dir), rows, n=3, seed=0))
    assert len(episodes) == 3
    for episode in episodes:
        assert episode.source == "model" and episode.end_reason == "answer" and episode.steps == []
        assert episode.gold_answers == ["Gustave Eiffel"] and episode.quotes[0].text == quotes[0]["text"]
        assert episode.answer is not None and episode.metadata["answer_only"] is True
    good = episodes[0].model_copy(
        update={"id": "good", "answer": episodes[0].answer.model_copy(update={"text": "Gustave Eiffel [1]."})}
    )
    pairs = automatic_comparisons([good, *episodes])
    assert pairs and all(p.source == "automatic" for p in pairs)  # the right one beats the others


def test_the_on_policy_stage_samples_the_policys_own_browsing_for_the_reward_model(
    tiny_corpus, tiny_lm_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    import shutil

    from demonstrations.store import EpisodeStore

    settings, train = _reachable_questions(tiny_corpus, tmp_path)
    off = Recipe(RecipeConfig(**settings, output_dir=str(tmp_path / "off")))
    off.candidates()  # none asked for: nothing sampled, only the answer samples feed the reward model
    assert not off.finished("candidates") and off.automatic_sources() == [str(off.samples)]

    config = RecipeConfig(
        **settings, output_dir=str(tmp_path / "on"), on_policy_questions=2, on_policy_n=2, ranker_held_out=0
    )
    recipe = Recipe(config)
    shutil.copytree(tiny_lm_dir, recipe.bc_dir)  # the trained policy, browsing on the schedule
    (recipe.bc_dir / "webgpt.json").write_text(json.dumps({"mode": "scheduled"}))
    recipe.candidates()
    with EpisodeStore(recipe.on_policy) as store:
        sampled = list(store.iter_episodes())
    kept = min(2, len(train))
    assert len(sampled) == 2 * kept and {e.question for e in sampled} <= set(train)
    assert all(e.gold_answers for e in sampled)  # automatic comparisons need them
    summary = json.loads(recipe.on_policy_summary.read_text())
    assert summary["questions"] == kept
    assert f"on-policy candidates: {kept}/{kept} questions, {summary['kept']} kept" in capsys.readouterr().out
    assert recipe.finished("candidates")
    assert recipe.automatic_sources() == [str(recipe.samples), str(recipe.on_policy)]


def test_the_guided_stage_trains_the_bc_policy_on_to_browse_by_itself(
    tiny_corpus, tiny_lm_dir: Path, tmp_path: Path
) -> None:
    import shutil

    from safetensors.torch import load_file

    settings, _ = _reachable_questions(tiny_corpus, tmp_path)
    tiny = f"--base_model {tiny_lm_dir} --max_steps 2 --eval_fraction 0 --bf16 false --save_steps 50"
    config = RecipeConfig(
        **settings,
        output_dir=str(tmp_path / "run"),
        ranker_held_out=0,
        window_browse_rows=3,
        guided_answer_rows=2,
        browsed_questions=5,  # the bc stage is told its policy chooses among three quotes
        bc_flags=tiny,
        weights_dir=str(tmp_path / "weights"),
    )
    recipe = Recipe(config)
    with pytest.raises(FileNotFoundError, match="run the bc stage first"):
        recipe.guided()
    recipe.bc_data.write_text("".join(json.dumps(r) + "\n" for r in _demo_rows() + _read_rows()))
    recipe.bc()
    recipe.window_demos()
    recipe.guided()
    rows = [json.loads(line) for line in recipe.guided_data.read_text().splitlines()]
    window = recipe.window_rows()
    assert sum(r["kind"] == "browse" for r in rows) == min(3, len(window)) >= 1
    teacher_answers = recipe.guided_answers()
    assert sum(r["kind"] == "answer" for r in rows) == min(2, len(teacher_answers)) >= 1
    assert recipe.finished("guided")
    trained = json.loads((recipe.guided_dir / "run_config.json").read_text())["config"]
    assert trained["init_adapter"] == str(recipe.bc_dir) and trained["data"] == str(recipe.guided_data)
    guided = json.loads((recipe.guided_dir / "webgpt.json").read_text())
    assert guided["mode"] == "guided" and guided["guided_skim"] is True  # it reads each page to its end
    assert guided["guided_compare_pages"] == 3  # and quotes the best sentence of three results
    assert guided["answer_model"] == "../bc"  # the BC policy writes its answers
    assert guided["corroboration"] is True  # other results' say on the best sentences read
    assert trained["learning_rate"] == config.guided_learning_rate == 1e-4
    shutil.copytree(recipe.bc_dir, recipe.rm_dir)  # install copies whichever adapter the rm stage left
    recipe.install()
    weights = Path(config.weights_dir)
    installed_guided = json.loads((weights / "webgpt-135m-guided" / "webgpt.json").read_text())
    assert installed_guided["mode"] == "guided" and installed_guided["answer_model"] == "../webgpt-135m"
    installed = json.loads((weights / "webgpt-135m" / "webgpt.json").read_text())
    assert installed["mode"] == "scheduled" and installed["quoted_pages"] == 3  # it chooses among 3 quotes
    assert installed["corroboration"] is True
    before = load_file(str(recipe.bc_dir / "adapter_model.safetensors"))
    after = load_file(str(recipe.guided_dir / "adapter_model.safetensors"))
    assert before.keys() == after.keys() and any(not before[k].equal(after[k]) for k in before)

    off = Recipe(RecipeConfig(**{**settings, "output_dir": str(tmp_path / "off")}, window_browse_rows=0))
    off.guided()  # not asked for: nothing trained
    assert not off.finished("guided")
