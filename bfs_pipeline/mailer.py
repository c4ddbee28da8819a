"""The outbox: each message (a report, an invitation, a reminder, a digest) delivered once, to an .eml file in the
outbox folder or over SMTP, with the same pending, failed and uncertain handling for all of them."""

from __future__ import annotations

import datetime as dt
import re
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import asdict, dataclass
from email.message import Message
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bfs_pipeline.config import Settings
from bfs_pipeline.db import lock, writer
from bfs_pipeline.errors import DeliveryError
from bfs_pipeline.models import Delivery
from bfs_pipeline.report import Report


class DeliveryState(StrEnum):
    """Where one (report, recipient) stands (stored as text in deliveries.state)."""

    PENDING = "pending"  # to send, or to try again (a refused connection, a 4xx reply)
    SENDING = "sending"  # claimed by a run; left so by a crash it waits for a person
    SENT = "sent"  # the server confirmed: never again
    FAILED = "failed"  # a 5xx reply: a person decides
    UNCERTAIN = "uncertain"  # the connection ended after the message was handed over: a person decides
    WRITTEN = "written"  # an .eml file in the outbox folder (no SMTP)
    BUSY = "busy"  # another run is sending it right now (never stored)


class MessageKind(StrEnum):
    """What a message is (stored as text in deliveries.kind)."""

    REPORT = "report"  # the quarterly report, once per (report, recipient)
    INVITE = "invite"  # an actor's invitation to a wave, once per (actor, wave)
    REMIND = "remind"  # the n-th reminder of an actor in a wave, once per (actor, wave, n)
    DIGEST = "digest"  # the coordinator's weekly coverage digest, once per (survey, week, recipient)
    MUNICIPAL = "municipal"  # a municipality's own report, once per (report, municipality, recipient)


@dataclass(frozen=True)
class Letter:
    """One message to deliver once: per (key, recipient), or per key whoever the recipient (once_per_key: an
    invitation goes once to an actor, even when the roster's address changes between runs).

    build(sender, recipient) makes the message; its Message-ID must be stable, so that a resend is the same mail.
    """

    key: str
    period: str
    kind: MessageKind
    build: Callable[[str, str], Message]
    eml_stem: str  # the .eml file's name in the outbox folder: STEM-RECIPIENT.eml
    archive_stem: str  # the copy of what was sent: archive/PERIOD/STEM-RECIPIENT.eml
    data_hash: str | None = None
    actor_id: int | None = None
    once_per_key: bool = False


class Transport(StrEnum):
    SMTP = "smtp"
    FILE = "file"


DONE = {DeliveryState.SENT}  # delivered: never again
HOLD = {DeliveryState.UNCERTAIN, DeliveryState.SENDING, DeliveryState.FAILED}  # a person decides (bfs outbox resend)


LEFT = {DeliveryState.PENDING, DeliveryState.FAILED, DeliveryState.UNCERTAIN, DeliveryState.SENDING}  # not delivered


@dataclass
class Outcome:
    """One recipient's delivery as this call left it; `already`: settled by an earlier run, nothing done now."""

    recipient: str
    state: DeliveryState
    transport: Transport
    message_id: str
    path: str | None = None
    error: str | None = None
    already: bool = False
    delivery_id: int | None = None  # the outbox row (bfs outbox list, bfs outbox resend ID)

    @classmethod
    def settled(cls, row: Delivery) -> Outcome:
        """A message an earlier run settled (delivered, written, or waiting for a person): nothing done now."""
        return cls(
            row.recipient,
            DeliveryState(row.state),
            Transport(row.transport),
            row.message_id,
            row.path,
            row.error,
            already=True,
            delivery_id=row.id,
        )

    @property
    def left(self) -> bool:
        """Not delivered: waits for the next run (pending) or for a person (failed, uncertain, stuck sending)."""
        return self.state in LEFT

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "state": str(self.state), "transport": str(self.transport)}


@dataclass
class OutboxRow:
    """One (report, recipient) of the outbox, as `bfs outbox list` shows it."""

    id: int
    report: str
    period: str
    recipient: str
    state: DeliveryState
    transport: Transport
    attempts: int
    error: str | None
    message_id: str
    path: str | None
    data_hash: str | None
    updated_at: str
    kind: str = MessageKind.REPORT

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "state": str(self.state), "transport": str(self.transport)}


def report_key(report: Report) -> str:
    return f"{report.survey_id}:{report.period}:{report.lang}"


def report_letter(report: Report) -> Letter:
    return Letter(
        report_key(report),
        report.period,
        MessageKind.REPORT,
        report.message,
        f"{report.period}-{report.lang}",
        report.lang,
        report.data_hash,
    )


def _claim(
    engine: Engine, letter: Letter, recipient: str, message_id: str, transport: Transport
) -> tuple[Delivery | None, bool]:
    """Move the (message, recipient) row to 'sending' unless it was delivered or waits for a person.

    Returns the row and whether this call claimed it; a row left in 'sending' by a crash is never claimed again.
    """
    key = letter.key
    with Session(engine) as s, s.begin():
        q = select(Delivery).where(Delivery.report_key == key)
        if not letter.once_per_key:
            q = q.where(Delivery.recipient == recipient)
        row = s.scalars(q.order_by(Delivery.id)).first()
        if row is None:
            row = Delivery(
                report_key=key,
                period=letter.period,
                recipient=recipient,
                message_id=message_id,
                state=DeliveryState.PENDING,
                transport=transport,
                kind=letter.kind,
                actor_id=letter.actor_id,
            )
            s.add(row)
            try:
                s.flush()
            except IntegrityError:
                return None, False  # someone else is sending it right now
        if (
            row.state in DONE
            or row.state in HOLD
            or (row.state == DeliveryState.WRITTEN and transport == Transport.FILE)
        ):
            s.expunge(row)
            return row, False
        claimed = s.execute(
            update(Delivery)
            .where(Delivery.id == row.id, Delivery.state == row.state)
            .values(
                state=DeliveryState.SENDING,
                transport=transport,
                attempts=Delivery.attempts + 1,
                data_hash=letter.data_hash,
                recipient=recipient,  # once per key: the address the roster gives now
                updated_at=dt.datetime.now(dt.UTC),
            )
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None, False
        s.refresh(row)
        s.expunge(row)
        return row, True


def _settle(
    engine: Engine, delivery_id: int, state: DeliveryState, error: str | None = None, path: str | None = None
) -> None:
    with Session(engine) as s, s.begin():
        s.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(state=state, error=error, path=path, updated_at=dt.datetime.now(dt.UTC))
        )


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]+", "_", text)


def write_eml(msg: Message, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(bytes(msg))
    tmp.replace(path)
    return path


class NotHandedOver(Exception):
    """The connection failed before the message was given to the server: safe to try again later."""


def smtp_send(settings: Settings, msg: Message) -> None:
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
                    raise NotHandedOver(
                        f"{where} does not offer STARTTLS: "
                        "set BFS_SMTP_STARTTLS=false only for a server on a trusted network."
                    )
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if settings.smtp_user:
                if not settings.smtp_starttls:
                    raise NotHandedOver(
                        "refusing to send the SMTP password without STARTTLS: set BFS_SMTP_STARTTLS=true."
                    )
                smtp.login(settings.smtp_user, settings.smtp_password or "")
        except ssl.SSLCertVerificationError as exc:
            raise NotHandedOver(
                f"the certificate of {where} cannot be verified ({exc.verify_message}): fix the server's certificate"
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise NotHandedOver(f"{where} refused the session before the message was sent: {exc}") from None
        smtp.send_message(msg)


def outbox_rows(engine: Engine) -> list[OutboxRow]:
    with Session(engine) as s:
        return [
            OutboxRow(
                id=d.id,
                report=d.report_key,
                period=d.period,
                recipient=d.recipient,
                state=DeliveryState(d.state),
                transport=Transport(d.transport),
                attempts=d.attempts,
                error=d.error,
                message_id=d.message_id,
                path=d.path,
                data_hash=d.data_hash,
                updated_at=d.updated_at.isoformat(),
                kind=d.kind,
            )
            for d in s.scalars(select(Delivery).order_by(Delivery.id))
        ]


def release(engine: Engine, delivery_id: int) -> dict[str, str]:
    """A person says an uncertain or failed message may be sent again: back to pending."""
    with Session(engine) as s, s.begin():
        d = s.get(Delivery, delivery_id)
        if d is None:
            raise DeliveryError(f"No outbox message {delivery_id}: see bfs outbox list.")
        if d.state not in (DeliveryState.UNCERTAIN, DeliveryState.FAILED, DeliveryState.SENDING):
            raise DeliveryError(
                f"Outbox message {delivery_id} is {d.state}: only uncertain or failed messages are sent again."
            )
        d.state, d.error = DeliveryState.PENDING, None
        if d.kind != MessageKind.REPORT:  # an invitation, reminder or digest: the next run of its command sends it
            return {"kind": d.kind, "period": d.period, "recipient": d.recipient, "key": d.report_key}
        survey_id, period, lang = d.report_key.split(":")
        return {"kind": d.kind, "survey_id": survey_id, "period": period, "lang": lang, "recipient": d.recipient}


def gate(report: Report, min_coverage: float) -> None:
    """The data-quality gate: no sending when too few of the roster's organisations answered."""
    if report.coverage_rate is not None and report.coverage_rate < min_coverage:
        raise DeliveryError(
            f"Not sent: only {report.coverage_rate:.0%} of the roster's organisations answered in {report.period}, "
            f"below the minimum {min_coverage:.0%} (BFS_MIN_COVERAGE). Remind the actors, or lower BFS_MIN_COVERAGE."
        )


def deliver(
    engine: Engine, settings: Settings, report: Report, recipients: tuple[str, ...] | None = None
) -> list[Outcome]:
    """Send (SMTP configured) or write to the outbox folder; a (report, recipient) already delivered is skipped."""
    gate(report, settings.min_coverage)
    letter = report_letter(report)
    return [deliver_letter(engine, settings, letter, recipient) for recipient in recipients or settings.report_to]


BATCH = 500  # .eml files claimed, written and settled together


def deliver_letters(engine: Engine, settings: Settings, items: list[tuple[Letter, str]]) -> list[Outcome]:
    """Deliver many messages once each (invitations, reminders), in the order given.

    Over SMTP one by one (each claimed before it is handed over). Without SMTP in batches: one transaction claims a
    batch, its .eml files are written, one transaction settles them; a crash in between leaves the batch 'sending',
    for a person to look at, as one message would be.
    """
    if settings.smtp_host:
        return [deliver_letter(engine, settings, letter, recipient) for letter, recipient in items]
    out: list[Outcome] = []
    for start in range(0, len(items), BATCH):
        out += _write_batch(engine, settings, items[start : start + BATCH])
    return out


def _write_batch(engine: Engine, settings: Settings, items: list[tuple[Letter, str]]) -> list[Outcome]:
    built = [(letter, recipient, letter.build(settings.report_from, recipient)) for letter, recipient in items]
    now = dt.datetime.now(dt.UTC)
    results: list[Outcome | None] = [None] * len(built)
    claimed: list[tuple[int, Delivery]] = []  # position, row
    try:
        with Session(writer(engine)) as s, s.begin():
            lock(s, "outbox")
            keys = sorted({letter.key for letter, _, _ in built})
            rows: dict[str, list[Delivery]] = {}
            for start in range(0, len(keys), 500):
                for known in s.scalars(
                    select(Delivery).where(Delivery.report_key.in_(keys[start : start + 500])).order_by(Delivery.id)
                ):
                    rows.setdefault(known.report_key, []).append(known)
            fresh: list[tuple[int, Delivery]] = []
            for i, (letter, recipient, msg) in enumerate(built):
                same = rows.get(letter.key, [])
                row: Delivery | None = (
                    same[0]
                    if letter.once_per_key and same
                    else next((r for r in same if r.recipient == recipient), None)
                )
                if row is None:
                    row = Delivery(
                        report_key=letter.key,
                        period=letter.period,
                        recipient=recipient,
                        message_id=str(msg["Message-ID"]),
                        state=DeliveryState.SENDING,
                        transport=Transport.FILE,
                        kind=letter.kind,
                        actor_id=letter.actor_id,
                        attempts=1,
                        data_hash=letter.data_hash,
                        created_at=now,
                        updated_at=now,
                    )
                    rows.setdefault(letter.key, []).append(row)
                    fresh.append((i, row))
                elif row.state == DeliveryState.PENDING:
                    row.state, row.transport, row.attempts = DeliveryState.SENDING, Transport.FILE, row.attempts + 1
                    row.recipient, row.updated_at = recipient, now
                    claimed.append((i, row))
                else:  # delivered, written, or waiting for a person
                    results[i] = Outcome.settled(row)
            s.add_all([row for _, row in fresh])
            s.flush()
            claimed += fresh
            ids = {i: row.id for i, row in claimed}
    except IntegrityError:  # another run claimed some of them at the same moment: one by one, as it settles
        return [deliver_letter(engine, settings, letter, recipient) for letter, recipient in items]
    written: list[dict[str, Any]] = []
    failed: list[tuple[int, str]] = []
    for i, _row in claimed:
        letter, recipient, msg = built[i]
        name = f"{letter.eml_stem}-{_safe_name(recipient)}.eml"
        try:
            path = str(write_eml(msg, settings.outbox, name))
        except OSError as exc:
            failed.append((i, f"cannot write {settings.outbox}: {exc.strerror}"))
            continue
        written.append({"id": ids[i], "state": DeliveryState.WRITTEN, "path": path, "updated_at": now})
        results[i] = Outcome(
            recipient, DeliveryState.WRITTEN, Transport.FILE, str(msg["Message-ID"]), path, delivery_id=ids[i]
        )
    with Session(engine) as s, s.begin():
        if written:
            s.execute(update(Delivery), written)
        for i, error in failed:
            s.execute(
                update(Delivery)
                .where(Delivery.id == ids[i])
                .values(state=DeliveryState.PENDING, error=error, updated_at=now)
            )
    if failed:
        raise DeliveryError(
            f"Cannot write {len(failed)} message(s) to {settings.outbox} ({failed[0][1]}). Make {settings.outbox} a "
            "folder bfs can write to, then run the command again (nothing was sent twice)."
        )
    return [r for r in results if r is not None]


def deliver_letter(engine: Engine, settings: Settings, letter: Letter, recipient: str) -> Outcome:
    """Deliver one message once: claimed, then written as .eml (no SMTP) or sent; a 4xx leaves it pending for the
    next run, a 5xx failed, a connection lost after the hand-over uncertain (a person decides)."""
    transport = Transport.SMTP if settings.smtp_host else Transport.FILE
    msg = letter.build(settings.report_from, recipient)
    mid = str(msg["Message-ID"])
    row, claimed = _claim(engine, letter, recipient, mid, transport)
    if row is None:
        return Outcome(recipient, DeliveryState.BUSY, transport, mid)
    if not claimed:
        return Outcome.settled(row)
    if transport == Transport.FILE:
        name = f"{letter.eml_stem}-{_safe_name(recipient)}.eml"
        try:
            path = write_eml(msg, settings.outbox, name)
        except OSError as exc:  # the outbox folder is a file, or the disk is full: back to pending, and say so
            _settle(engine, row.id, DeliveryState.PENDING, error=f"cannot write {settings.outbox}: {exc.strerror}")
            raise DeliveryError(
                f"Cannot write the message to {settings.outbox / name}: {exc.strerror}. "
                f"Make {settings.outbox} a folder bfs can write to, then run the command again (nothing was sent)."
            ) from None
        _settle(engine, row.id, DeliveryState.WRITTEN, path=str(path))
        return Outcome(recipient, DeliveryState.WRITTEN, transport, mid, str(path), delivery_id=row.id)
    state, error = DeliveryState.SENT, None
    try:
        smtp_send(settings, msg)
    except smtplib.SMTPResponseException as exc:
        state = DeliveryState.PENDING if 400 <= exc.smtp_code < 500 else DeliveryState.FAILED
        error = (
            f"{exc.smtp_code} "
            f"{exc.smtp_error.decode(errors='replace') if isinstance(exc.smtp_error, bytes) else exc.smtp_error}"
        )
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [c for c, _ in exc.recipients.values()]
        state = DeliveryState.PENDING if all(400 <= c < 500 for c in codes) else DeliveryState.FAILED
        error = f"recipient refused: {codes}"
    except NotHandedOver as exc:
        state, error = DeliveryState.PENDING, str(exc)
    except (TimeoutError, smtplib.SMTPServerDisconnected) as exc:
        state, error = (
            DeliveryState.UNCERTAIN,
            f"the connection ended before the server confirmed ({exc}); the message may have arrived",
        )
    archived = None
    if state == DeliveryState.SENT:
        try:
            archived = str(
                write_eml(
                    msg, settings.home / "archive" / letter.period, f"{letter.archive_stem}-{_safe_name(recipient)}.eml"
                )
            )
        except OSError as exc:  # sent is sent: the missing archive copy is noted, never a reason to send again
            error = f"sent, but the archive copy could not be written: {exc.strerror}"
    _settle(engine, row.id, state, error=error, path=archived)
    return Outcome(recipient, state, transport, mid, archived, error, delivery_id=row.id)
