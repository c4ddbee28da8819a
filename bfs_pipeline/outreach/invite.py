"""Invitations and reminders by e-mail, through the outbox: each actor invited once per wave, reminded at most
BFS_REMIND_MAX times while silent, never after the deadline or an opt-out.

Each message is a `mailer.Letter`: delivered once (invitation: per actor and wave; reminder: per actor, wave and
number), as an .eml file without SMTP, and with the outbox's pending, failed and uncertain handling. A message
left pending (a 4xx reply, a refused connection) is sent by the next run, once.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy as email_policy
from email.header import Header
from email.message import Message
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bfs_pipeline import i18n
from bfs_pipeline.config import Settings
from bfs_pipeline.mailer import DeliveryState, Letter, MessageKind, deliver_letters
from bfs_pipeline.models import Actor, Delivery, OptOut, Wave, WaveLink
from bfs_pipeline.outreach import links, prefill
from bfs_pipeline.outreach.coverage import answered_actors
from bfs_pipeline.survey import Survey, wave_of

SETTLED = {DeliveryState.SENT, DeliveryState.WRITTEN}  # delivered: counts as sent
PENDING = {DeliveryState.PENDING}  # to try again in the next run
UNFOLDED = email_policy.compat32.clone(max_line_length=None)  # headers as set: see _letter


@dataclass
class Sent:
    """What one run of `bfs invite` or `bfs remind` did."""

    wave: str
    done: int = 0  # messages delivered (sent or written) now
    already: int = 0  # actors invited before (invitations) / skipped because not yet due (reminders)
    no_contact: int = 0  # actors without a contact address
    messages: list[dict[str, Any]] = field(default_factory=list)  # {"actor_id", "state"} per message tried now
    left: int = 0  # messages left pending, failed or uncertain

    def invite_json(self) -> dict[str, Any]:
        return {
            "wave": self.wave,
            "invited": self.done,
            "already_invited": self.already,
            "no_contact": self.no_contact,
            "messages": self.messages,
        }

    def remind_json(self) -> dict[str, Any]:
        return {"wave": self.wave, "reminded": self.done, "no_contact": self.no_contact, "messages": self.messages}


@dataclass(frozen=True)
class Recipient:
    """An actor with their link for the wave, as a message needs them."""

    actor_id: int
    organisation: str
    address: str | None
    lang: str
    token: str
    google_form: str | None = None  # the pre-filled Google Form with the actor's code, where the wave names one


def _open_wave(engine: Engine, survey: Survey, wave: str) -> Wave:
    with Session(engine) as s:
        row = s.scalar(select(Wave).where(Wave.survey_id == survey.id, Wave.wave == wave))
    if row is None:
        raise links.WaveError(f"Wave {wave} of {survey.id} has not been opened: open it first (bfs wave open {wave}).")
    return row


def _recipients(engine: Engine, survey: Survey, wave: Wave, key: bytes) -> list[Recipient]:
    """The active roster actors with a link that is not revoked, in roster order."""
    with Session(engine) as s:
        found = s.execute(
            select(Actor)
            .join(WaveLink, WaveLink.actor_id == Actor.id)
            .where(WaveLink.wave_id == wave.id, WaveLink.revoked_at.is_(None), Actor.active.is_(True))
            .order_by(Actor.sector, Actor.name)
        ).scalars()
        form = prefill.prefills(survey).get(wave.wave)  # a wave still answered in Google Forms: its pre-filled link
        return [
            Recipient(
                a.id,
                a.name,
                a.contact_email,
                a.lang or "sv",
                links.derive_token(key, survey.id, wave.wave, a.id),
                form.link(prefill.derive_code(key, survey.id, wave.wave, a.id)) if form is not None else None,
            )
            for a in found
        ]


def _deliveries(engine: Engine, kind: MessageKind, survey: Survey, wave: str) -> dict[int, list[Delivery]]:
    """The messages of one kind for the wave to the actors of the survey's county, per actor, oldest first."""
    prefix = f"{kind}:{survey.id}:{wave}:"
    out: dict[int, list[Delivery]] = {}
    with Session(engine) as s:
        for d in s.scalars(
            select(Delivery)
            .join(Actor, Actor.id == Delivery.actor_id)
            .where(Delivery.kind == kind, Delivery.period == wave, Actor.county == survey.county)
            .order_by(Delivery.id)
        ):
            if d.report_key.startswith(prefix) and d.actor_id is not None:
                s.expunge(d)
                out.setdefault(d.actor_id, []).append(d)
    return out


def _message_id(kind: str, survey_id: str, wave: str, actor_id: int, n: int, sender: str) -> str:
    digest = hashlib.sha256(f"{kind}|{survey_id}|{wave}|{actor_id}|{n}".encode()).hexdigest()[:16]
    domain = sender.rsplit("@", 1)[-1].strip(">") or "localhost"
    return f"<bfs.{kind}.{wave}.{actor_id}.{digest}@{domain}>"


@dataclass(frozen=True)
class Wording:
    """What the messages of one survey and wave say, whatever the actor."""

    survey: Survey
    wave: str
    deadline: dt.date
    public_url: str
    controller: str
    contact: str


@functools.lru_cache(maxsize=64)
def _date(day: dt.date, lang: str) -> str:
    return i18n.fmt_date(day, lang)


def body(wording: Wording, who: Recipient, reminder: int) -> tuple[str, str]:
    """The subject and text of an invitation (reminder 0) or the n-th reminder, in the actor's language."""
    lang = who.lang if who.lang in i18n.LANGS else "sv"
    _ = i18n.translator(lang)
    title = wording.survey.title.get(lang) or wording.survey.title["sv"]
    url = links.form_url(wording.public_url, who.token)
    values = {
        "organisation": who.organisation,
        "wave": wording.wave,
        "title": title,
        "url": who.google_form or url,
        "deadline": _date(wording.deadline, lang),
        "privacy": f"{wording.public_url.rstrip('/')}/integritet" + ("?lang=en" if lang == "en" else ""),
        "controller": wording.controller,
        "contact": wording.contact,
        "unsubscribe": f"{url}/avregistrera" + ("?lang=en" if lang == "en" else ""),
    }
    if reminder == 0:
        subject = _("Enkät {wave}: {title}").format(**values)
        intro = _(
            "Hej {organisation}!\n\n"
            "{controller} frågar varje kvartal länets aktörer om deras behov av stöd i det brottsförebyggande "
            "arbetet. Vi vill gärna ha ert svar för {wave}."
        ).format(**values)
    else:
        subject = _("Påminnelse, enkät {wave}: {title}").format(**values)
        intro = _(
            "Hej {organisation}!\n\n"
            "Vi har ännu inte fått ert svar för {wave}. Det tar ungefär en kvart, och era svar gör att stödet "
            "kan gå dit där det behövs mest."
        ).format(**values)
    text = _(
        "{intro}\n\n"
        "Er personliga länk till formuläret (dela den bara inom er organisation):\n{url}\n\n"
        "Sista dag att svara: {deadline}. Ni kan spara ett utkast och ändra era svar fram till dess.\n\n"
        "Svaren är allmänna handlingar. Så hanteras de: {privacy}\n\n"
        "Frågor? Skriv till {contact}.\n\n"
        "{controller}"
    ).format(intro=intro, **values)
    if reminder:
        text += "\n\n" + _("Vill ni inte få fler påminnelser om den här enkäten: {unsubscribe}").format(**values)
    return subject, text


def _letter(wording: Wording, who: Recipient, reminder: int) -> Letter:
    kind = MessageKind.REMIND if reminder else MessageKind.INVITE
    key = f"{kind}:{wording.survey.id}:{wording.wave}:{who.actor_id}" + (f":{reminder}" if reminder else "")
    subject, text = body(wording, who, reminder)

    def build(sender: str, recipient: str) -> Message:
        # a plain MIME text part: the default policy's header objects cost more than the rest of a message. The
        # subject is folded here, its first line beside "Subject:", and the generator folds nothing more: a long
        # List-Unsubscribe stays on its own line (folded, strict parsers read a leading space into it)
        msg = MIMEText(text, "plain", "utf-8", policy=UNFOLDED)
        msg["Subject"] = Header(subject, "utf-8", header_name="Subject").encode()
        name, address = parseaddr(sender)
        msg["From"] = formataddr((name, address), charset="utf-8")
        msg["To"] = recipient
        msg["Date"] = format_datetime(dt.datetime.now(dt.UTC))
        msg["Message-ID"] = _message_id(kind, wording.survey.id, wording.wave, who.actor_id, reminder, sender)
        msg["Auto-Submitted"] = "auto-generated"
        msg["Content-Language"] = who.lang
        if reminder:
            unsubscribe = links.form_url(wording.public_url, who.token) + "/avregistrera"
            msg["List-Unsubscribe"] = f"<{unsubscribe}>"
        return msg

    stem = f"{kind}-{wording.wave}-{who.actor_id}" + (f"-{reminder}" if reminder else "")
    return Letter(key, wording.wave, kind, build, stem, stem, actor_id=who.actor_id, once_per_key=True)


def _wording(settings: Settings, survey: Survey, wave: Wave) -> Wording:
    contact = settings.contact or settings.report_from
    return Wording(
        survey,
        wave.wave,
        wave.deadline,
        settings.public_url,
        links.controller_name(settings.controller, survey),
        contact,
    )


def invite(
    engine: Engine, settings: Settings, survey: Survey, wave: str, key: bytes, echo: Callable[[str], Any] | None = None
) -> Sent:
    """Invite each active actor with a contact address that has not been invited for the wave (links are added for
    actors new to the roster). A wave closed or past its deadline invites no one."""
    wave = wave_of(wave)
    row = _open_wave(engine, survey, wave)
    out = Sent(wave)
    if links.state_of(row) is not links.WaveState.OPEN:
        return out
    links.open_wave(engine, survey, wave, key, settings.public_url)  # links for actors new to the roster
    wording = _wording(settings, survey, row)
    earlier = _deliveries(engine, MessageKind.INVITE, survey, wave)
    todo: list[tuple[Letter, str]] = []
    for who in _recipients(engine, survey, row, key):
        if not who.address:
            out.no_contact += 1
            continue
        before = earlier.get(who.actor_id, [])
        if before and before[0].state not in PENDING:  # delivered, or waiting for a person (failed, uncertain)
            out.already += 1
            continue
        todo.append((_letter(wording, who, 0), who.address))
    _deliver(engine, settings, todo, out, echo, "invitations")
    return out


def _deliver(
    engine: Engine,
    settings: Settings,
    todo: list[tuple[Letter, str]],
    out: Sent,
    echo: Callable[[str], Any] | None,
    what: str,
) -> None:
    """Deliver the messages through the outbox, counting them into `out` (progress shown on long runs)."""
    step = 1000
    for start in range(0, len(todo), step):
        part = todo[start : start + step]
        for (letter, _), result in zip(part, deliver_letters(engine, settings, part), strict=True):
            entry: dict[str, Any] = {"actor_id": letter.actor_id, "state": str(result.state)}
            if letter.kind == MessageKind.REMIND:
                entry["reminder"] = int(letter.key.rsplit(":", 1)[1])
            out.messages.append(entry)
            if result.already:
                out.already += 1
            elif result.state in SETTLED:
                out.done += 1
            else:
                out.left += 1
        if echo and len(todo) > step:
            echo(f"  {min(start + step, len(todo))} of {len(todo)} {what} …")


def opted_out(engine: Engine) -> set[int]:
    with Session(engine) as s:
        return set(s.scalars(select(OptOut.actor_id)))


def opt_out(engine: Engine, actor_id: int, wave: str | None) -> bool:
    """Record that an actor wants no more reminders; False when it had already said so."""
    with Session(engine) as s, s.begin():
        if s.get(OptOut, actor_id) is not None:
            return False
        s.add(OptOut(actor_id=actor_id, wave=wave))
        return True


def _when(d: Delivery) -> dt.datetime:
    moment = d.updated_at or d.created_at
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def remind(
    engine: Engine,
    settings: Settings,
    survey: Survey,
    wave: str,
    key: bytes,
    now: dt.datetime | None = None,
    echo: Callable[[str], Any] | None = None,
) -> Sent:
    """Remind each invited actor without an answer in the wave: at most BFS_REMIND_MAX times, the first at least
    BFS_REMIND_EVERY_DAYS days after the invitation and each later one as long after the one before; never after
    the deadline or a close, never after an opt-out. A reminder left pending is sent again first."""
    wave = wave_of(wave)
    row = _open_wave(engine, survey, wave)
    out = Sent(wave)
    if links.state_of(row) is not links.WaveState.OPEN or settings.remind_max == 0:
        return out
    now = now or dt.datetime.now(dt.UTC)
    every = dt.timedelta(days=settings.remind_every_days)
    wording = _wording(settings, survey, row)
    invited = _deliveries(engine, MessageKind.INVITE, survey, wave)
    reminded = _deliveries(engine, MessageKind.REMIND, survey, wave)
    answered = answered_actors(engine, survey, wave)
    quiet = opted_out(engine)
    todo: list[tuple[Letter, str]] = []
    for who in _recipients(engine, survey, row, key):
        invitation = [d for d in invited.get(who.actor_id, []) if d.state in SETTLED]
        if not invitation or who.actor_id in answered or who.actor_id in quiet:
            continue
        if not who.address:
            out.no_contact += 1
            continue
        sent = [d for d in reminded.get(who.actor_id, []) if d.state in SETTLED]
        waiting = [d for d in reminded.get(who.actor_id, []) if d.state in PENDING]
        if waiting:  # a reminder the server refused for now: the same one again, before any new one
            n = int(waiting[0].report_key.rsplit(":", 1)[1])
        else:
            if len(reminded.get(who.actor_id, [])) >= settings.remind_max:
                continue  # as many as allowed (a failed or uncertain one counts: a person decides)
            last = max((_when(d) for d in [*invitation, *sent]), default=now)
            if now - last < every:
                out.already += 1
                continue
            n = len(reminded.get(who.actor_id, [])) + 1
        todo.append((_letter(wording, who, n), who.address))
    _deliver(engine, settings, todo, out, echo, "reminders")
    return out


def open_waves(engine: Engine, survey: Survey) -> list[str]:
    """The survey's waves that take answers today (for the nightly flow's invitations and reminders)."""
    with Session(engine) as s:
        rows = list(s.scalars(select(Wave).where(Wave.survey_id == survey.id).order_by(Wave.wave)))
    return [w.wave for w in rows if links.state_of(w) is links.WaveState.OPEN]
