"""``webgpt record``: serve the recorder web app, where people record demonstrations and comparisons.

webgpt record --questions ../shared/data/qa/nq_open_dev.jsonl      # http://127.0.0.1:8765/
webgpt record --host 0.0.0.0 --token "$(openssl rand -hex 16)"    # reachable from other machines
webgpt record --host 0.0.0.0 --token alice:SECRET1 --token bob:SECRET2   # one token per annotator
webgpt record --host 0.0.0.0 --tokens-file tokens.txt             # NAME:SECRET a line
webgpt record --host 0.0.0.0 --token ... --allowed-host rec.example.org   # ... also by that name
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from browser_env.config import EnvConfig

ENV_DEFAULTS = EnvConfig()


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"webgpt record: {message}", err=True)
    return typer.Exit(code)


def record(
    corpus: Annotated[
        str | None, typer.Option(help="Corpus to browse (default: the default corpus, built on first use).")
    ] = None,
    questions: Annotated[
        Path | None,
        typer.Option(help="Queue the questions in this file (JSONL, JSON, CSV, TruthfulQA or one a line)."),
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on; beyond 127.0.0.1 a --token is required.")
    ] = ("127.0.0.1"),
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            help="Another host name visitors use to reach the recorder, such as its DNS name (repeatable); "
            "requests naming any other host are refused."
        ),
    ] = None,
    token: Annotated[
        list[str] | None,
        typer.Option(
            envvar="WEBGPT_RECORD_TOKEN",
            help="Access token every visitor must present (once), at least 16 characters; or NAME:SECRET, "
            "repeated, one per annotator: the name then comes from the token and each annotator can "
            "record only in their own episodes.",
        ),
    ] = None,
    tokens_file: Annotated[
        Path | None,
        typer.Option(help="Per-annotator tokens, one NAME:SECRET a line (instead of --token)."),
    ] = None,
    db: Annotated[
        Path | None,
        typer.Option(help="Demonstrations database (default: $WEBGPT_HOME/demonstrations.sqlite)."),
    ] = None,
    max_actions: Annotated[
        int, typer.Option(min=1, help="Action budget per episode.")
    ] = ENV_DEFAULTS.max_actions,
    max_quotes: Annotated[
        int, typer.Option(min=1, help="Quote budget per episode.")
    ] = ENV_DEFAULTS.max_quotes,
) -> None:
    """Serve the recorder: browse and answer questions in the model's text browser, compare answers."""
    from demonstrations.recorder.security import AccessTokens, BindError, check_bind

    if token and tokens_file:
        raise _fail("give --token or --tokens-file, not both", 2)
    try:
        tokens = check_bind(host, AccessTokens.read(tokens_file) if tokens_file else token)
    except BindError as error:
        raise _fail(str(error), 2) from None

    import uvicorn

    from browser_env.corpus import CorpusError, ensure_default_corpus, open_corpus
    from browser_env.env import EnvConfig
    from demonstrations.imports import ImportFormatError, load_questions
    from demonstrations.recorder.app import create_app
    from demonstrations.store import EpisodeStore, StoreError

    try:
        store = EpisodeStore(db)
    except StoreError as error:
        raise _fail(str(error)) from None
    if questions is not None:
        try:
            records = load_questions(questions)
        except ImportFormatError as error:
            raise _fail(str(error)) from None
        added = store.add_questions(records)
        typer.echo(
            f"Queued {added} new questions from {questions} ({len(records) - added} were already queued)."
        )
    try:
        source = open_corpus(corpus) if corpus else ensure_default_corpus()
    except CorpusError as error:
        raise _fail(str(error)) from None

    app = create_app(
        store,
        source.make_env,
        env_config=EnvConfig(max_actions=max_actions, max_quotes=max_quotes),
        corpus=source.name,
        token=tokens,
        host=host,
        allowed_hosts=allowed_host or (),
    )
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{port}/"
    typer.echo(f"Recording into {store.path} on corpus {source.name!r}.")
    if tokens is not None and tokens.per_annotator:
        typer.echo(f"Annotators: {', '.join(tokens.names)}.")
        typer.echo(f"Each opens {address}?token=THEIR_SECRET once  (Ctrl+C to stop)")
    else:
        shared = f"?token={tokens.holders[0][0]}" if tokens is not None else ""
        typer.echo(f"Open {address}{shared}  (Ctrl+C to stop)")
    sys.stdout.flush()
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        store.close()
