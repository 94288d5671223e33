"""The language-model policy: one command per step.

Two modes:

- **free**: the model writes the command; text that does not parse is retried by sampling (at most
  ``max_retries`` more times) and otherwise passed on as it is, so the env counts an invalid action,
  as in WebGPT. For models trained on demonstrations.
- **guided**: the model only chooses. It scores each command that is valid now (the log-likelihood of
  its text given the prompt, in one batch) and samples one; then it fills the argument, again by
  scoring candidates: for ``Search`` the question, its keywords and a query it writes (not one it
  already searched), for ``Clicked on link`` a link of the current window to a page not read yet in
  this episode, for ``Quote:`` a sentence of the current window, for ``Find in page:`` a word of the
  question that the window does not hold. On one page it scrolls down at most ``MAX_PAGE_SCROLLS``
  times and looks for words at most ``MAX_PAGE_FINDS`` times (as the window schedule its browsing
  rows come from does, ``training.window_demos``). With a ``quote_scorer`` (the shipped sentence
  ranker), ``Quote:`` is offered only when the window holds a sentence the scorer rates at its
  threshold or above, its score is raised by the scorer's log-odds above that threshold, and the
  scorer picks the sentence. Moves that would go round in circles are not offered
  (``valid_choices``); when only a decline is left, the episode ends without one. Every action is
  valid and every quote verbatim by construction.
- **guided skimming** (``skim``, ``"guided_skim"`` in ``webgpt.json``): guided browsing that reads each
  page it opens to the end without asking the model (``page_reading.PageReading``: the quote scorer
  weighs every sentence read), then lets the model choose there: ``Quote:`` the page's best sentence
  (not only the window's), ``Back``, a link, a search or the answer. Links on the results get the
  scorer's rating of their title and snippet added; one quote, then the answer; at most
  ``MAX_SKIM_PAGES`` pages. Comparing pages (``compare_pages`` N, ``"guided_compare_pages"``),
  ``Quote:`` waits until N results of the search are read (or none is left) and offers the best
  sentences of them all; quoting one of an earlier page, the policy goes back and opens it again itself.

Free-mode policies that sample alike can choose the commands of several episodes in one batch
(``act_together``, for best-of-n's lockstep browsing in ``agent.rollout.browse_in_lockstep``).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from agent.config import AGENT_DEFAULTS, SamplingConfig
from agent.corroboration import bind_search
from agent.policies.engine import LMEngine, Prefill
from agent.policies.page_reading import (
    MAX_SKIM_WINDOWS,
    PageReading,
    ReadSentence,
    SecondSay,
    at_page_end,
    not_quoted,
    sentences_by_score,
    short_of_actions,
    window_sentences,
)
from agent.prompts import BrowsingPrompter, PromptFormat
from browser_env import textmatch
from browser_env.actions import (
    Back,
    ClickLink,
    EndAnswer,
    EndDecline,
    FindInPage,
    InvalidAction,
    Quote,
    ScrollDown,
    ScrollUp,
    Search,
    Top,
    parse_action,
    syntax_of,
)
from browser_env.protocol.keywords import distinct_content_words, keywords
from browser_env.web import SearchBackend
from demonstrations.scripted.reading import search_queries

if TYPE_CHECKING:
    from agent.policies.scripted import RelevanceScorer

MAX_PAGE_SCROLLS = 2
MAX_PAGE_FINDS = 2
MAX_SKIM_PAGES = 6  # pages guided skimming reads in an episode: its teacher's two searches of three results
# Each choice the guided policy scores, as the text the model would write to start that command.
CHOICES: dict[str, str] = {
    "search": "Search",
    "click": "Clicked on link",
    "find": "Find in page:",
    "quote": "Quote:",
    "down": "Scrolled down 1",
    "up": "Scrolled up 1",
    "top": "Top",
    "back": "Back",
    "answer": "End: Answer",
    "nonsense": "End: Nonsense",
    "controversial": "End: Controversial",
}

# Each choice, by the command kind whose syntax ``info["valid_commands"]`` lists when it can succeed now.
_KIND = {
    "search": Search,
    "click": ClickLink,
    "find": FindInPage,
    "quote": Quote,
    "down": ScrollDown,
    "up": ScrollUp,
    "top": Top,
    "back": Back,
    "answer": EndAnswer,
    "nonsense": EndDecline,
    "controversial": EndDecline,
}


def _position(info: dict[str, Any]) -> tuple[str | None, int]:
    """Where the reader is: the page and the first line of its window."""
    first = (info.get("scrollbar") or (0, 0, 0))[0]
    return info.get("url"), int(first)


class LMPolicy:
    """A causal LM choosing browsing commands (see the module docstring for the two modes)."""

    def __init__(
        self,
        engine: LMEngine,
        *,
        guided: bool = False,
        few_shot: bool = False,
        sampling: SamplingConfig | None = None,
        max_prompt_tokens: int = AGENT_DEFAULTS.max_prompt_tokens,
        prompt_format: PromptFormat | None = None,
        allow_decline: bool = True,
        name: str | None = None,
        quote_scorer: RelevanceScorer | None = None,
        skim: bool = False,
        compare_pages: int = 1,
        second_say: SecondSay | None = None,
    ) -> None:
        import torch

        if skim and (not guided or quote_scorer is None):
            raise ValueError("skimming is a way of guided browsing with a quote scorer")
        self.engine = engine
        self.guided = guided
        self.skim = skim
        # Guided skimming: pages read to the end before a quote is offered, while the search has a result
        # left to read; the quote is then the best sentence of them all (going back to its page).
        self.compare_pages = compare_pages
        self.sampling = sampling or SamplingConfig()
        self.allow_decline = allow_decline
        # Guided quotes: a sentence scorer (``score(question, [(title, sentence)])`` in log-odds, and a
        # ``threshold``) offers only the window's sentences it rates as possible answers and picks one.
        self.quote_scorer = quote_scorer
        # Guided skimming: another scorer's say on the best sentences offered, before one is quoted.
        self.second_say = second_say
        self.name = name or engine.loaded.model_id
        limit = min(max_prompt_tokens, engine.loaded.context_window)
        self.prompter = BrowsingPrompter(engine.tokenizer, few_shot, limit, prompt_format)
        # Token sampling draws on the model's device; choosing among scored commands on the CPU.
        self.generator = engine.new_generator(self.sampling.seed)
        self.choice_generator = torch.Generator()
        if self.sampling.seed is not None:
            self.choice_generator.manual_seed(self.sampling.seed)
        self.retries = 0
        self.last_choice_scores: dict[str, float] = {}
        self._question = ""
        self._visited: set[str] = set()  # pages read in this episode
        self._searched: set[str] = set()  # queries searched in this episode
        self._taken: set[tuple[str | None, int, str]] = set()  # guided: (url, first line, choice) taken
        self._scrolls: dict[str | None, int] = {}  # guided: scrolls down taken on each page
        self._sought: dict[str | None, list[str]] = {}  # guided: words looked for on each page
        self._pages: dict[str, PageReading] = {}  # guided skimming: each page's sentences read
        self._results_page: str | None = None  # guided skimming: the search results last seen
        self._results: dict[str, int] = {}  # ... each result's page and link id, as seen there
        self._returning: tuple[str, str] | None = None  # the page to open again and its sentence to quote
        self._return_moves = 0
        self._quote_pages: dict[str, str] = {}  # each sentence offered to quote, the page it is on

    @property
    def deterministic(self) -> bool:
        """Whether every episode of a question takes the same steps: guided browsing choosing greedily
        (free browsing samples its retries even then)."""
        return self.guided and self.sampling.temperature <= 0

    def greedy(self) -> LMPolicy:
        """A twin that decodes greedily (what one answer at temperature 0 does)."""
        twin = copy.copy(self)
        twin.sampling = dataclasses.replace(self.sampling, temperature=0.0)
        twin.reset("")
        return twin

    def reset(self, question: str) -> None:
        self.retries = 0
        self._question = question
        self._visited = set()
        self._searched = set()
        self._taken = set()
        self._scrolls = {}
        self._sought = {}
        self._pages = {}
        self._results_page = None
        self._results = {}
        self._returning = None
        self._return_moves = 0
        self._quote_pages = {}

    def use_search(self, search: SearchBackend) -> None:
        """The episode's search, for a second say that searches on its own (``agent.corroboration``)."""
        if self.second_say is not None:
            bind_search(self.second_say.scorer, search)

    def sentences_read(self) -> list[ReadSentence]:
        """Guided skimming: the sentences this episode weighed, best first (best-of-n's quote choices)."""
        return sentences_by_score(self._pages)

    # --------------------------------------------------------------------------------------------------
    def act(self, observation: str, info: dict[str, Any]) -> str | None:
        if info.get("url") and not info.get("on_search_page"):
            self._visited.add(info["url"])
        if self.skim:
            self._see_results(info)
            if move := self._return_step(info) or self._read_on(info):
                return move
        choices = self.valid_choices(info) if self.guided else {}
        if self.guided:  # nothing to choose, no model call: the answer after a skimming quote, or give up
            if list(choices) == ["answer"]:
                self.last_choice_scores = {}
                return CHOICES["answer"]
            if set(choices) <= {"nonsense", "controversial"}:
                return None
        prompt = self.prompter.encode(observation, reserve=self.sampling.max_new_tokens)
        prefill = self.engine.prefill(prompt.ids, prompt.prefix_length)
        if self.guided:
            return self._guided(prefill, info, choices)
        return self._free(prefill)

    def episode_copy(self) -> LMPolicy:
        """A copy for another episode browsing at the same time (its own episode state; the same model
        and random stream)."""
        twin = copy.copy(self)
        twin.reset(self._question)
        return twin

    def steps_with(self, other: object) -> bool:
        """Free-mode policies on the same engine and prompts, sampling alike, step together."""
        return (
            isinstance(other, LMPolicy)
            and not self.guided
            and not other.guided
            and other.engine is self.engine
            and other.prompter is self.prompter
            and other.sampling == self.sampling
        )

    def act_together(
        self, policies: Sequence[Any], observations: Sequence[str], infos: Sequence[dict[str, Any]]
    ) -> list[str | None]:
        """Each free-mode episode's command, every prompt in one batch (their shared instruction from
        the prefix cache); commands that do not parse are sampled again together, as ``act`` does."""
        prompts = []
        for policy, observation, info in zip(policies, observations, infos, strict=True):
            if info.get("url") and not info.get("on_search_page"):
                policy._visited.add(info["url"])
            prompts.append(self.prompter.encode(observation, reserve=self.sampling.max_new_tokens))

        def sample(temperature: float, todo: list[int]) -> list[str]:
            outputs = self.engine.generate_batch(
                [prompts[i].ids for i in todo],
                max_new_tokens=self.sampling.max_new_tokens,
                temperature=temperature,
                top_p=self.sampling.top_p,
                generator=self.generator,
                prefix_length=min(prompts[i].prefix_length for i in todo),
            )
            return [self.engine.decode(rows[0]).strip() for rows in outputs]

        return list(self._commands(policies, sample))

    def _free(self, prefill: Prefill) -> str:
        def sample(temperature: float, todo: list[int]) -> list[str]:
            output = self.engine.generate(
                prefill,
                max_new_tokens=self.sampling.max_new_tokens,
                temperature=temperature,
                top_p=self.sampling.top_p,
                generator=self.generator,
            )[0]
            return [self.engine.decode(output).strip()]

        return self._commands([self], sample)[0]

    def _commands(
        self, policies: Sequence[LMPolicy], sample: Callable[[float, list[int]], list[str]]
    ) -> list[str]:
        """One command per policy: ``sample(temperature, which)`` writes the commands of the policies
        ``which``; those that do not parse are written again (at most ``max_retries`` more times, sampled
        even after a greedy first try, counted in each policy's ``retries``) and otherwise kept as
        they are, so the env counts an invalid action."""
        texts = [""] * len(policies)
        todo = list(range(len(policies)))
        for attempt in range(1 + self.sampling.max_retries):
            temperature = self.sampling.temperature
            if attempt:
                for i in todo:
                    policies[i].retries += 1
                if temperature <= 0:
                    temperature = 1.0  # retries sample, even after a greedy first try
            for i, text in zip(todo, sample(temperature, todo), strict=True):
                texts[i] = text
            todo = [i for i in todo if isinstance(parse_action(texts[i]), InvalidAction)]
            if not todo:
                break
        return texts

    # Guided mode -------------------------------------------------------------------------------------
    def valid_choices(self, info: dict[str, Any]) -> dict[str, Any]:
        """The choices that are valid now, each with what it needs (link ids, sentences), less those that
        would go round in circles: a scroll, ``Top``, ``Back`` or ``Find in page`` already taken from
        this very window, a search when every query of the question (``search_queries``) has been
        searched, a page already read, a sentence already quoted."""
        valid = set(info.get("valid_commands", []))
        choices: dict[str, Any] = {}
        here = _position(info)
        for name, kind in _KIND.items():
            if syntax_of(kind) in valid and (*here, name) not in self._taken:
                choices[name] = None
        url = info.get("url")
        page = self._page(info)
        if page is not None:  # read to its end already: what is left is to quote or to leave
            for name in ("down", "up", "top", "find"):
                choices.pop(name, None)
        if self._scrolls.get(url, 0) >= MAX_PAGE_SCROLLS:
            choices.pop("down", None)
        if "find" in choices:
            words = self._find_words(info)
            if words:
                choices["find"] = words
            else:
                del choices["find"]
        if "search" in choices and all(
            q.casefold() in self._searched for q in search_queries(self._question)
        ):
            del choices["search"]
        if self.skim and info.get("quotes") and "answer" in choices:
            return {"answer": None}  # its teacher answers from one quote: more misled the answer model
        if self.skim and sum(p.finished for p in self._pages.values()) >= MAX_SKIM_PAGES:
            choices.pop("click", None)  # read enough: quote, answer or give up
        if "click" in choices:
            links = info["visible_links"]
            fresh = [link["id"] for link in links if link.get("url") not in self._visited]
            if fresh:  # a page already read in this episode is not opened again
                choices["click"] = fresh
            else:
                del choices["click"]
        if "quote" in choices and page is not None and self.quote_scorer is not None:
            sentences = self._skim_quotes(info)
            if sentences and not self._compared_enough(info):
                sentences = []  # read on: another result first
            if sentences:
                choices["quote"] = sentences
            else:
                del choices["quote"]
        elif "quote" in choices:
            quoted = {textmatch.normalize(q["text"]) for q in info.get("quotes", []) if q["url"] == url}
            read = window_sentences(info.get("window_paragraphs", []))
            sentences = [s for s in read if textmatch.normalize(s) not in quoted]
            if sentences and self.quote_scorer is not None:
                scores = self._quote_ratings(info, sentences)
                kept = [k for k, v in enumerate(scores) if v >= self.quote_scorer.threshold]
                sentences = [sentences[k] for k in sorted(kept, key=lambda k: -scores[k])]
            if sentences:
                choices["quote"] = sentences
            else:
                del choices["quote"]
        if not self.allow_decline:
            choices.pop("nonsense", None)
            choices.pop("controversial", None)
        return choices

    def _page(self, info: dict[str, Any]) -> PageReading | None:
        """Guided skimming: the page in view, as read so far (None off a page or when not skimming)."""
        url = info.get("url")
        if not self.skim or not url or info.get("on_search_page"):
            return None
        return self._pages.setdefault(url, PageReading())

    def _read_on(self, info: dict[str, Any]) -> str | None:
        """Guided skimming, on a page not read to its end: weigh the window's sentences and scroll on
        (no model call; at most ``MAX_SKIM_WINDOWS`` windows a page, none with few actions left)."""
        page = self._page(info)
        if page is None or page.finished or self.quote_scorer is None:
            return None
        page.read_window(self._question, self.quote_scorer, info)
        if page.scrolls < MAX_SKIM_WINDOWS and not at_page_end(info) and not short_of_actions(info):
            page.scrolls += 1
            return "Scrolled down 1"
        page.finished = True
        return None

    def _see_results(self, info: dict[str, Any]) -> None:
        """Guided skimming: remember the results page in view, each visible result's page and link."""
        if not info.get("on_search_page"):
            return
        if info.get("url") != self._results_page:
            self._results_page, self._results = info.get("url"), {}
        visible = {link["id"] for link in info.get("visible_links") or []}
        for result in info.get("search_results") or []:
            if result["id"] in visible:
                self._results.setdefault(result["url"], result["id"])

    def _skim_quotes(self, info: dict[str, Any]) -> list[str]:
        """Guided skimming: the sentences to offer to quote, best first, each at the scorer's threshold
        or above and not quoted: those of the page in view and, comparing pages, of the other pages of
        the last results read to their end (``_quote_pages`` says where each is)."""
        assert self.quote_scorer is not None
        url = info.get("url")
        pages = [url] if self.compare_pages <= 1 else [url, *(u for u in self._results if u != url)]
        found: dict[str, tuple[float, str]] = {}
        for page_url in pages:
            page = self._pages.get(page_url) if page_url else None
            if page is None or not page.finished:
                continue
            for sentence in not_quoted(list(page.read), info):
                if sentence not in found and page.read[sentence] >= self.quote_scorer.threshold:
                    found[sentence] = (page.read[sentence], page_url)
        self._quote_pages = {s: where for s, (_, where) in found.items()}
        return sorted(found, key=lambda s: -found[s][0])

    def _compared_enough(self, info: dict[str, Any]) -> bool:
        """Guided skimming: whether a quote may be offered now: ``compare_pages`` pages read, or no
        result of the last search left to read, or few actions left."""
        read = sum(page.finished for page in self._pages.values())
        left = [u for u in self._results if u not in self._visited]
        return read >= self.compare_pages or not left or short_of_actions(info)

    def _return_step(self, info: dict[str, Any]) -> str | None:
        """Guided skimming, quoting a sentence of a page read before: go back to the results, open
        that page again and quote it (no model call; given up after a few moves that do not get there)."""
        if self._returning is None:
            return None
        url, sentence = self._returning
        self._return_moves += 1
        if info.get("url") == url:
            self._returning = None
            return f"Quote: {sentence}"
        link = self._results.get(url)
        visible = {item["id"] for item in info.get("visible_links") or []}
        if self._return_moves > 3 or (info.get("on_search_page") and link not in visible):
            self._returning = None
            return None
        if info.get("on_search_page"):
            return f"Clicked on link {link}"
        return "Back"

    def _result_ratings(self, info: dict[str, Any], link_ids: list[int]) -> list[float]:
        """Guided skimming: the quote scorer's rating of each search result's title and snippet among
        ``link_ids`` (what scheduled skimming's teacher opens first), 0 for the lowest-rated result and
        for links that are not results."""
        results = {r["id"]: r for r in info.get("search_results") or []}
        rated = [link for link in link_ids if link in results]
        if not rated or self.quote_scorer is None:
            return [0.0] * len(link_ids)
        passages = [("", f"{results[k]['title']}. {results[k]['snippet']}".strip()) for k in rated]
        scores = dict(zip(rated, self.quote_scorer.score(self._question, passages), strict=True))
        floor = min(scores.values())
        return [scores.get(link, floor) - floor for link in link_ids]

    def _quote_ratings(self, info: dict[str, Any], sentences: list[str]) -> list[float]:
        """The quote scorer's rating of each of ``sentences`` (skimming: as read; the shipped ranker
        keeps the question's scores, so asking twice in a step costs nothing)."""
        if self.quote_scorer is None:
            raise ValueError("no quote scorer")
        page = self._page(info)
        if page is not None:
            return [self._pages[self._quote_pages.get(s, info["url"])].read[s] for s in sentences]
        return self.quote_scorer.score(self._question, [(info.get("title") or "", s) for s in sentences])

    def _quote_title(self, info: dict[str, Any], sentence: str) -> str:
        """The title of the page ``sentence`` was read on (skimming), else of the page in view."""
        page = self._pages.get(self._quote_pages.get(sentence, info.get("url")) or "")
        return page.title if page is not None else info.get("title") or ""

    def _pick(self, scores: list[float]) -> int:
        import torch

        values = torch.tensor(scores)
        if self.sampling.temperature <= 0:
            return int(values.argmax())
        probs = torch.softmax(values / self.sampling.temperature, dim=0)
        return int(torch.multinomial(probs, 1, generator=self.choice_generator))

    def _score_texts(self, prefill: Prefill, texts: list[str], skip: int = 0) -> list[list[float]]:
        return [row[skip:] for row in self.engine.score(prefill, [self.engine.encode(t) for t in texts])]

    def _guided(
        self, prefill: Prefill, info: dict[str, Any], choices: dict[str, Any] | None = None
    ) -> str | None:
        choices = self.valid_choices(info) if choices is None else choices
        names = list(choices)
        if set(names) <= {"nonsense", "controversial"}:
            return None  # every other move tried: give up rather than call the question nonsense
        scores = [sum(row) for row in self._score_texts(prefill, [CHOICES[n] for n in names])]
        ratings: list[float] = []
        if "quote" in choices and self.quote_scorer is not None:
            # The model's odds of quoting, times the scorer's odds that the best sentence answers
            # (relative to its threshold, the least it offers); sentences come best first.
            ratings = self._quote_ratings(info, choices["quote"])
            scores[names.index("quote")] += ratings[0] - self.quote_scorer.threshold
        self.last_choice_scores = dict(zip(names, scores, strict=True))
        choice = names[self._pick(scores)]
        if choice in ("down", "up", "top", "back", "find"):
            self._taken.add((*_position(info), choice))
        if choice == "down":
            self._scrolls[info.get("url")] = self._scrolls.get(info.get("url"), 0) + 1
        if choice == "search":
            query = self._query(prefill)
            self._searched.add(query.casefold())
            return "Search " + query
        if choice == "find":
            word = self._choose_argument(prefill, "Find in page:", choices["find"])
            self._sought.setdefault(info.get("url"), []).append(word)
            return "Find in page: " + word
        if choice == "click":
            texts = [f"Clicked on link {i}" for i in choices["click"]]
            link_scores = [sum(row) for row in self._score_texts(prefill, texts)]
            if self.skim:
                link_scores = [
                    a + b
                    for a, b in zip(link_scores, self._result_ratings(info, choices["click"]), strict=True)
                ]
            return texts[self._pick(link_scores)]
        if choice == "quote":
            sentences = choices["quote"]
            if ratings:
                if self.second_say is not None:
                    passages = [(self._quote_title(info, s), s) for s in sentences]
                    ratings = self.second_say.weigh(self._question, passages, ratings)
                sentence = sentences[self._pick(ratings)]
                where = self._quote_pages.get(sentence, info.get("url"))
                if where != info.get("url"):
                    self._returning, self._return_moves = (where, sentence), 0
                    return self._return_step(info)
                return "Quote: " + sentence
            return "Quote: " + self._choose_argument(prefill, "Quote:", sentences)
        return CHOICES[choice]

    def _query(self, prefill: Prefill) -> str:
        """The model's choice among queries not searched yet in this episode: the question as asked,
        its keywords (``search_queries``) and one query it writes itself when that shares a keyword
        with the question."""
        written = self._argument(prefill, "Search", fallback=self._question)
        queries = search_queries(self._question)
        if keywords(written) & keywords(self._question):  # not a placeholder such as "[query]"
            queries.append(written)
        candidates = [q for q in dict.fromkeys(queries) if q.strip()]
        fresh = [q for q in candidates if q.casefold() not in self._searched] or candidates
        return self._choose_argument(prefill, "Search", fresh)

    def _choose_argument(self, prefill: Prefill, command: str, options: list[str]) -> str:
        """The option the model picks to follow ``command`` (by the mean log-likelihood of its tokens)."""
        skip = len(self.engine.encode(command))
        rows = self._score_texts(prefill, [f"{command} {o}" for o in options], skip)
        return options[self._pick([sum(row) / max(1, len(row)) for row in rows])]

    def _argument(self, prefill: Prefill, command: str, fallback: str) -> str:
        output = self.engine.generate(
            prefill,
            prefix=self.engine.encode(command),
            max_new_tokens=self.sampling.max_new_tokens,
            temperature=self.sampling.temperature,
            top_p=self.sampling.top_p,
            generator=self.generator,
        )[0]
        text = " ".join(self.engine.decode(output).split())
        return text if text else fallback

    def _find_words(self, info: dict[str, Any]) -> list[str]:
        """The words ``Find in page`` may look for here: the question's content words that the window
        does not hold and that were not looked for on this page, none once ``MAX_PAGE_FINDS`` were."""
        sought = self._sought.get(info.get("url"), [])
        if len(sought) >= MAX_PAGE_FINDS:
            return []
        window = set(distinct_content_words(info.get("window_text") or ""))
        asked = distinct_content_words(self._question, min_length=2)
        return [w for w in asked if w not in window and w not in sought]
