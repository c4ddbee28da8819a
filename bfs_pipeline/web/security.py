"""What every request to `bfs web` passes before the form sees it: headers, a masked access log, rate limits, a
body size limit, and CSRF protection by asgi-csrf.

Plain ASGI middleware, outermost first (see `protect`):

- `Guard`: security headers and Cache-Control on every response, one access-log line with the token masked, and an
  unexpected error logged by its type and frames only (a database error's message can hold the answers);
- `RateLimit`: per client address and per personal link, counted in the `limits` storage that
  BFS_RATELIMIT_STORAGE_URL names (memory://, or Redis shared by several processes); over the limit, 429;
- `BodyLimit`: a POST body larger than `MAX_BODY` is refused with 413, by its Content-Length or while it streams
  (and a form body that is not UTF-8 with 400);
- asgi-csrf: a POST without the signed token of its cookie in the form body is refused with 403.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
import time
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
# The page for a refusal: (status, lang, scope) -> an HTML body in that language.
Page = Callable[[int, str, Scope], bytes]

MAX_BODY = 64 * 1024  # bytes: the longest form (every free text at 4 000 characters) is well under it
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
]
STATIC_PREFIX = "/static/"
UNLIMITED = ("/healthz", STATIC_PREFIX)  # not counted: a health probe, and the one stylesheet every page loads
LINK_RE = re.compile(r"^/f/([^/]*)")
# asgi-csrf's cookie. Its token is read from the form's hidden field, never by script (HttpOnly). Over https it is
# named __Host-csrftoken: browsers then take it only from this host, Secure and for the whole site, so a
# neighbouring subdomain cannot plant a cookie of its own for the double-submit check.
CSRF_COOKIE, CSRF_HOST_COOKIE = "csrftoken", "__Host-csrftoken"

access_log = logging.getLogger("bfs.web.access")
error_log = logging.getLogger("bfs.web.error")


def masked(path: str) -> str:
    """A request path as it may be logged: a personal link's token replaced by [token]."""
    return LINK_RE.sub("/f/[token]", path)


def lang_of(scope: Scope, default: str) -> str:
    """The page language a request asks for with ?lang=, else the installation's."""
    asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("lang", [""])[0]
    return asked if asked in ("sv", "en") else default


def derive_secret(key: bytes, purpose: bytes) -> str:
    """A secret of its own for one purpose (CSRF signing, rate-limit keys), derived from the hash key."""
    return hmac.new(key, purpose, hashlib.sha256).hexdigest()


async def send_page(send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})


def _frames(exc: BaseException) -> str:
    """Where an error happened, without its message: the innermost frame, then the project's own frames (file,
    line and function), innermost first."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames[:-1] if "/bfs_pipeline/" in f.filename][-6:]
    return " < ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in reversed(ours + frames[-1:]))


def _csrf_cookie(value: bytes) -> bool:
    return value.startswith((f"{CSRF_COOKIE}=".encode(), f"{CSRF_HOST_COOKIE}=".encode()))


class Guard:
    """Security headers on every response (and HttpOnly on the CSRF cookie), one access-log line per request
    (token masked, no query, no client address), and a 500 page for an unexpected error, logged without its
    message."""

    def __init__(self, app: ASGIApp, page: Page, default_lang: str) -> None:
        self.app = app
        self.page = page
        self.default_lang = default_lang

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0
        path = scope.get("path", "")
        cache = b"public, max-age=3600" if path.startswith(STATIC_PREFIX) else b"no-store"

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    (k, v + b"; HttpOnly" if k.lower() == b"set-cookie" and _csrf_cookie(v) else v)
                    for k, v in message.get("headers", [])
                    if k.lower() != b"cache-control"
                ]
                message = {**message, "headers": headers + HEADERS + [(b"cache-control", cache)]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:  # logged by type and place only: the message of a database error holds values
            error_log.error("%s %s failed: %s at %s", scope["method"], masked(path), type(exc).__name__, _frames(exc))
            if not status:
                lang = lang_of(scope, self.default_lang)
                await send_page(send_with_headers, 500, self.page(500, lang, scope))
        finally:
            ms = (time.perf_counter() - started) * 1000
            access_log.info("%s %s %d %.0f ms", scope["method"], masked(path), status, ms)


class BodyLimit:
    """A request body over `limit` bytes is refused with 413 before anything reads it: by its Content-Length, or
    while it streams (it is read into memory up to the limit, then handed on)."""

    def __init__(self, app: ASGIApp, page: Page, default_lang: str, limit: int = MAX_BODY) -> None:
        self.app = app
        self.page = page
        self.default_lang = default_lang
        self.limit = limit

    async def refuse(self, scope: Scope, send: Send) -> None:
        await send_page(
            send, 413, self.page(413, lang_of(scope, self.default_lang), scope), [(b"connection", b"close")]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await self.refuse(scope, send)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            size += len(message.get("body", b""))
            if size > self.limit:
                await self.refuse(scope, send)
                return
            messages.append(message)
            if not message.get("more_body", False):
                break

        if b"urlencoded" in dict(scope.get("headers", [])).get(b"content-type", b""):
            try:  # asgi-csrf decodes the body as UTF-8 and would fail with a 500
                b"".join(m.get("body", b"") for m in messages).decode("utf-8")
            except UnicodeDecodeError:
                await send_page(send, 400, self.page(400, lang_of(scope, self.default_lang), scope))
                return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


class Limiter:
    """Rate limits per client address and per personal link, in the storage BFS_RATELIMIT_STORAGE_URL names.

    A link is counted by a digest of its token (the storage never holds a token), and every key carries a
    namespace derived from the hash key, so that installations sharing one Redis do not share limits.
    """

    def __init__(self, storage_url: str, per_link: str, per_client: str, key: bytes) -> None:
        self.storage_url = storage_url
        self.per_link: RateLimitItem = parse(per_link)
        self.per_client: RateLimitItem = parse(per_client)
        self.namespace = derive_secret(key, b"bfs-ratelimit")[:16]
        self._limiter: MovingWindowRateLimiter | None = None

    def limiter(self) -> MovingWindowRateLimiter:
        # made at the first request, inside the server's event loop (the async storages belong to one loop)
        if self._limiter is None:
            options: dict[str, Any] = {"wrap_exceptions": True}
            if self.storage_url.startswith("redis"):
                options |= {"implementation": "redispy", "key_prefix": f"bfs-{self.namespace}"}
            storage = storage_from_string("async+" + self.storage_url, **options)
            assert isinstance(storage, Storage)
            self._limiter = MovingWindowRateLimiter(storage)
        return self._limiter

    def link_key(self, token: str) -> str:
        return hmac.new(self.namespace.encode(), token.encode("utf-8", "replace"), hashlib.sha256).hexdigest()[:32]

    async def check(self, client: str, path: str) -> int | None:
        """None when the request may go on; else the seconds to wait (Retry-After)."""
        limiter = self.limiter()
        checks = [(self.per_client, ("client", self.namespace, client))]
        m = LINK_RE.match(path)
        if m:
            checks.append((self.per_link, ("link", self.namespace, self.link_key(m.group(1)))))
        try:
            for item, ids in checks:
                if not await limiter.hit(item, *ids):
                    stats = await limiter.get_window_stats(item, *ids)
                    return max(1, math.ceil(stats.reset_time - time.time()))
        except StorageError as exc:  # the storage is down: serve the form rather than refuse every actor
            error_log.warning("rate limits not checked: the storage cannot be reached (%s)", type(exc.storage_error))
        return None


class RateLimit:
    """429 with Retry-After for a client address or a personal link over its limit."""

    def __init__(self, app: ASGIApp, limiter: Limiter, page: Page, default_lang: str) -> None:
        self.app = app
        self.limiter = limiter
        self.page = page
        self.default_lang = default_lang

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(UNLIMITED):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        wait = await self.limiter.check(client, path)
        if wait is None:
            await self.app(scope, receive, send)
            return
        body = self.page(429, lang_of(scope, self.default_lang), scope)
        await send_page(send, 429, body, [(b"retry-after", str(wait).encode())])


class _Everywhere:
    """For asgi-csrf's always_protect: every path, so that a POST without any cookie is refused too."""

    def __contains__(self, path: object) -> bool:
        return True


def csrf(app: ASGIApp, key: bytes, secure_cookie: bool, page: Page, default_lang: str) -> ASGIApp:
    """asgi-csrf around the app: a POST must carry the signed token of its cookie in the form field csrftoken.

    The library lets a request with an Authorization: Bearer header through unchecked (for API clients); this
    app has no such clients, so that header is dropped before the check and no POST passes without the token.
    """
    from asgi_csrf import asgi_csrf  # type: ignore[import-untyped]  # no type hints in the package

    async def refused(scope: Scope, send: Send, _reason: object) -> None:
        await send_page(send, 403, page(403, lang_of(scope, default_lang), scope))

    checked = asgi_csrf(
        app,
        cookie_name=CSRF_HOST_COOKIE if secure_cookie else CSRF_COOKIE,
        signing_secret=derive_secret(key, b"bfs-csrf"),
        always_protect=_Everywhere(),
        cookie_secure=secure_cookie,
        cookie_samesite="Lax",
        send_csrf_failed=refused,
    )

    async def without_bearer(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"authorization"]
            scope = {**scope, "headers": headers}
        await checked(scope, receive, send)

    return without_bearer


def protect(app: ASGIApp, key: bytes, limiter: Limiter, secure_cookie: bool, page: Page, default_lang: str) -> ASGIApp:
    """The app behind every guard, outermost first: headers and log, rate limits, body size, CSRF."""
    inner = csrf(app, key, secure_cookie, page, default_lang)
    inner = BodyLimit(inner, page, default_lang)
    inner = RateLimit(inner, limiter, page, default_lang)
    return Guard(inner, page, default_lang)
