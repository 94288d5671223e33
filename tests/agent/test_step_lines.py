from agent.rollout import StepEvent
from webgpt_cli.step_lines import StepLine, StepLines


def event(
    index: int, command: str, *, title: str = "", error: str | None = None, episode: int = 0
) -> StepEvent:
    return StepEvent(index, command, error, title, None, 0, 99 - index, episode)


def test_a_run_of_scrolls_is_one_line_and_a_click_names_its_page() -> None:
    lines = StepLines()
    shown: list[StepLine] = []
    events = [
        event(0, "Search eiffel tower"),
        event(1, "Clicked on link 0", title="Eiffel Tower"),
        *[event(i, "Scrolled down 1", title="Eiffel Tower") for i in range(2, 6)],
        event(6, "Scrolled up 1"),
        event(7, "Quote: It was designed by Gustave Eiffel's company."),
        event(8, "End: Answer"),
    ]
    for item in events:
        shown += lines.add(item)
    shown += lines.flush()
    assert [line.text for line in shown] == [
        "   1. Search eiffel tower",
        "   2. Clicked on link 0 → Eiffel Tower",
        "  3–6. Scrolled down 1 (×4)",
        "   7. Scrolled up 1",
        "   8. Quote: It was designed by Gustave Eiffel's company.",
        "   9. End: Answer",
    ]


def test_refused_steps_are_flagged_and_never_merged_and_episodes_keep_their_own_runs() -> None:
    lines = StepLines(labelled=True)
    shown: list[StepLine] = []
    shown += lines.add(event(0, "Scrolled down 1", episode=0))
    shown += lines.add(event(0, "Scrolled down 1", episode=1))
    shown += lines.add(event(1, "Scrolled down 1", episode=0))
    shown += lines.add(event(2, "Scrolled down 1", error="already at the bottom", episode=0))
    shown += lines.flush()
    assert shown == [
        StepLine("  [1] 1–2. Scrolled down 1 (×2)"),
        StepLine("  [1]  3. Scrolled down 1  ✗ already at the bottom", failed=True),
        StepLine("  [2]  1. Scrolled down 1"),
    ]


def test_a_long_command_is_clipped() -> None:
    (line,) = StepLines(clip=20).add(event(0, "Quote: " + "word " * 30))
    assert line.text.endswith("…") and len(line.text) <= len("   1. ") + 20
