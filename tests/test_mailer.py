"""Delivery against a real SMTP server on loopback (aiosmtpd): once per (report, recipient), failures kept apart."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from bfs_pipeline import pipeline, store
from bfs_pipeline.config import Settings
from bfs_pipeline.errors import DeliveryError
from bfs_pipeline.mailer import deliver, outbox_rows, release
from bfs_pipeline.report import Report
from tests.conftest import good_row


class Handler:
    """Records messages; `reply` (e.g. '451 ...') answers DATA instead of accepting."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.reply: str | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reply:
            return self.reply
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Controller, Handler]]:
    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


@pytest.fixture
def report(settings: Settings, sheet, tmp_path) -> Report:
    rows = [good_row(email=f"r{i}@x.se", ORG=f"Org {i}") for i in range(6)]
    pipeline.ingest_files(settings, file=sheet().write(tmp_path / "kommun-2026-Q1.csv", rows))
    return pipeline.render(settings, "2026-Q1")


def smtp_settings(settings: Settings, controller: Controller) -> Settings:
    return replace(
        settings,
        smtp_host="127.0.0.1",
        smtp_port=controller.port,
        smtp_starttls=False,
        smtp_timeout=5,
        report_to=("samordnare@lst.example.se",),
    )


def test_delivered_once_over_smtp(settings, report, smtp):
    controller, handler = smtp
    s = smtp_settings(settings, controller)
    eng = pipeline.open_store(s)
    first = deliver(eng, s, report)
    second = deliver(eng, s, report)
    assert [o.state for o in first] == ["sent"] and [o.state for o in second] == ["sent"]
    assert len(handler.messages) == 1
    msg = handler.messages[0]
    assert msg["Subject"] == "Behovsrapport Blekinge län 2026-Q1"
    assert msg["Message-ID"] == first[0].message_id
    assert msg.get_content_type() == "multipart/mixed"
    assert [p.get_content_type() for p in msg.get_payload()] == [
        "multipart/alternative",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ]
    assert store.status(eng).outbox == {"sent": 1}
    eng.dispose()


def test_message_id_stable_per_period_and_recipient(report):
    a = report.message("bfs@lst.example.se", "a@x.se")["Message-ID"]
    assert a == report.message("bfs@lst.example.se", "a@x.se")["Message-ID"]
    assert a != report.message("bfs@lst.example.se", "b@x.se")["Message-ID"]


def test_451_is_retried_and_delivered_once(settings, report, smtp):
    controller, handler = smtp
    s = smtp_settings(settings, controller)
    eng = pipeline.open_store(s)
    handler.reply = "451 Try again later"
    (o,) = deliver(eng, s, report)
    assert o.state == "pending" and o.error and "451" in o.error
    handler.reply = None
    (o,) = deliver(eng, s, report)
    assert o.state == "sent" and len(handler.messages) == 1
    eng.dispose()


def test_550_fails_and_is_not_resent(settings, report, smtp):
    controller, handler = smtp
    s = smtp_settings(settings, controller)
    eng = pipeline.open_store(s)
    handler.reply = "550 No such user"
    (o,) = deliver(eng, s, report)
    assert o.state == "failed" and "550" in (o.error or "")
    handler.reply = None
    (o,) = deliver(eng, s, report)
    assert o.state == "failed" and handler.messages == []
    eng.dispose()


def test_connection_refused_stays_pending(settings, report):
    s = replace(settings, smtp_host="127.0.0.1", smtp_port=free_port(), smtp_starttls=False, smtp_timeout=2)
    eng = pipeline.open_store(s)
    (o,) = deliver(eng, s, report)
    assert o.state == "pending" and "cannot connect" in (o.error or "")
    eng.dispose()


def test_password_never_sent_without_starttls(settings, report, smtp):
    controller, handler = smtp
    s = replace(smtp_settings(settings, controller), smtp_user="u", smtp_password="secret")
    eng = pipeline.open_store(s)
    (o,) = deliver(eng, s, report)
    assert o.state == "pending" and "STARTTLS" in (o.error or "") and handler.messages == []
    eng.dispose()


def test_without_smtp_written_to_outbox_once(settings, report):
    eng = pipeline.open_store(settings)
    (o,) = deliver(eng, settings, report)
    (again,) = deliver(eng, settings, report)
    eng.dispose()
    files = list(settings.outbox.glob("*.eml"))
    assert o.state == "written" and again.state == "written" and len(files) == 1
    msg = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert msg["Subject"].startswith("Behovsrapport") and msg.is_multipart()


def test_smtp_password_not_in_settings_repr(settings):
    assert "hemligt" not in repr(replace(settings, smtp_password="hemligt-lösenord"))


def self_signed(tmp_path) -> tuple[str, str]:
    """A certificate for 127.0.0.1, made here: the only way to test STARTTLS without the network."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


@pytest.fixture
def tls_smtp(tmp_path) -> Iterator[tuple[Controller, Handler, str]]:
    import ssl

    cert, key = self_signed(tmp_path)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), tls_context=ctx, require_starttls=True)
    controller.start()
    yield controller, handler, cert
    controller.stop()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_starttls_refuses_an_unverified_certificate(settings, report, tls_smtp):
    controller, handler, _ = tls_smtp
    s = replace(smtp_settings(settings, controller), smtp_starttls=True)
    eng = pipeline.open_store(s)
    (o,) = deliver(eng, s, report)
    eng.dispose()
    assert o.state == "pending" and "cannot be verified" in (o.error or "") and handler.messages == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_starttls_with_a_trusted_certificate_delivers(settings, report, tls_smtp, monkeypatch):
    controller, handler, cert = tls_smtp
    monkeypatch.setenv("SSL_CERT_FILE", cert)  # trust this certificate the way an operator adds a CA
    s = replace(smtp_settings(settings, controller), smtp_starttls=True)
    eng = pipeline.open_store(s)
    (o,) = deliver(eng, s, report)
    eng.dispose()
    assert o.state == "sent" and len(handler.messages) == 1


class Stalling(Handler):
    """Delivers the message, then stalls before its 250 reply until the client has given up waiting."""

    def __init__(self, stall: float) -> None:
        super().__init__()
        self.stall = stall

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        import asyncio

        reply = await super().handle_DATA(server, session, envelope)
        if self.stall:
            await asyncio.sleep(self.stall)
        return reply


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_stall_after_data_is_uncertain_never_resent_without_a_person(settings, report):
    import time

    handler = Stalling(stall=2.5)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        s = replace(smtp_settings(settings, controller), smtp_timeout=1)
        eng = pipeline.open_store(s)
        (o,) = deliver(eng, s, report)
        assert o.state == "uncertain" and "may have arrived" in (o.error or "")
        time.sleep(2.5)  # the server recovers; it had delivered the message
        assert len(handler.messages) == 1
        handler.stall = 0
        (again,) = deliver(eng, s, report)
        assert again.state == "uncertain" and len(handler.messages) == 1  # never resent on its own
        (row,) = outbox_rows(eng)
        release(eng, row.id)  # a person checked: send it again
        (resent,) = deliver(eng, s, report)
        assert resent.state == "sent" and len(handler.messages) == 2
        eng.dispose()
    finally:
        controller.stop()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sent_message_archived_with_data_hash(settings, report, smtp):
    controller, _ = smtp
    s = smtp_settings(settings, controller)
    eng = pipeline.open_store(s)
    (o,) = deliver(eng, s, report)
    (row,) = outbox_rows(eng)
    eng.dispose()
    assert o.path and Path(o.path).is_file() and Path(o.path).is_relative_to(settings.home / "archive")
    assert row.data_hash == report.data_hash and len(row.data_hash or "") == 64


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_quality_gate_stops_sending(settings, report, smtp):
    controller, handler = smtp
    s = replace(smtp_settings(settings, controller), min_coverage=0.5)
    eng = pipeline.open_store(s)
    with pytest.raises(
        DeliveryError,
        match=r"Not sent: only 20% of the roster's organisations answered in 2026-Q1, below the minimum 50%",
    ):
        deliver(eng, s, replace(report, coverage_rate=0.2))
    eng.dispose()
    assert handler.messages == []


def test_release_only_uncertain_or_failed(settings, report):
    eng = pipeline.open_store(settings)
    deliver(eng, settings, report)
    (row,) = outbox_rows(eng)
    with pytest.raises(DeliveryError, match="is written: only uncertain or failed messages are sent again"):
        release(eng, row.id)
    with pytest.raises(DeliveryError, match="No outbox message 999"):
        release(eng, 999)
    eng.dispose()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_crash_while_sending_never_sends_a_second_copy(settings, report, smtp):
    from sqlalchemy import update

    from bfs_pipeline.models import Delivery

    controller, handler = smtp
    s = smtp_settings(settings, controller)
    eng = pipeline.open_store(s)
    handler.reply = "451 later"
    deliver(eng, s, report)
    with eng.begin() as c:  # as a process killed between 'sending' and the server's reply leaves it
        c.execute(update(Delivery).values(state="sending"))
    handler.reply = None
    (o,) = deliver(eng, s, report)
    assert o.state == "sending" and handler.messages == []
    eng.dispose()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_pending_is_retried_by_the_nightly_run_and_delivered_once(settings, sheet, tmp_path, smtp):
    controller, handler = smtp
    s = smtp_settings(settings, controller)
    rows = [good_row(email=f"r{i}@x.se", ORG=f"Org {i}") for i in range(6)]
    pipeline.ingest_files(s, file=sheet().write(tmp_path / "kommun-2026-Q1.csv", rows))
    handler.reply = "451 Try again later"
    (o,) = pipeline.send(s, pipeline.render(s, "2026-Q1"))
    assert o.state == "pending"
    handler.reply = None
    (o,) = pipeline.retry_pending(s)
    assert o.state == "sent" and len(handler.messages) == 1
    assert pipeline.retry_pending(s) == [] and len(handler.messages) == 1
