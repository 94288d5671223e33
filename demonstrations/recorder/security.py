"""Who may use the recorder: known host names, an access token when it listens beyond this machine, and
CSRF tokens.

Host names: a request must name (in its ``Host`` header) the address the recorder listens on, or a
name allowed with ``allowed_hosts``; otherwise a page on another site whose name was pointed at this
machine (DNS rebinding) could use a recorder that listens on 127.0.0.1 without a token. Access token:
required on every request when set; given once as ``?token=`` (then kept in a cookie)
or in the ``X-Access-Token`` header. CSRF: a random per-browser token kept in a cookie must come back
with every POST, as the ``csrf_token`` form field or the ``X-CSRF-Token`` header (the double-submit
pattern: another site can make a browser send the cookie, but cannot read it to put it in the form).
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

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


class BindError(ValueError):
    """The recorder was asked to listen where it must not without a token."""


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve beyond loopback without an access token."""
    if host not in LOOPBACK_HOSTS and not token:
        raise BindError(
            f"refusing to listen on {host} without an access token: anyone who can reach it could read and "
            "write the demonstrations. Pass --token SECRET (then open the printed URL once), or use "
            "--host 127.0.0.1."
        )


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


class AccessMiddleware(BaseHTTPMiddleware):
    """Checks the ``Host`` header and the access token (when one is set); gives every browser a CSRF
    cookie."""

    def __init__(  # type: ignore[no-untyped-def]
        self, app, token: str | None, hosts: AllowedHosts | None = None
    ) -> None:
        super().__init__(app)
        self.token = token
        self.hosts = hosts or AllowedHosts.for_bind(LOOPBACK_HOSTS[0])

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        header = request.headers.get("host", "")
        if not self.hosts.allows(header):
            return PlainTextResponse(
                f"Unknown host {header!r}: this recorder answers to {self.hosts.describe()}. Open it by one "
                "of those names, or start it with --allowed-host NAME to add one.\n",
                status_code=400,
            )
        if self.token:
            given = request.query_params.get("token")
            if given is not None and same_secret(given, self.token):
                # Keep the token in a cookie and drop it from the address bar.
                query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
                target = request.url.path + (f"?{query}" if query else "")
                response: Response = RedirectResponse(target, status_code=303)
                response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="lax")
                return response
            presented = request.headers.get(TOKEN_HEADER) or request.cookies.get(TOKEN_COOKIE) or ""
            if not same_secret(presented, self.token):
                return PlainTextResponse(
                    "Access token required: open the address that `webgpt record` printed (it ends in "
                    "?token=...), or send the X-Access-Token header.\n",
                    status_code=401,
                )
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
