"""Delivering a report: to an .eml file in the outbox folder, or over SMTP, each (report, recipient) once."""

from __future__ import annotations

import datetime as dt
import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bfs_pipeline.config import Settings
from bfs_pipeline.errors import DeliveryError
from bfs_pipeline.models import Delivery
from bfs_pipeline.report import Report

DONE = {"sent"}  # delivered: never again
HOLD = {"uncertain", "sending", "failed"}  # a person decides (bfs outbox resend, issue 4)


@dataclass
class Outcome:
    recipient: str
    state: str
    transport: str
    message_id: str
    path: str | None = None
    error: str | None = None


def report_key(report: Report) -> str:
    return f"{report.survey_id}:{report.period}:{report.lang}"


def _claim(engine: Engine, report: Report, recipient: str, message_id: str, transport: str) -> tuple[Delivery | None, bool]:
    """Move the (report, recipient) row to 'sending' unless it was delivered or waits for a person.

    Returns the row and whether this call claimed it; a row left in 'sending' by a crash is never claimed again.
    """
    key = report_key(report)
    with Session(engine) as s, s.begin():
        row = s.scalars(select(Delivery).where(Delivery.report_key == key, Delivery.recipient == recipient)).first()
        if row is None:
            row = Delivery(report_key=key, period=report.period, recipient=recipient, message_id=message_id, state="pending", transport=transport)
            s.add(row)
            try:
                s.flush()
            except IntegrityError:
                return None, False  # someone else is sending it right now
        if row.state in DONE or row.state in HOLD or (row.state == "written" and transport == "file"):
            s.expunge(row)
            return row, False
        claimed = s.execute(
            update(Delivery)
            .where(Delivery.id == row.id, Delivery.state == row.state)
            .values(state="sending", transport=transport, attempts=Delivery.attempts + 1, data_hash=report.data_hash, updated_at=dt.datetime.now(dt.UTC))
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None, False
        s.refresh(row)
        s.expunge(row)
        return row, True


def _settle(engine: Engine, delivery_id: int, state: str, error: str | None = None, path: str | None = None) -> None:
    with Session(engine) as s, s.begin():
        s.execute(update(Delivery).where(Delivery.id == delivery_id).values(state=state, error=error, path=path, updated_at=dt.datetime.now(dt.UTC)))


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]+", "_", text)


def write_eml(msg: EmailMessage, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(bytes(msg))
    tmp.replace(path)
    return path


class NotHandedOver(Exception):
    """The connection failed before the message was given to the server: safe to try again later."""


def smtp_send(settings: Settings, msg: EmailMessage) -> None:
    """Hand one message to the SMTP server; STARTTLS with a verified certificate when configured.

    Anything that goes wrong before the message is handed over raises NotHandedOver: safe to retry.
    """
    assert settings.smtp_host
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
    except (OSError, smtplib.SMTPException) as exc:
        raise NotHandedOver(f"cannot connect to {where}: {exc}") from None
    with smtp:
        try:
            smtp.ehlo()
            if settings.smtp_starttls:
                if not smtp.has_extn("starttls"):
                    raise NotHandedOver(f"{where} does not offer STARTTLS: set BFS_SMTP_STARTTLS=false only for a server on a trusted network.")
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if settings.smtp_user:
                if not settings.smtp_starttls:
                    raise NotHandedOver("refusing to send the SMTP password without STARTTLS: set BFS_SMTP_STARTTLS=true.")
                smtp.login(settings.smtp_user, settings.smtp_password or "")
        except ssl.SSLCertVerificationError as exc:
            raise NotHandedOver(f"the certificate of {where} cannot be verified ({exc.verify_message}): fix the server's certificate") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise NotHandedOver(f"{where} refused the session before the message was sent: {exc}") from None
        smtp.send_message(msg)


def outbox_rows(engine: Engine) -> list[dict[str, Any]]:
    with Session(engine) as s:
        return [
            {
                "id": d.id,
                "report": d.report_key,
                "period": d.period,
                "recipient": d.recipient,
                "state": d.state,
                "transport": d.transport,
                "attempts": d.attempts,
                "error": d.error,
                "message_id": d.message_id,
                "path": d.path,
                "data_hash": d.data_hash,
                "updated_at": d.updated_at.isoformat(),
            }
            for d in s.scalars(select(Delivery).order_by(Delivery.id))
        ]


def release(engine: Engine, delivery_id: int) -> dict[str, str]:
    """A person says an uncertain or failed message may be sent again: back to pending."""
    with Session(engine) as s, s.begin():
        d = s.get(Delivery, delivery_id)
        if d is None:
            raise DeliveryError(f"No outbox message {delivery_id}: see bfs outbox list.")
        if d.state not in ("uncertain", "failed", "sending"):
            raise DeliveryError(f"Outbox message {delivery_id} is {d.state}: only uncertain or failed messages are sent again.")
        d.state, d.error = "pending", None
        survey_id, period, lang = d.report_key.split(":")
        return {"survey_id": survey_id, "period": period, "lang": lang, "recipient": d.recipient}


def gate(report: Report, min_coverage: float) -> None:
    """The data-quality gate: no sending when too few of the roster's organisations answered."""
    if report.coverage_rate is not None and report.coverage_rate < min_coverage:
        raise DeliveryError(
            f"Not sent: only {report.coverage_rate:.0%} of the roster's organisations answered in {report.period}, "
            f"below the minimum {min_coverage:.0%} (BFS_MIN_COVERAGE). Remind the actors, or lower BFS_MIN_COVERAGE."
        )


def deliver(engine: Engine, settings: Settings, report: Report, recipients: tuple[str, ...] | None = None) -> list[Outcome]:
    """Send (SMTP configured) or write to the outbox folder; a (report, recipient) already delivered is skipped."""
    gate(report, settings.min_coverage)
    transport = "smtp" if settings.smtp_host else "file"
    out = []
    for recipient in recipients or settings.report_to:
        msg = report.message(settings.report_from, recipient)
        mid = str(msg["Message-ID"])
        row, claimed = _claim(engine, report, recipient, mid, transport)
        if row is None:
            out.append(Outcome(recipient, "busy", transport, mid))
            continue
        if not claimed:
            out.append(Outcome(recipient, row.state, row.transport, row.message_id, row.path, row.error))
            continue
        if transport == "file":
            name = f"{report.period}-{report.lang}-{_safe_name(recipient)}.eml"
            path = write_eml(msg, settings.outbox, name)
            _settle(engine, row.id, "written", path=str(path))
            out.append(Outcome(recipient, "written", transport, mid, str(path)))
            continue
        state, error = "sent", None
        try:
            smtp_send(settings, msg)
        except smtplib.SMTPResponseException as exc:
            state = "pending" if 400 <= exc.smtp_code < 500 else "failed"
            error = f"{exc.smtp_code} {exc.smtp_error.decode(errors='replace') if isinstance(exc.smtp_error, bytes) else exc.smtp_error}"
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [c for c, _ in exc.recipients.values()]
            state = "pending" if all(400 <= c < 500 for c in codes) else "failed"
            error = f"recipient refused: {codes}"
        except NotHandedOver as exc:
            state, error = "pending", str(exc)
        except (TimeoutError, smtplib.SMTPServerDisconnected) as exc:
            state, error = "uncertain", f"the connection ended before the server confirmed ({exc}); the message may have arrived"
        archived = str(write_eml(msg, settings.home / "archive" / report.period, f"{report.lang}-{_safe_name(recipient)}.eml")) if state == "sent" else None
        _settle(engine, row.id, state, error=error, path=archived)
        out.append(Outcome(recipient, state, transport, mid, archived, error))
    return out
