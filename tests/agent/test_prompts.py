from __future__ import annotations

from agent.prompts import (
    TRUNCATED,
    BrowsingPrompter,
    answer_messages,
    browsing_messages,
    encode_answer_prompt,
    example_episode,
    fit_observation,
)
from browser_env.actions import InvalidAction, action_help, parse_action
from demonstrations.formats import answer_prompt

OBSERVATION = "\n".join(
    [
        "♦Question",
        "Who designed the Eiffel Tower?",
        "♦Quotes",
        "From Paris (example.org)",
        "> Paris is the capital and most populous city of France.",
        "From Eiffel Tower (example.org)",
        "> It is named after the engineer Gustave Eiffel, whose company designed and built the tower.",
        "♦Past actions",
        "Search Eiffel Tower",
        "Click Paris example.org",
        "Quote",
        "Back",
        "♦Title",
        "Eiffel Tower (example.org)",
        "♦Scrollbar: 0 - 3",
        "♦Text",
        "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France.",
        "It is named after the engineer Gustave Eiffel, whose company designed and built the tower.",
        "The tower was constructed from 1887 to 1889 as the centerpiece of the 1889 World's Fair.",
        "It is 330 metres tall, about the same height as an 81-storey building.",
        "♦Actions left: 95",
        "♦Next action",
    ]
)


def words(text: str) -> int:
    return len(text.split())


def test_an_observation_that_fits_is_unchanged() -> None:
    assert fit_observation(OBSERVATION, 10_000, words) == OBSERVATION


def test_the_text_window_is_shortened_first_from_the_bottom() -> None:
    fitted = fit_observation(OBSERVATION, words(OBSERVATION) - 10, words)
    assert words(fitted) <= words(OBSERVATION) - 10
    assert "330 metres" not in fitted and "wrought-iron" in fitted
    assert fitted.count("From ") == 2  # quotes untouched
    assert TRUNCATED in fitted


def test_then_the_oldest_quotes_then_the_oldest_actions_go() -> None:
    text_words = sum(
        words(line) for line in OBSERVATION.split("♦Text\n")[1].split("\n♦Actions")[0].split("\n")
    )
    fitted = fit_observation(OBSERVATION, words(OBSERVATION) - text_words - 5, words)
    assert "capital" not in fitted and "Gustave Eiffel, whose" in fitted  # the older quote went
    assert "(1 earlier quotes not shown)" in fitted
    assert "Search Eiffel Tower" in fitted
    tight = fit_observation(OBSERVATION, 36, words)
    assert words(tight) <= 36
    assert "earlier actions not shown" in tight
    for kept in ("♦Question\nWho designed the Eiffel Tower?", "♦Title", "♦Scrollbar: 0 - 3", "♦Next action"):
        assert kept in tight
    assert tight.endswith("♦Actions left: 95\n♦Next action")


def test_the_example_episode_is_valid_and_ends_with_an_answer() -> None:
    turns = example_episode()
    assert [parse_action(command) for _, command in turns]
    assert not any(isinstance(parse_action(c), InvalidAction) for _, c in turns)
    assert turns[-1][1] == "End: Answer"
    assert all(observation.endswith("♦Next action") for observation, _ in turns)


def test_browsing_prompt_holds_instruction_help_example_and_observation(tokenizer) -> None:
    messages = browsing_messages(OBSERVATION, few_shot=True)
    assert action_help() in messages[0]["content"]
    assert len(messages) == 2 + 2 * len(example_episode())
    prompter = BrowsingPrompter(tokenizer, few_shot=True, max_prompt_tokens=4096)
    encoded = prompter.encode(OBSERVATION)
    assert encoded.ids[: encoded.prefix_length] == prompter.prefix_ids
    expected = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert tokenizer.decode(encoded.ids) == expected
    assert not encoded.truncated


def test_browsing_prompt_fits_the_budget(tokenizer) -> None:
    prompter = BrowsingPrompter(tokenizer, few_shot=False, max_prompt_tokens=800)
    long = OBSERVATION.replace(
        "♦Actions left", "Another line of page text that goes on.\n" * 40 + "♦Actions left"
    )
    encoded = prompter.encode(long, reserve=48)
    assert len(encoded.ids) <= 800 - 48
    assert encoded.truncated
    assert "♦Question\nWho designed the Eiffel Tower?" in encoded.observation
    assert encoded.observation.endswith("♦Next action")


def test_plain_format_is_the_bare_observation_then_a_newline(tokenizer) -> None:
    prompter = BrowsingPrompter(tokenizer, few_shot=False, max_prompt_tokens=4096, prompt_format="plain")
    assert tokenizer.decode(prompter.encode(OBSERVATION).ids) == OBSERVATION + "\n"


def test_answer_prompt_wraps_the_shared_format(tokenizer) -> None:
    class Q:
        title, domain, text = "Eiffel Tower", "example.org", "It is 330 metres tall."

    messages = answer_messages("How tall is it?", [Q()])
    assert messages[-1]["content"] == answer_prompt("How tall is it?", [Q()])
    text = tokenizer.decode(encode_answer_prompt(tokenizer, "How tall is it?", [Q()], few_shot=True))
    assert text.endswith("♦Answer\n<|im_end|>\n<|im_start|>assistant\n")
    assert "[1] Eiffel Tower (example.org)\nIt is 330 metres tall." in text
