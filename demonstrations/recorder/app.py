"""The recorder web app: people browse and answer in the model's own text browser, and compare answers.

``create_app(store, env_factory)`` builds the FastAPI app; ``webgpt record`` serves it with uvicorn:

    webgpt record --questions ../shared/data/qa/nq_open_dev.jsonl     # then open http://127.0.0.1:8765/

Pages: ``/`` (question queue), ``/episodes/{id}`` (browsing), ``/episodes/{id}/answer``, ``/compare``,
``/episodes`` and ``/episodes/{id}/view`` (viewer), ``/progress``. Every browsing step is stored
before its response is sent.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from browser_env.actions import action_help
from browser_env.env import EnvConfig
from browser_env.protocol import EndReason, citation_problems, parse_citations
from demonstrations.recorder.live import (
    DECLINES,
    EnvFactory,
    LiveEpisode,
    LiveEpisodes,
    ResumeError,
    StaleState,
    unicode_problem,
)
from demonstrations.recorder.security import (
    LOOPBACK_HOSTS,
    AccessMiddleware,
    AccessTokens,
    AllowedHosts,
    BodyLimit,
    as_tokens,
    require_csrf,
)
from demonstrations.recorder.text import install as install_text_filters
from demonstrations.replay import replay_episode
from demonstrations.schemas import AnswerRecord, ComparedAnswer, ComparisonRecord, EpisodeRecord, Ratings
from demonstrations.store import EpisodeStore, StoreError

HERE = Path(__file__).parent
logger = logging.getLogger(__name__)
ANNOTATOR_COOKIE = "webgpt_annotator"
MAX_NAME = 64
CHOICES = {
    "A_much": ("A", "much_better"),
    "A": ("A", "better"),
    "tie": ("tie", None),
    "B": ("B", "better"),
    "B_much": ("B", "much_better"),
}
RATINGS = ("factual_accuracy", "coherence", "usefulness")


def create_app(
    store: EpisodeStore,
    env_factory: EnvFactory,
    *,
    env_config: EnvConfig | None = None,
    corpus: str | None = None,
    token: str | Iterable[str] | AccessTokens | None = None,
    seed: int | None = None,
    host: str = LOOPBACK_HOSTS[0],
    allowed_hosts: Iterable[str] = (),
) -> FastAPI:
    """The recorder. ``env_factory(config)`` makes a fresh ``BrowserEnv`` (one per episode);
    ``corpus`` is the name stored with each episode; ``token``, when given, is required on every request:
    one shared secret, or ``NAME:SECRET`` values that also name the annotator and keep each episode to the
    annotator who started it (see ``security.AccessTokens``; ``BindError`` for a weak or malformed one).
    Requests must name ``host`` (the address it listens on; the loopback names for a loopback address) or
    one of ``allowed_hosts`` in their ``Host`` header."""
    tokens = as_tokens(token)
    app = FastAPI(title="webgpt recorder", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(AccessMiddleware, tokens=tokens, hosts=AllowedHosts.for_bind(host, allowed_hosts))
    app.add_middleware(BodyLimit)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")
    install_text_filters(templates.env)
    live_episodes = LiveEpisodes(store, env_factory, env_config or EnvConfig(), corpus)
    rng = random.Random(seed)
    app.state.store = store
    app.state.live = live_episodes
    csrf = [Depends(require_csrf)]

    def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("annotator", annotator_of(request))
        context["csrf_token"] = request.state.csrf
        context["corpus"] = corpus
        return templates.TemplateResponse(request, name, context, status_code=status_code)

    def error_page(request: Request, status_code: int, message: str, **context: Any) -> HTMLResponse:
        return render(request, "error.html", status_code, message=message, **context)

    def need_annotator(request: Request) -> str | RedirectResponse:
        name = annotator_of(request)
        if name:
            return name
        return RedirectResponse(f"/annotator?next={quote(request.url.path)}", status_code=303)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        if wants_json(request):
            return JSONResponse({"detail": error.detail}, status_code=error.status_code)
        return error_page(request, error.status_code, str(error.detail))

    @app.exception_handler(StoreError)
    async def store_error(request: Request, error: StoreError) -> Response:
        if wants_json(request):
            return JSONResponse({"detail": str(error)}, status_code=503)
        return error_page(request, 503, str(error))

    # ------------------------------------------------------------------ home and annotator

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request) -> Response:
        name = annotator_of(request)
        unfinished = store.episode_summaries(annotator=name, finished=False, source="human") if name else []
        return render(
            request,
            "home.html",
            next_question=store.next_question(name) if name else None,
            unfinished=unfinished,
            progress=store.progress(),
            finished_id=request.query_params.get("finished"),
        )

    @app.get("/annotator", response_class=HTMLResponse)
    def annotator_form(request: Request, next: str = "/") -> Response:
        return render(request, "annotator.html", next=safe_next(next))

    @app.post("/annotator", dependencies=csrf)
    def set_annotator(request: Request, name: str = Form(""), next: str = Form("/")) -> Response:
        if request.state.annotator:
            return error_page(
                request,
                409,
                f"you are {request.state.annotator}: your name comes from your access token. To record as "
                "someone else, open the recorder with their address (?token=...) in another browser.",
            )
        name = " ".join(name.split())
        if not name or len(name) > MAX_NAME:
            return render(
                request,
                "annotator.html",
                400,
                next=safe_next(next),
                error=f"give a name of 1-{MAX_NAME} characters",
            )
        response = RedirectResponse(safe_next(next), status_code=303)
        response.set_cookie(ANNOTATOR_COOKIE, quote(name), max_age=365 * 86400, samesite="lax")
        return response

    # ------------------------------------------------------------------ browsing

    @app.post("/episodes", dependencies=csrf)
    def start_episode(request: Request, question_id: str = Form(""), question: str = Form("")) -> Response:
        name = need_annotator(request)
        if isinstance(name, Response):
            return name
        gold: list[str] = []
        if question_id:
            try:
                record = store.get_question(question_id)
            except KeyError:
                return error_page(request, 404, f"no question {question_id} in the queue")
            question, gold = record.question, record.gold_answers
        question = " ".join(question.split())
        if not question:
            return error_page(request, 400, "type a question, or pick one from the queue")
        live = live_episodes.start(question, name, question_id=question_id or None, gold_answers=gold)
        return RedirectResponse(f"/episodes/{live.id}", status_code=303)

    def check_owner(request: Request, episode_id: str) -> None:
        """With access tokens, only the annotator who started an episode may record in it."""
        if tokens is None:
            return
        try:
            source, owner = store.episode_owner(episode_id)
        except KeyError:
            raise HTTPException(404, f"no episode {episode_id}") from None
        name = annotator_of(request)
        if source == "human" and owner != name:
            raise HTTPException(
                403,
                f"episode {episode_id} belongs to annotator {owner!r} and you are {name!r}: only they can "
                f"record in it. You can read it at /episodes/{episode_id}/view, or start your own from the "
                "question list.",
            )

    def load_live(request: Request, episode_id: str) -> LiveEpisode | Response:
        """The live episode, if this visitor may record in it; an error page or redirect otherwise."""
        check_owner(request, episode_id)
        try:
            return live_episodes.get(episode_id)
        except KeyError:
            raise HTTPException(404, f"no episode {episode_id}") from None
        except ResumeError as error:
            try:
                episode = store.get_episode(episode_id)
            except KeyError:
                raise HTTPException(404, f"no episode {episode_id}") from None
            if episode.finished and not wants_json(request):
                return RedirectResponse(f"/episodes/{episode_id}/view", status_code=303)
            if wants_json(request):
                raise HTTPException(409, str(error)) from None
            return error_page(request, 409, str(error), abandon_id=None if episode.finished else episode_id)

    @app.get("/episodes/{episode_id}", response_class=HTMLResponse)
    def browse(request: Request, episode_id: str) -> Response:
        live = load_live(request, episode_id)
        if isinstance(live, Response):
            return live
        if live.awaiting_answer:
            return RedirectResponse(f"/episodes/{episode_id}/answer", status_code=303)
        return render(request, "browse.html", live=live, help=action_help())

    @app.post("/episodes/{episode_id}/step", dependencies=csrf)
    async def step(request: Request, episode_id: str) -> Response:
        """One command, as JSON ``{"command": ..., "at": <steps the page showed>}`` or a form; ``at`` is
        optional, and when it is not the episode's current step count the command is refused (409)."""
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                body = await request.json()
            except ValueError:
                raise HTTPException(400, 'the body must be JSON like {"command": "Search ..."}') from None
            command = body.get("command") if isinstance(body, dict) else None
            at = body.get("at") if isinstance(body, dict) else None
        else:
            form = await request.form()
            command, at = form.get("command"), form.get("at") or None
        if not isinstance(command, str) or not command.strip():
            raise HTTPException(400, "no command given")
        problem = unicode_problem(command)
        if problem:
            raise HTTPException(400, f"command refused, nothing was recorded: {problem}")
        if isinstance(at, str) and at.isascii() and at.isdigit():
            at = int(at)
        if at is not None and (not isinstance(at, int) or isinstance(at, bool) or at < 0):
            raise HTTPException(400, '"at" must be the number of steps the page showed, such as 3')
        return await run_in_threadpool(do_step, request, episode_id, command, at)

    def do_step(request: Request, episode_id: str, command: str, at: int | None) -> Response:
        with live_episodes.lock:  # nothing else may step or drop this episode until its reply is made
            return step_locked(request, episode_id, command, at)

    def step_locked(request: Request, episode_id: str, command: str, at: int | None) -> Response:
        live = load_live(request, episode_id)
        if isinstance(live, Response):
            return live
        try:
            record = live_episodes.step(live, command, at=at)
        except ResumeError as error:
            raise HTTPException(409, str(error)) from None
        except StaleState as stale:
            if not wants_json(request):
                return error_page(request, 409, str(stale))
            html = templates.get_template("_browser.html").render(live=live)
            return JSONResponse(
                {"detail": str(stale), "stale": True, "at": stale.current, "html": html}, status_code=409
            )
        except ValueError as error:
            raise HTTPException(400, f"command refused, nothing was recorded: {error}") from None
        except StoreError:
            raise
        except Exception:
            logger.exception("step %r of episode %s failed", command, episode_id)
            raise HTTPException(
                500,
                "the recorder failed on this command and recorded nothing; the episode is as it was before "
                "it. Reload the page and carry on, or report the command that failed.",
            ) from None
        redirect = None
        if live.env.end_reason in DECLINES:
            redirect = f"/?finished={episode_id}"
        elif live.awaiting_answer:
            redirect = f"/episodes/{episode_id}/answer"
        if not wants_json(request):
            return RedirectResponse(redirect or f"/episodes/{episode_id}", status_code=303)
        html = templates.get_template("_browser.html").render(live=live)
        return JSONResponse(
            {
                "step": record.index,
                "at": live.steps,
                "command": record.command,
                "error": record.error,
                "actions_left": live.info["actions_left"],
                "redirect": redirect,
                "html": html,
            }
        )

    @app.get("/episodes/{episode_id}/answer", response_class=HTMLResponse)
    def answer_page(request: Request, episode_id: str) -> Response:
        live = load_live(request, episode_id)
        if isinstance(live, Response):
            return live
        if not live.awaiting_answer:
            return RedirectResponse(f"/episodes/{episode_id}", status_code=303)
        return render(request, "answer.html", live=live, draft="", problems=[], **answer_context(live))

    @app.post("/episodes/{episode_id}/answer/check", dependencies=csrf)
    async def check_answer(request: Request, episode_id: str) -> JSONResponse:
        """The problems the answer page shows as the annotator types: the same rule as on submit."""
        try:
            body = await request.json()
        except ValueError:
            raise HTTPException(400, 'the body must be JSON like {"answer": "..."}') from None
        answer = body.get("answer") if isinstance(body, dict) else None
        if not isinstance(answer, str):
            raise HTTPException(400, 'the body must be JSON like {"answer": "..."}')
        live = await run_in_threadpool(load_live, request, episode_id)
        if isinstance(live, Response):
            raise HTTPException(409, "this episode is not waiting for an answer")
        answer = answer.replace("\r\n", "\n").strip()
        return JSONResponse(
            {"problems": citation_problems(answer, len(live.quotes)), "citations": parse_citations(answer)}
        )

    @app.post("/episodes/{episode_id}/answer", dependencies=csrf)
    def submit_answer(request: Request, episode_id: str, answer: str = Form("")) -> Response:
        live = load_live(request, episode_id)
        if isinstance(live, Response):
            return live
        if not live.awaiting_answer:
            return error_page(request, 409, "this episode is not waiting for an answer")
        answer = answer.replace("\r\n", "\n").strip()
        problems = citation_problems(answer, len(live.quotes))
        if problems:
            context = answer_context(live)
            return render(request, "answer.html", 400, live=live, draft=answer, problems=problems, **context)
        live_episodes.answer(live, AnswerRecord(text=answer, citations=parse_citations(answer)))
        return RedirectResponse(f"/?finished={episode_id}", status_code=303)

    @app.post("/episodes/{episode_id}/undo", dependencies=csrf)
    def undo(request: Request, episode_id: str, step: str = Form("")) -> Response:
        """Take back the episode's last step (``step`` is its index, as the page showed it)."""
        if not step.isascii() or not step.isdigit():
            raise HTTPException(400, "say which step to undo (the number of the last step)")
        name = need_annotator(request)
        if isinstance(name, Response):
            return name
        check_owner(request, episode_id)
        try:
            live_episodes.undo(episode_id, int(step))
        except KeyError:
            raise HTTPException(404, f"no episode {episode_id}") from None
        except (ValueError, ResumeError) as error:
            message = f"{error}. Nothing was undone: reload the episode to see its current state."
            return error_page(request, 409, message)
        return RedirectResponse(f"/episodes/{episode_id}?undone={int(step) + 1}", status_code=303)

    @app.post("/episodes/{episode_id}/decline", dependencies=csrf)
    def decline(request: Request, episode_id: str, reason: str = Form("")) -> Response:
        if reason.lower() not in DECLINES:
            raise HTTPException(400, "the reason must be Nonsense or Controversial")
        live = load_live(request, episode_id)
        if isinstance(live, Response):
            return live
        if live.env.done:
            live_episodes.decline(live, reason.lower())
        else:
            live_episodes.step(live, f"End: {reason.capitalize()}")
        return RedirectResponse(f"/?finished={episode_id}", status_code=303)

    @app.post("/episodes/{episode_id}/abandon", dependencies=csrf)
    def abandon(request: Request, episode_id: str) -> Response:
        try:
            check_owner(request, episode_id)
            live_episodes.abandon(episode_id)
        except KeyError:
            raise HTTPException(404, f"no episode {episode_id}") from None
        except ValueError as error:
            raise HTTPException(409, str(error)) from None
        return RedirectResponse(f"/?finished={episode_id}", status_code=303)

    # ------------------------------------------------------------------ viewer and progress

    @app.get("/episodes", response_class=HTMLResponse)
    def episodes(request: Request, source: str = "", status: str = "") -> Response:
        filters: dict[str, Any] = {}
        if source:
            filters["source"] = source
        if status in ("finished", "unfinished"):
            filters["finished"] = status == "finished"
        rows = store.episode_summaries(limit=500, newest_first=True, **filters)
        return render(request, "episodes.html", rows=rows, source=source, status=status)

    @app.get("/episodes/{episode_id}/view", response_class=HTMLResponse)
    def view(request: Request, episode_id: str, step: int = 0, verify: bool = False) -> Response:
        try:
            episode = store.get_episode(episode_id)
        except KeyError:
            raise HTTPException(404, f"no episode {episode_id}") from None
        step = min(max(0, step), len(episode.steps))
        replay = None
        if verify:
            replay = verify_episode(episode)
        return render(request, "view.html", episode=episode, step=step, replay=replay)

    def verify_episode(episode: EpisodeRecord) -> dict[str, Any]:
        if corpus and episode.corpus and episode.corpus != corpus:
            return {
                "ok": False,
                "message": f"recorded on corpus {episode.corpus!r}; this recorder serves {corpus!r}",
            }
        env_conf = EnvConfig.from_dict(episode.env_config) if episode.env_config else live_episodes.env_config
        with live_episodes.lock:
            result = replay_episode(episode, env_factory(env_conf))
        if result.ok:
            return {
                "ok": True,
                "message": f"all {result.total_steps} steps replay with identical observations",
            }
        assert result.mismatch is not None
        return {"ok": False, "message": result.mismatch.describe()}

    @app.get("/progress", response_class=HTMLResponse)
    def progress(request: Request) -> Response:
        return render(request, "progress.html", progress=store.progress())

    # ------------------------------------------------------------------ comparisons

    @app.get("/compare", response_class=HTMLResponse)
    def compare(request: Request) -> Response:
        name = need_annotator(request)
        if isinstance(name, Response):
            return name
        pair = pick_pair(store, name, rng)
        saved = request.query_params.get("saved")
        if pair is None:
            return render(request, "compare.html", pair=None, saved=saved)
        return render(request, "compare.html", pair=pair, saved=saved, ratings=RATINGS, choices=CHOICES)

    @app.post("/compare", dependencies=csrf)
    async def save_comparison(request: Request) -> Response:
        form = await request.form()
        return await run_in_threadpool(store_comparison, request, {k: str(v) for k, v in form.items()})

    def store_comparison(request: Request, form: dict[str, str]) -> Response:
        episode_a, episode_b = form.get("episode_a", ""), form.get("episode_b", "")
        choice, justification = form.get("choice", ""), form.get("justification", "")
        name = need_annotator(request)
        if isinstance(name, Response):
            return name
        if choice not in CHOICES:
            raise HTTPException(400, "choose which answer is better (or a tie)")
        try:
            a, b = store.get_episode(episode_a), store.get_episode(episode_b)
        except KeyError as missing:
            raise HTTPException(404, f"no episode {missing}") from None
        if a.answer is None or b.answer is None or a.question != b.question or a.id == b.id:
            raise HTTPException(400, "both episodes must answer the same question")
        if any(e.source == "human" and e.annotator == name for e in (a, b)):
            raise HTTPException(400, "you wrote one of these answers; compare answers written by others")
        preference, strength = CHOICES[choice]
        comparison = ComparisonRecord(
            question=a.question,
            answer_a=compared(a, ratings_from(form, "a")),
            answer_b=compared(b, ratings_from(form, "b")),
            preference=preference,  # type: ignore[arg-type]
            strength=strength,  # type: ignore[arg-type]
            justification=justification.strip(),
            annotator=name,
            source="human",
        )
        store.add_comparison(comparison)
        return RedirectResponse(f"/compare?saved={comparison.id}", status_code=303)

    return app


def answer_context(live: LiveEpisode) -> dict[str, Any]:
    """What the answer page says about how browsing ended and which step Undo takes back."""
    ended = live.env.end_reason
    config = live.env.config
    notice = None
    if ended == EndReason.ACTION_BUDGET:
        notice = (
            f"Browsing ended because all {config.max_actions} actions were used. Write the answer from "
            "the quotes below, or undo the last step to take one action back."
        )
    elif ended == EndReason.QUOTE_BUDGET:
        notice = (
            f"Browsing ended because the {config.max_quotes}-quote limit was reached. Write the answer "
            "from these quotes, or undo the last quote to replace it."
        )
    last = live.recording.last_step
    return {
        "end_notice": notice,
        "undo_step": last.index if last else None,
        "undo_command": last.command if last else None,
    }


def annotator_of(request: Request) -> str | None:
    """The annotator named by a per-annotator access token, else the name this browser gave."""
    if getattr(request.state, "annotator", None):
        return request.state.annotator
    value = request.cookies.get(ANNOTATOR_COOKIE)
    return unquote(value)[:MAX_NAME] if value else None


def wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept or request.headers.get("content-type", "").startswith(
        "application/json"
    )


def safe_next(target: str) -> str:
    """Only same-site paths: never redirect elsewhere."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


def ratings_from(form: dict[str, str], side: str) -> Ratings | None:
    values: dict[str, int] = {}
    for rating in RATINGS:
        raw = form.get(f"{side}_{rating}") or ""
        if isinstance(raw, str) and raw.strip():
            try:
                values[rating] = int(raw)
            except ValueError:
                raise HTTPException(400, f"{rating} must be a number from 1 to 7") from None
            if not 1 <= values[rating] <= 7:
                raise HTTPException(400, f"{rating} must be from 1 to 7")
    return Ratings(**values) if values else None


def compared(episode: EpisodeRecord, ratings: Ratings | None) -> ComparedAnswer:
    assert episode.answer is not None
    return ComparedAnswer(
        text=episode.answer.text, quotes=episode.quotes, episode_id=episode.id, ratings=ratings
    )


def pick_pair(
    store: EpisodeStore, annotator: str, rng: random.Random
) -> tuple[EpisodeRecord, EpisodeRecord] | None:
    """Two answered episodes for one question that ``annotator`` has not compared yet and did not write
    either of: first the queued pairs (``webgpt demos queue-comparisons``), the least compared first;
    then any pair, from the question with the fewest comparisons so far. Shown in random order."""
    by_question: dict[str, list[str]] = {}
    own: set[str] = set()
    for summary in store.episode_summaries(finished=True, with_answer=True):
        if summary["source"] == "human" and summary["annotator"] == annotator:
            own.add(summary["id"])
            continue
        by_question.setdefault(summary["question"], []).append(summary["id"])
    done = store.compared_pairs(annotator)
    answered = {i for ids in by_question.values() for i in ids}
    counts = store.comparison_counts()
    queued = [
        (counts.get(frozenset(pair), 0), position, pair)
        for position, pair in enumerate(store.queued_pairs())
        if frozenset(pair) not in done and set(pair) <= answered
    ]
    if queued:
        first, second = min(queued)[2]
        if rng.random() < 0.5:
            first, second = second, first
        return store.get_episode(first), store.get_episode(second)
    compared_per_question = Counter(comparison.question for comparison in store.iter_comparisons())
    candidates = []
    for question, ids in by_question.items():
        pairs = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :] if frozenset((a, b)) not in done]
        if pairs:
            candidates.append((compared_per_question[question], question, pairs))
    if not candidates:
        return None
    candidates.sort(key=lambda item: item[:2])
    first, second = rng.choice(candidates[0][2])
    if rng.random() < 0.5:
        first, second = second, first
    return store.get_episode(first), store.get_episode(second)
