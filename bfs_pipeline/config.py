"""Settings: one frozen object built at the edge from BFS_* variables and an optional bfs.toml."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bfs_pipeline.errors import SettingsError
from bfs_pipeline.resources import default_surveys_dir

# name, default, help: feeds `bfs --help` and the README's settings table.
SETTINGS: list[tuple[str, str, str]] = [
    ("BFS_HOME", "./bfs-home", "Data folder: database, inbox, outbox, rendered reports, the local hash key."),
    (
        "BFS_DATABASE_URL",
        "sqlite:///$BFS_HOME/bfs.sqlite3",
        "SQLAlchemy URL; PostgreSQL in production (postgresql+psycopg://...).",
    ),
    ("BFS_SURVEYS_DIR", "surveys/ of the installation", "Folder with the survey definitions (*.yaml)."),
    (
        "BFS_SMTP_HOST",
        "(unset: write .eml files)",
        "SMTP server; without it reports go to $BFS_HOME/outbox as .eml files.",
    ),
    ("BFS_SMTP_PORT", "587", "SMTP port."),
    ("BFS_SMTP_USER", "", "SMTP user name (secret-free)."),
    (
        "BFS_SMTP_PASSWORD",
        "",
        "SMTP password (secret: never printed or stored; prefect-secret:BLOCK reads a Prefect Secret block).",
    ),
    ("BFS_SMTP_STARTTLS", "true", "Use STARTTLS with a verified certificate; credentials are never sent without it."),
    ("BFS_SMTP_TIMEOUT", "30", "Seconds to wait for the SMTP server."),
    ("BFS_REPORT_FROM", "bfs@localhost", "Sender address of the report."),
    ("BFS_REPORT_TO", "samordnare@localhost", "Recipients of the report, comma-separated."),
    ("BFS_GOOGLE_SERVICE_ACCOUNT_FILE", "", "Service-account JSON for Google Sheets (read-only scope)."),
    (
        "BFS_HASH_KEY",
        "(generated under $BFS_HOME)",
        "Secret for hashing respondent e-mails (HMAC-SHA256; prefect-secret:BLOCK reads a Prefect Secret block).",
    ),
    ("BFS_LANG", "sv", "Language of reports and messages: sv or en."),
    (
        "BFS_MIN_COVERAGE",
        "0.25",
        "Data-quality gate: the report is not sent when fewer of the roster's organisations answered (0-1).",
    ),
    (
        "BFS_ALERT_COVERAGE",
        "0.5",
        "Alert when a municipality's share of roster organisations that answered is below this (0-1).",
    ),
    (
        "BFS_INBOX_KEEP_DAYS",
        "(unset: for ever)",
        "Days a read answer sheet is kept in inbox/read/ before it is removed (each removal logged with its digest).",
    ),
    ("BFS_NIGHTLY_CRON", "0 2 * * *", "When `bfs serve` runs the nightly ingest: cron, Europe/Stockholm time."),
    (
        "BFS_QUARTERLY_CRON",
        "0 7 1 1,4,7,10 *",
        "When `bfs serve` runs the quarterly report (for the quarter just ended): cron, Europe/Stockholm time.",
    ),
    ("BFS_PUBLIC_URL", "http://127.0.0.1:8080", "The web form's address as actors reach it: personal links' base."),
    (
        "BFS_RATELIMIT_STORAGE_URL",
        "memory://",
        "Where `bfs web` keeps its rate limits: memory:// (one process) or redis://HOST:6379 (shared by several).",
    ),
    ("BFS_RATELIMIT_LINK", "30/minute", "Requests allowed per personal link (limits syntax: N/second|minute|hour)."),
    ("BFS_RATELIMIT_CLIENT", "300/minute", "Requests allowed per client address (behind a proxy: X-Forwarded-For)."),
    ("BFS_CONTROLLER", "(the county's länsstyrelse)", "Who is responsible for the answers, in the privacy notice."),
    ("BFS_REMIND_MAX", "2", "Reminders at most per actor and wave (0: none)."),
    (
        "BFS_REMIND_EVERY_DAYS",
        "7",
        "Days from the invitation to the first reminder, and between reminders (0: at once).",
    ),
    (
        "BFS_DIGEST_CRON",
        "0 7 * * 1",
        "When `bfs serve` e-mails the coordinator the weekly coverage digest while a wave is open (Europe/Stockholm).",
    ),
    ("BFS_CONTACT", "(BFS_REPORT_FROM)", "Whom actors contact about the form, accessibility and privacy (an address)."),
    (
        "BFS_MUNICIPAL_REPORTS",
        "false",
        "true: the quarterly run also sends each municipality its own report, after the coordinator's, to the "
        "roster's contacts with rapport = ja.",
    ),
]

SECRET_PREFIX = "prefect-secret:"  # BFS_SMTP_PASSWORD=prefect-secret:NAME reads Prefect's Secret block NAME


def resolve_secret(name: str, value: str | None) -> str | None:
    """A secret setting as given, or read from a Prefect Secret block when it says prefect-secret:BLOCK."""
    if not value or not value.startswith(SECRET_PREFIX):
        return value or None
    block = value.removeprefix(SECRET_PREFIX).strip()
    try:
        from prefect.blocks.system import Secret

        secret = Secret.load(block).get()  # type: ignore[union-attr]
    except Exception as exc:  # the block is missing, or the Prefect server cannot be reached
        raise SettingsError(
            f"{name} names the Prefect Secret block {block!r}, which cannot be read ({type(exc).__name__}). "
            f"Create it (Prefect UI: Blocks > Secret, or Secret(value=...).save({block!r})) and check PREFECT_API_URL."
        ) from None
    return str(secret) or None


KEY_RE = re.compile(r"/spreadsheets/d/([A-Za-z0-9_-]+)")


@dataclass(frozen=True)
class SheetConfig:
    """One configured response sheet ([[sources]] in bfs.toml)."""

    name: str
    sector: str | None
    spreadsheet: str
    worksheet: str | None = None  # None: "Formulärsvar 1", else "Form Responses 1"
    survey: str | None = None
    wave: str | None = None

    @property
    def key(self) -> str:
        m = KEY_RE.search(self.spreadsheet)
        return m.group(1) if m else self.spreadsheet.strip()


TRUE = {"1", "true", "yes", "ja", "on"}
FALSE = {"0", "false", "no", "nej", "off", ""}


@dataclass(frozen=True)
class Settings:
    """Everything bfs needs to know about its environment, read once."""

    home: Path
    database_url: str
    surveys_dir: Path
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_starttls: bool = True
    smtp_timeout: float = 30.0
    report_from: str = "bfs@localhost"
    report_to: tuple[str, ...] = ("samordnare@localhost",)
    google_service_account_file: Path | None = None
    hash_key: str | None = field(default=None, repr=False)
    lang: str = "sv"
    sources: tuple[SheetConfig, ...] = ()  # Google Sheets response sheets, from [[sources]] in bfs.toml
    min_coverage: float = 0.25
    alert_coverage: float = 0.5
    nightly_cron: str = "0 2 * * *"
    inbox_keep_days: int | None = None
    quarterly_cron: str = "0 7 1 1,4,7,10 *"
    public_url: str = "http://127.0.0.1:8080"
    ratelimit_storage_url: str = "memory://"
    ratelimit_link: str = "30/minute"
    ratelimit_client: str = "300/minute"
    controller: str | None = None
    contact: str | None = None
    remind_max: int = 2
    remind_every_days: int = 7
    digest_cron: str = "0 7 * * 1"
    municipal_reports: bool = False

    @property
    def inbox(self) -> Path:
        return self.home / "inbox"

    @property
    def outbox(self) -> Path:
        return self.home / "outbox"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"


def _bool(name: str, value: str) -> bool:
    v = value.strip().lower()
    if v in TRUE:
        return True
    if v in FALSE:
        return False
    raise SettingsError(f"{name}={value!r} is not a yes/no value: use true or false.")


def _int(name: str, value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise SettingsError(f"{name}={value!r} is not a whole number: use for example {name}=587.") from None


def _float(name: str, value: str) -> float:
    try:
        return float(value.strip())
    except ValueError:
        raise SettingsError(f"{name}={value!r} is not a number: use for example {name}=30.") from None


ADDRESS_RE = re.compile(r"[^@\s<>,;:\"()\[\]]+@[^@\s<>,;:\"()\[\]]+")
NAMED_RE = re.compile(r"\s*(?P<name>[^<>]*?)\s*<(?P<address>[^<>]*)>\s*")


def _address(name: str, value: str, named: bool = False) -> str:
    """One e-mail address (user@domain; `Name <user@domain>` too when named), as given but trimmed."""
    v = value.strip()
    m = NAMED_RE.fullmatch(v) if named else None
    if ADDRESS_RE.fullmatch(m.group("address").strip() if m else v) and "\n" not in v:
        return v
    example = "bfs@kommun.se, or Samordnaren <bfs@kommun.se>" if named else "samordnare@kommun.se"
    raise SettingsError(f"{name}: {value.strip()!r} is not an e-mail address: write it as {example}.")


def _addresses(name: str, value: str) -> tuple[str, ...]:
    """Comma-separated recipient addresses, each one checked."""
    out = tuple(_address(name, a) for a in value.split(",") if a.strip())
    if not out:
        raise SettingsError(f"{name} is empty: give at least one recipient address, for example samordnare@kommun.se.")
    return out


SOURCE_KEYS = {"name", "sector", "spreadsheet", "worksheet", "survey", "wave"}


def _sources(path: Path, raw: Any) -> tuple[SheetConfig, ...]:
    """The [[sources]] tables of bfs.toml: Google Sheets response sheets."""
    if not isinstance(raw, list):
        raise SettingsError(
            f"{path}: sources must be a list of tables: write each as [[sources]] with spreadsheet = and sector =."
        )
    out = []
    names: set[str] = set()
    for i, item in enumerate(raw, start=1):
        where = f"{path}: source {i}"
        if not isinstance(item, dict):
            raise SettingsError(f"{where} is not a table: write it as [[sources]].")
        unknown = set(item) - SOURCE_KEYS
        if unknown:
            raise SettingsError(
                f"{where} has unknown key(s) {', '.join(sorted(unknown))}; "
                f"known keys are {', '.join(sorted(SOURCE_KEYS))}."
            )
        if not item.get("spreadsheet"):
            raise SettingsError(f"{where} has no spreadsheet: give the response sheet's key or URL.")
        name = str(item.get("name") or item.get("sector") or f"source-{i}")
        if name in names:
            raise SettingsError(f"{where}: the name {name!r} is used twice: give each source its own name =.")
        names.add(name)
        out.append(
            SheetConfig(
                name=name,
                sector=item.get("sector"),
                spreadsheet=str(item["spreadsheet"]),
                worksheet=item.get("worksheet"),
                survey=item.get("survey"),
                wave=item.get("wave"),
            )
        )
    return tuple(out)


def _days(name: str, value: str) -> int | None:
    if not value.strip():
        return None
    days = _int(name, value)
    if days < 0:
        raise SettingsError(f"{name}={value!r} is negative: give the days to keep read sheets, for example {name}=365.")
    return days


def _share(name: str, value: str) -> float:
    v = _float(name, value)
    if not 0 <= v <= 1:
        raise SettingsError(f"{name}={value!r} is not a share between 0 and 1: use for example {name}=0.25.")
    return v


def _read_toml(path: Path) -> tuple[dict[str, str], tuple[SheetConfig, ...]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path} is not valid TOML ({exc}); fix the file or remove it.") from None
    sources = _sources(path, data.pop("sources")) if "sources" in data else ()
    out: dict[str, str] = {}
    for key, value in data.items():
        name = key.upper() if key.upper().startswith("BFS_") else "BFS_" + key.upper()
        if name not in {s[0] for s in SETTINGS}:
            known = ", ".join(s[0][4:].lower() for s in SETTINGS)
            raise SettingsError(f"{path}: unknown setting {key!r}; known settings are {known}.")
        out[name] = ",".join(value) if isinstance(value, list) else str(value)
    return out, sources


def load_settings(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Settings:
    """Build the settings from the environment (winning) and bfs.toml in the working folder or BFS_HOME."""
    env = dict(os.environ if env is None else env)
    cwd = cwd or Path.cwd()
    values: dict[str, str] = {}
    sources: tuple[SheetConfig, ...] = ()
    home_raw = env.get("BFS_HOME") or ""
    for candidate in ([Path(home_raw) / "bfs.toml"] if home_raw else []) + [cwd / "bfs.toml"]:
        if candidate.is_file():
            file_values, sources = _read_toml(candidate)
            values.update(file_values)
            break
    values.update({k: v for k, v in env.items() if k.startswith("BFS_")})
    home = Path(values.get("BFS_HOME") or (cwd / "bfs-home")).expanduser()
    if not home.is_absolute():
        home = (cwd / home).resolve()
    url = values.get("BFS_DATABASE_URL") or f"sqlite:///{home / 'bfs.sqlite3'}"
    to = _addresses("BFS_REPORT_TO", values.get("BFS_REPORT_TO", "samordnare@localhost"))
    lang = values.get("BFS_LANG", "sv").strip().lower() or "sv"
    if lang not in ("sv", "en"):
        raise SettingsError(f"BFS_LANG={lang!r} is not supported: use sv or en.")
    gsa = values.get("BFS_GOOGLE_SERVICE_ACCOUNT_FILE") or ""
    return Settings(
        home=home,
        database_url=url,
        surveys_dir=Path(values["BFS_SURVEYS_DIR"]) if values.get("BFS_SURVEYS_DIR") else default_surveys_dir(),
        smtp_host=values.get("BFS_SMTP_HOST") or None,
        smtp_port=_int("BFS_SMTP_PORT", values.get("BFS_SMTP_PORT", "587")),
        smtp_user=values.get("BFS_SMTP_USER") or None,
        smtp_password=resolve_secret("BFS_SMTP_PASSWORD", values.get("BFS_SMTP_PASSWORD")),
        smtp_starttls=_bool("BFS_SMTP_STARTTLS", values.get("BFS_SMTP_STARTTLS", "true")),
        smtp_timeout=_float("BFS_SMTP_TIMEOUT", values.get("BFS_SMTP_TIMEOUT", "30")),
        report_from=_address("BFS_REPORT_FROM", values.get("BFS_REPORT_FROM") or "bfs@localhost", named=True),
        report_to=to,
        google_service_account_file=Path(gsa) if gsa else None,
        hash_key=resolve_secret("BFS_HASH_KEY", values.get("BFS_HASH_KEY")),
        lang=lang,
        sources=sources,
        min_coverage=_share("BFS_MIN_COVERAGE", values.get("BFS_MIN_COVERAGE", "0.25")),
        alert_coverage=_share("BFS_ALERT_COVERAGE", values.get("BFS_ALERT_COVERAGE", "0.5")),
        nightly_cron=(values.get("BFS_NIGHTLY_CRON") or "0 2 * * *").strip(),
        inbox_keep_days=_days("BFS_INBOX_KEEP_DAYS", values.get("BFS_INBOX_KEEP_DAYS") or ""),
        quarterly_cron=(values.get("BFS_QUARTERLY_CRON") or "0 7 1 1,4,7,10 *").strip(),
        public_url=_url("BFS_PUBLIC_URL", values.get("BFS_PUBLIC_URL") or "http://127.0.0.1:8080"),
        ratelimit_storage_url=_storage(values.get("BFS_RATELIMIT_STORAGE_URL") or "memory://"),
        ratelimit_link=_rate("BFS_RATELIMIT_LINK", values.get("BFS_RATELIMIT_LINK") or "30/minute"),
        ratelimit_client=_rate("BFS_RATELIMIT_CLIENT", values.get("BFS_RATELIMIT_CLIENT") or "300/minute"),
        controller=(values.get("BFS_CONTROLLER") or "").strip() or None,
        contact=_address("BFS_CONTACT", values["BFS_CONTACT"], named=True) if values.get("BFS_CONTACT") else None,
        remind_max=_count("BFS_REMIND_MAX", values.get("BFS_REMIND_MAX") or "2"),
        remind_every_days=_count("BFS_REMIND_EVERY_DAYS", values.get("BFS_REMIND_EVERY_DAYS") or "7"),
        digest_cron=(values.get("BFS_DIGEST_CRON") or "0 7 * * 1").strip(),
        municipal_reports=_bool("BFS_MUNICIPAL_REPORTS", values.get("BFS_MUNICIPAL_REPORTS") or "false"),
    )


def _count(name: str, value: str) -> int:
    """A whole number, 0 or more."""
    try:
        n = int(value.strip())
    except ValueError:
        n = -1
    if n < 0:
        raise SettingsError(f"{name}={value!r} is not a whole number of 0 or more: write for example 2.")
    return n


def _url(name: str, value: str) -> str:
    """An http(s) base address without a trailing slash."""
    v = value.strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+(/[^\s]*)?$", v):
        raise SettingsError(f"{name}={value!r} is not an http(s) address: write it as https://enkat.example.se.")
    return v


def _storage(value: str) -> str:
    v = value.strip()
    if not re.match(r"^(memory|redis|rediss|redis\+unix)://", v):
        raise SettingsError(
            f"BFS_RATELIMIT_STORAGE_URL={value!r} is not a rate-limit store: use memory:// or redis://HOST:6379."
        )
    return v


def _rate(name: str, value: str) -> str:
    v = value.strip()
    if not re.match(r"^\d+\s*(/|per)\s*(\d+\s*)?(second|minute|hour|day)s?$", v):
        raise SettingsError(f"{name}={value!r} is not a rate: write it as 30/minute (or N/second, N/hour).")
    return v
