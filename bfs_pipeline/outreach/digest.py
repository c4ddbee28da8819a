"""The coordinator's weekly digest while a wave is open: answered against expected per municipality and sector,
and the silent organisations by name. Through the outbox, once per survey, ISO week and recipient."""

from __future__ import annotations

import datetime as dt
import hashlib
from email.message import EmailMessage
from email.utils import format_datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from bfs_pipeline import i18n
from bfs_pipeline.config import Settings
from bfs_pipeline.mailer import Letter, MessageKind, Outcome, deliver_letter
from bfs_pipeline.outreach.coverage import WaveCoverage, coverage
from bfs_pipeline.outreach.invite import open_waves
from bfs_pipeline.outreach.links import TZ
from bfs_pipeline.survey import Survey


def week_of(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def digest_text(survey: Survey, waves: list[WaveCoverage], day: dt.date, lang: str) -> tuple[str, str]:
    """The digest's subject and text in the coordinator's language."""
    _ = i18n.translator(lang)
    sector_label = {code: labels.get(lang) or labels["sv"] for code, labels in survey.sectors.items()}
    title = survey.title.get(lang) or survey.title["sv"]
    subject = _("Svarsläget vecka {week}: {title}").format(week=day.isocalendar()[1], title=title)
    lines = [_("Svarsläget {date}.").format(date=i18n.fmt_date(day, lang)), ""]
    for cov in waves:
        lines.append(
            _("{wave}: {answered} av {expected} organisationer har svarat.").format(
                wave=cov.wave, answered=cov.answered, expected=len(cov.actors)
            )
        )
        lines.append("")
        lines.append(_("Per kommun och sektor (svarat/väntat):"))
        for t in cov.totals:
            lines.append(
                f"  {t.municipality_name:<16} {sector_label.get(t.sector, t.sector):<22} {t.answered}/{t.expected}"
            )
        silent = [a for a in cov.actors if not a.answered]
        lines.append("")
        if silent:
            lines.append(_("Har inte svarat:"))
            for a in silent:
                extra = ", " + _("avregistrerad från påminnelser") if a.opted_out else ""
                lines.append(f"  {a.organisation} ({sector_label.get(a.sector, a.sector)}, {a.municipality}{extra})")
        else:
            lines.append(_("Alla har svarat."))
        lines.append("")
    lines.append(_("Hela listan: bfs coverage --wave {wave}").format(wave=waves[0].wave if waves else ""))
    return subject, "\n".join(lines)


def send_digest(engine: Engine, settings: Settings, survey: Survey, now: dt.datetime | None = None) -> list[Outcome]:
    """This week's digest to the survey's recipients (report_to, else BFS_REPORT_TO), once per ISO week; nothing
    when no wave takes answers."""
    day = (now or dt.datetime.now(dt.UTC)).astimezone(ZoneInfo(TZ)).date()
    waves = [coverage(engine, survey, w) for w in open_waves(engine, survey)]
    if not waves:
        return []
    week = week_of(day)
    subject, text = digest_text(survey, waves, day, settings.lang)

    def build(sender: str, recipient: str) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = subject
        msg["From"] = sender
        msg["To"] = recipient
        msg["Date"] = format_datetime(dt.datetime.now(dt.UTC))
        digest = hashlib.sha256(f"digest|{survey.id}|{week}|{recipient.lower()}".encode()).hexdigest()[:16]
        msg["Message-ID"] = f"<bfs.digest.{week}.{digest}@{sender.rsplit('@', 1)[-1].strip('>') or 'localhost'}>"
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(text, subtype="plain", charset="utf-8")
        msg["Content-Language"] = settings.lang
        return msg

    letter = Letter(
        f"digest:{survey.id}:{week}", waves[0].wave, MessageKind.DIGEST, build, f"digest-{week}", f"digest-{week}"
    )
    return [deliver_letter(engine, settings, letter, r) for r in survey.report_to or settings.report_to]
