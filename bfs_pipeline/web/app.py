"""`bfs web`: the forms at /f/TOKEN over HTTP, rendered on the server, working without JavaScript.

The app only speaks HTTP: `FormService` decides what a form asks, checks and stores; `security` guards every
request (headers, rate limits, body size, CSRF). Pages are Jinja templates in `templates/`, in Swedish or, with
?lang=en, English; the one stylesheet is `static/form.css`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_time
from sqlalchemy import Engine, text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bfs_pipeline import i18n
from bfs_pipeline.config import Settings
from bfs_pipeline.outreach.invite import opt_out
from bfs_pipeline.outreach.links import TZ, Visit, WaveState, controller_name
from bfs_pipeline.privacy import hash_key
from bfs_pipeline.survey import load_surveys
from bfs_pipeline.web import security
from bfs_pipeline.web.forms import FormPage, FormService, Outcome

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
STATEMENT_DATE = dt.date(2026, 11, 26)  # when the accessibility statement was last reviewed (tillganglighet.html)
REFUSALS = {403: "forbidden.html", 404: "notfound.html", 413: "toolarge.html", 429: "ratelimited.html"}

log = logging.getLogger("bfs.web")


@dataclass(frozen=True)
class Contact:
    """Whom actors write to about the form: a name where the setting gives one, and the address."""

    name: str
    address: str


class Site:
    """What every page needs: the settings, the form service, who is responsible, and the templates."""

    def __init__(self, settings: Settings, engine: Engine, key: bytes) -> None:
        self.settings = settings
        self.engine = engine
        self.service = FormService(engine, settings.surveys_dir, key, settings.lang)
        name, address = parseaddr(settings.contact or settings.report_from)
        self.contact = Contact(name, address)
        self._controllers: dict[str | None, str] = {}

    def lang(self, asked: str | None) -> str:
        return asked if asked in i18n.LANGS else self.settings.lang

    def controller(self, survey_id: str | None = None) -> str:
        """Who publishes the form and answers for the answers: BFS_CONTROLLER, else the survey's länsstyrelse."""
        if self.settings.controller:
            return self.settings.controller
        if survey_id not in self._controllers:
            self._controllers[survey_id] = self._county_board(survey_id)
        return self._controllers[survey_id]

    def _county_board(self, survey_id: str | None) -> str:
        surveys = load_surveys(self.settings.surveys_dir)
        return controller_name(None, surveys.get(survey_id or "") or next(iter(surveys.values()), None))

    def render(self, name: str, lang: str, **context: Any) -> str:
        env = i18n.environment(str(TEMPLATES), lang)
        context.setdefault("controller", self.controller())
        return env.get_template(name).render(lang=lang, contact=self.contact, **context)

    def page(self, name: str, lang: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(self.render(name, lang, **context), status_code=status)

    def refusal(self, status: int, lang: str, scope: security.Scope) -> bytes:
        """The page for a request refused before it reached a route (403, 413, 429, 500)."""
        name = REFUSALS.get(status, "error.html")
        back = scope.get("path", "") if status == 403 and str(scope.get("path", "")).startswith("/f/") else None
        return self.render(name, lang, back=back).encode("utf-8")


def when(moment: dt.datetime, lang: str) -> str:
    """A moment as people read it, in the county's time: "26 nov. 2026 14:32" / "Nov 26, 2026 2:32 PM"."""
    if moment.tzinfo is None:  # SQLite gives back naive UTC
        moment = moment.replace(tzinfo=dt.UTC)
    local = moment.astimezone(ZoneInfo(TZ))
    return f"{i18n.fmt_date(local.date(), lang)} {format_time(local, format='short', locale=i18n.babel_locale(lang))}"


def form_context(site: Site, request: Request, page: FormPage, token: str) -> dict[str, Any]:
    visit = page.visit
    return {
        "page": page,
        "token": token,
        "wave": visit.wave,
        "deadline": i18n.fmt_date(visit.deadline, page.lang),
        "controller": site.controller(visit.survey_id),
        "csrftoken": request.scope["csrftoken"](),
        "answered_at": when(page.answered_at, page.lang) if page.answered_at else None,
        "draft_saved_at": when(page.draft_saved_at, page.lang) if page.draft_saved_at else None,
        "draft_saved": None,  # set when the page answers "Spara utkast"
    }


def create_app(settings: Settings, engine: Engine | None = None) -> security.ASGIApp:
    """The web form as an ASGI app, behind its guards (see `security.protect`)."""
    if engine is None:
        from bfs_pipeline.db import open_database

        engine = open_database(settings.database_url, lambda: hash_key(settings.hash_key, settings.home))
    key = hash_key(settings.hash_key, settings.home)
    site = Site(settings, engine, key)

    def not_found(lang: str) -> HTMLResponse:
        return site.page("notfound.html", lang, 404)

    def closed(visit: Visit, lang: str) -> HTMLResponse:
        return site.page(
            "closed.html",
            lang,
            410,
            wave=visit.wave,
            deadline=i18n.fmt_date(visit.deadline, lang),
            early=visit.state is WaveState.CLOSED,
            controller=site.controller(visit.survey_id),
        )

    async def healthz(request: Request) -> Response:
        def ping() -> bool:
            try:
                with engine.connect() as c:
                    c.execute(text("SELECT 1"))
                return True
            except Exception as exc:  # any reason the database cannot answer; its message may hold a URL
                log.warning("healthz: the database does not answer (%s)", type(exc).__name__)
                return False

        ok = await run_in_threadpool(ping)
        return JSONResponse({"status": "ok" if ok else "unavailable"}, status_code=200 if ok else 503)

    async def visit_of(request: Request) -> Visit | None:
        return await run_in_threadpool(site.service.visit, request.path_params["token"])

    async def show_form(request: Request) -> Response:
        lang = site.lang(request.query_params.get("lang"))
        visit = await visit_of(request)
        if visit is None:
            return not_found(lang)
        if visit.state is not WaveState.OPEN:
            return closed(visit, lang)
        page = await run_in_threadpool(site.service.page, visit, lang)
        token = request.path_params["token"]
        return site.page("form.html", lang, **form_context(site, request, page, token))

    async def post_form(request: Request) -> Response:
        form: FormData = await request.form()
        asked = form.get("lang")
        lang = site.lang(asked if isinstance(asked, str) else request.query_params.get("lang"))
        visit = await visit_of(request)
        if visit is None:
            return not_found(lang)
        if visit.state is not WaveState.OPEN:
            return closed(visit, lang)
        token = request.path_params["token"]
        values = {k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form}
        if form.get("action") == "draft":
            saved = await run_in_threadpool(site.service.save_draft, visit, values)
            if saved.outcome is Outcome.CLOSED:
                return closed(visit, lang)
            page = await run_in_threadpool(site.service.page, visit, lang)
            context = form_context(site, request, page, token)
            context["draft_saved"] = when(saved.at or dt.datetime.now(dt.UTC), lang)
            return site.page("form.html", lang, **context)
        done = await run_in_threadpool(site.service.submit, visit, values, lang)
        if done.outcome is Outcome.CLOSED:
            return closed(visit, lang)
        if done.outcome is Outcome.INVALID and done.page is not None:
            return site.page("form.html", lang, **form_context(site, request, done.page, token))
        return RedirectResponse(f"/f/{token}/tack?lang={lang}", status_code=303)

    async def receipt(request: Request) -> Response:
        lang = site.lang(request.query_params.get("lang"))
        visit = await visit_of(request)
        if visit is None:
            return not_found(lang)
        if visit.state is not WaveState.OPEN:
            return closed(visit, lang)
        _, at = await run_in_threadpool(site.service.stored_values, visit)
        if at is None:  # nothing sent yet: the form itself
            return RedirectResponse(f"/f/{request.path_params['token']}?lang={lang}", status_code=303)
        return site.page(
            "receipt.html",
            lang,
            visit=visit,
            token=request.path_params["token"],
            wave=visit.wave,
            answered_at=when(at, lang),
            deadline=i18n.fmt_date(visit.deadline, lang),
            controller=site.controller(visit.survey_id),
        )

    async def unsubscribe(request: Request) -> Response:
        """No more reminders: GET asks (a mail scanner that follows links changes nothing), POST records it. Works
        while the link is valid, whatever the wave's state."""
        done = request.method == "POST"
        asked: Any = (await request.form()).get("lang") if done else None
        lang = site.lang(asked if isinstance(asked, str) else request.query_params.get("lang"))
        visit = await visit_of(request)
        if visit is None:
            return not_found(lang)
        if done:
            await run_in_threadpool(opt_out, engine, visit.actor_id, visit.wave)
        return site.page(
            "unsubscribe.html",
            lang,
            visit=visit,
            token=request.path_params["token"],
            done=done,
            csrftoken=request.scope["csrftoken"](),
            controller=site.controller(visit.survey_id),
        )

    async def accessibility(request: Request) -> Response:
        lang = site.lang(request.query_params.get("lang"))
        return site.page("tillganglighet.html", lang, reviewed=i18n.fmt_date(STATEMENT_DATE, lang))

    async def privacy(request: Request) -> Response:
        return site.page("integritet.html", site.lang(request.query_params.get("lang")))

    async def refused(request: Request, exc: Exception) -> Response:
        lang = site.lang(request.query_params.get("lang"))
        if isinstance(exc, HTTPException) and exc.status_code not in (404, 405):
            return site.page("error.html", lang, exc.status_code)
        return not_found(lang)

    async def failed(request: Request, exc: Exception) -> Response:
        return site.page("error.html", site.lang(request.query_params.get("lang")), 500)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(site.service.warm)  # the validation suite, built once and not per submission
        yield

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/f/{token}", show_form, methods=["GET"]),
        Route("/f/{token}", post_form, methods=["POST"]),
        Route("/f/{token}/tack", receipt, methods=["GET"]),
        Route("/f/{token}/avregistrera", unsubscribe, methods=["GET", "POST"]),
        Route("/tillganglighet", accessibility, methods=["GET"]),
        Route("/integritet", privacy, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    handlers: dict[Any, Callable[..., Any]] = {HTTPException: refused, Exception: failed}
    app = Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)
    limiter = security.Limiter(settings.ratelimit_storage_url, settings.ratelimit_link, settings.ratelimit_client, key)
    secure = settings.public_url.startswith("https://")
    return security.protect(app, key, limiter, secure, site.refusal, settings.lang)


ACCESS_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Run the web form under uvicorn until stopped.

    uvicorn's own access log is off (it prints paths, and a path holds the personal token): `bfs.web.access` logs
    each request with the token masked. Behind a reverse proxy, the client address comes from X-Forwarded-For of
    the proxies in FORWARDED_ALLOW_IPS (default 127.0.0.1).
    """
    import uvicorn

    logging.basicConfig(level=logging.WARNING, format=ACCESS_LOG_FORMAT)
    for name in ("bfs.web", "uvicorn", "uvicorn.error"):  # the masked access lines and the server's own, not others'
        logging.getLogger(name).setLevel(logging.INFO)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=None,  # uvicorn reads FORWARDED_ALLOW_IPS (default: loopback)
        server_header=False,
        log_level="info",
    )
