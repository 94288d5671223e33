"""Who may use the recorder: known host names, an access token when it listens beyond this machine, and
CSRF tokens.

Host names: a request must name (in its ``Host`` header) the address the recorder listens on, or a
name allowed with ``allowed_hosts``; otherwise a page on another site whose name was pointed at this
machine (DNS rebinding) could use a recorder that listens on 127.0.0.1 without a token. Access tokens
(``AccessTokens``): required on every request when set; given once as ``?token=`` (then kept in a
cookie) or in the ``X-Access-Token`` header. One shared token lets people in; ``NAME:SECRET`` tokens,
one per annotator, also say who they are (the recorder then takes the annotator's name from the token and
keeps each episode to its annotator). CSRF: a random per-browser token kept in a cookie must come back
with every POST, as the ``csrf_token`` form field or the ``X-CSRF-Token`` header (the double-submit
pattern: another site can make a browser send the cookie, but cannot read it to put it in the form), and
a POST whose ``Origin`` (or, without one, ``Referer``) is another site is refused. No page may be framed
by another site (``frame-ancestors 'none'``, ``X-Frame-Options: DENY``).
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import HTTPException, Request
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import PlainTextResponse, RedirectResponse, Response

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
TOKEN_COOKIE = "webgpt_token"
TOKEN_HEADER = "X-Access-Token"
CSRF_COOKIE = "webgpt_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
MIN_TOKEN = 16
MAX_NAME = 64
SECURITY_HEADERS = {
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class BindError(ValueError):
    """The recorder was asked to listen where it must not without a token, or with a weak token."""


@dataclass(frozen=True)
class AccessTokens:
    """Who may use the recorder: one shared secret (``holders`` is ``((secret, None),)``) or one secret
    per annotator (``((secret, name), ...)``); the name then comes from the token, not from the visitor."""

    holders: tuple[tuple[str, str | None], ...]

    @classmethod
    def parse(cls, values: str | Iterable[str]) -> AccessTokens:
        """``SECRET`` (shared) or ``NAME:SECRET`` values (one per annotator); ``BindError`` says what is
        wrong. Every secret must be at least ``MIN_TOKEN`` characters."""
        values = [values] if isinstance(values, str) else list(values)
        holders: list[tuple[str, str | None]] = []
        for value in values:
            name, colon, secret = value.partition(":")
            holders.append((secret, " ".join(name.split())) if colon else (value, None))
        if not holders:
            raise BindError("no access token given")
        named = [name for _, name in holders if name is not None]
        if len(holders) > 1 and len(named) != len(holders):
            raise BindError(
                "give one shared token, or NAME:SECRET tokens (one per annotator), not a mix of both"
            )
        for secret, name in holders:
            who = f" for {name!r}" if name is not None else ""
            if len(secret) < MIN_TOKEN:
                raise BindError(
                    f"the access token{who} has {len(secret)} characters; use at least {MIN_TOKEN} random "
                    'ones, for example "$(openssl rand -hex 16)"'
                )
            if name is not None and not 1 <= len(name) <= MAX_NAME:
                raise BindError(f"annotator names in NAME:SECRET tokens must have 1-{MAX_NAME} characters")
        if len(set(named)) != len(named) or len({secret for secret, _ in holders}) != len(holders):
            raise BindError("each annotator needs a name and a secret of their own: two tokens repeat one")
        return cls(tuple(holders))

    @classmethod
    def read(cls, path: Path) -> AccessTokens:
        """A tokens file: one ``NAME:SECRET`` a line; blank lines and ``#`` comments are skipped."""
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise BindError(f"cannot read the tokens file {path}: {error}") from None
        values = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
        if not values or any(":" not in value for value in values):
            raise BindError(f"{path} must hold one NAME:SECRET a line (blank lines and # comments allowed)")
        return cls.parse(values)

    @property
    def per_annotator(self) -> bool:
        return self.holders[0][1] is not None

    @property
    def names(self) -> list[str]:
        return [name for _, name in self.holders if name is not None]

    def holder(self, given: str) -> tuple[str, str | None] | None:
        """``(secret, annotator name or None)`` for a presented token, or None; every secret is compared
        in constant time."""
        found = None
        for secret, name in self.holders:
            if same_secret(given, secret):
                found = (secret, name)
        return found


def as_tokens(tokens: str | Iterable[str] | AccessTokens | None) -> AccessTokens | None:
    """Tokens as given on the command line (one string, several, or none) parsed; empty means none."""
    if tokens is None or isinstance(tokens, AccessTokens):
        return tokens
    values = [value for value in ([tokens] if isinstance(tokens, str) else tokens) if value]
    return AccessTokens.parse(values) if values else None


def check_bind(host: str, tokens: str | Iterable[str] | AccessTokens | None) -> AccessTokens | None:
    """Refuse weak tokens anywhere and serving beyond loopback without one; returns the parsed tokens."""
    parsed = as_tokens(tokens)
    if host not in LOOPBACK_HOSTS and parsed is None:
        raise BindError(
            f"refusing to listen on {host} without an access token: anyone who can reach it could read and "
            "write the demonstrations. Pass --token SECRET (then open the printed URL once), or use "
            "--host 127.0.0.1."
        )
    return parsed


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of any two strings (``secrets.compare_digest`` raises on non-ASCII text)."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def _address(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def _normal(name: str) -> str:
    """Lower case, no trailing dot, no IPv6 brackets, one spelling per address."""
    name = name.strip().lower().rstrip(".").removeprefix("[").removesuffix("]")
    address = _address(name)
    return str(address) if address else name


def host_name(header: str) -> str | None:
    """The name in a ``Host`` header (``name``, ``name:port``, ``[v6]``, ``[v6]:port``), normalised;
    None if the header is malformed."""
    if header.startswith("["):
        name, _, port = header[1:].partition("]")
        if port and not port.startswith(":"):
            return None
        port = port[1:]
    else:
        name, _, port = header.partition(":")
    if not name or (port and not port.isdigit()):
        return None
    return _normal(name)


@dataclass(frozen=True)
class AllowedHosts:
    """The host names a recorder answers to, whatever the port."""

    names: frozenset[str]
    any_address: bool = False  # safe: a rebinding page needs a name of its own, never a bare address

    @classmethod
    def for_bind(cls, bind: str, extra: Iterable[str] = ()) -> AllowedHosts:
        """The loopback names for a loopback ``bind``, else ``bind`` itself; a wildcard bind (0.0.0.0, ::)
        answers to the loopback names and any address. ``extra`` adds names, such as a DNS name."""
        names = {_normal(name) for name in extra}
        bind = _normal(bind)
        address = _address(bind)
        wildcard = bind in {_normal(host) for host in WILDCARD_HOSTS}
        if wildcard or bind == "localhost" or (address is not None and address.is_loopback):
            names |= {_normal(host) for host in LOOPBACK_HOSTS}
        if not wildcard:
            names.add(bind)
        return cls(frozenset(names), any_address=wildcard)

    def allows(self, header: str) -> bool:
        name = host_name(header)
        if name is None:
            return False
        return name in self.names or (self.any_address and _address(name) is not None)

    def describe(self) -> str:
        shown = ", ".join(sorted(f"[{name}]" if ":" in name else name for name in self.names))
        return shown + (" or any IP address" if self.any_address else "")


def _authority(netloc: str, scheme: str) -> str:
    """``host:port`` with the scheme's default port dropped, normalised, for comparing origins."""
    name, _, port = netloc.rpartition(":") if not netloc.endswith("]") else (netloc, "", "")
    if not name or not port.isdigit():
        name, port = netloc, ""
    if port == {"http": "80", "https": "443"}.get(scheme):
        port = ""
    return _normal(name) + (f":{port}" if port else "")


def foreign_origin(request: Request) -> str | None:
    """The other site a state-changing request comes from (by ``Origin``, else ``Referer``), or None
    when it comes from this recorder's own pages or from a client that names no origin."""
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer")
        if not referer:
            return None
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else referer
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return origin  # "null" (a sandboxed frame, a file) or anything unreadable
    host = request.headers.get("host", "")
    if _authority(parts.netloc, parts.scheme) != _authority(host, parts.scheme):
        return origin
    return None


class AccessMiddleware(BaseHTTPMiddleware):
    """Checks the ``Host`` header, the origin of state-changing requests and the access token (when
    tokens are set); names the annotator a per-annotator token belongs to (``request.state.annotator``);
    gives every browser a CSRF cookie; forbids framing."""

    def __init__(  # type: ignore[no-untyped-def]
        self, app, tokens: AccessTokens | None, hosts: AllowedHosts | None = None
    ) -> None:
        super().__init__(app)
        self.tokens = tokens
        self.hosts = hosts or AllowedHosts.for_bind(LOOPBACK_HOSTS[0])

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await self._dispatch(request, call_next)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    async def _dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        request.state.annotator = None
        header = request.headers.get("host", "")
        if not self.hosts.allows(header):
            return PlainTextResponse(
                f"Unknown host {header!r}: this recorder answers to {self.hosts.describe()}. Open it by one "
                "of those names, or start it with --allowed-host NAME to add one.\n",
                status_code=400,
            )
        if request.method in UNSAFE_METHODS:
            origin = foreign_origin(request)
            if origin is not None:
                return PlainTextResponse(
                    f"Refused a {request.method} sent from another site ({origin!r}): use the recorder's own "
                    f"pages at http://{header}/.\n",
                    status_code=403,
                )
        if self.tokens is not None:
            given = request.query_params.get("token")
            holder = self.tokens.holder(given) if given is not None else None
            if holder is not None:
                # Keep the token in a cookie and drop it from the address bar.
                query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
                target = request.url.path + (f"?{query}" if query else "")
                response: Response = RedirectResponse(target, status_code=303)
                response.set_cookie(TOKEN_COOKIE, holder[0], httponly=True, samesite="lax")
                return response
            presented = request.headers.get(TOKEN_HEADER) or request.cookies.get(TOKEN_COOKIE) or ""
            holder = self.tokens.holder(presented)
            if holder is None:
                return PlainTextResponse(
                    "Access token required: open the address that `webgpt record` printed (it ends in "
                    "?token=...), or send the X-Access-Token header.\n",
                    status_code=401,
                )
            request.state.annotator = holder[1]
        csrf = request.cookies.get(CSRF_COOKIE)
        fresh = not csrf
        request.state.csrf = csrf or secrets.token_urlsafe(32)
        response = await call_next(request)
        if fresh:
            response.set_cookie(CSRF_COOKIE, request.state.csrf, httponly=True, samesite="lax")
        return response


async def require_csrf(request: Request) -> None:
    """FastAPI dependency for every POST: the CSRF cookie and the submitted token must match."""
    expected = request.cookies.get(CSRF_COOKIE)
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not expected or not given or not same_secret(expected, given):
        raise HTTPException(
            status_code=403,
            detail="missing or wrong CSRF token: reload the page and try again",
        )


MAX_BODY_BYTES = 256 * 1024  # a command, an answer or a comparison is a few KB at most


class BodyLimit:
    """Refuses request bodies over ``limit`` bytes with 413, whether announced by Content-Length or
    streamed, before the application reads them (a pure ASGI middleware)."""

    def __init__(self, app: Any, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(send)
            return
        received = 0

        async def limited_receive() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _TooLarge
            return message

        started = False

        async def tracked_send(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except BaseException as error:  # the inner middleware may wrap it in an exception group
            if not _too_large(error) or started:
                raise
            await self._refuse(send)

    async def _refuse(self, send: Any) -> None:
        body = (
            f"the request is over {self.limit // 1024} KB; commands, answers and comparisons are far "
            "shorter: nothing was recorded"
        ).encode()
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


def _too_large(error: BaseException) -> bool:
    if isinstance(error, _TooLarge):
        return True
    return isinstance(error, BaseExceptionGroup) and any(_too_large(e) for e in error.exceptions)
