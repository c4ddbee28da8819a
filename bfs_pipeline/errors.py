"""The errors bfs raises; the CLI prints any BfsError as one line."""

from __future__ import annotations


class BfsError(Exception):
    """Base of every error meant for the user: the message says what is wrong and what to do."""

    exit_code = 1  # what `bfs` exits with after printing the message (see EXIT_CODES)


class SettingsError(BfsError):
    """A setting (environment variable or bfs.toml) is missing or malformed."""


class SurveyError(BfsError):
    """A survey definition is missing or malformed."""


class SourceError(BfsError):
    """An answer source cannot be read."""


class TransientSourceError(SourceError):
    """A source did not answer in time or was overloaded, after bounded retries: the next run may succeed."""


class HeaderError(SourceError):
    """An answer sheet's header does not fit the survey: the whole batch is held."""


class StoreError(BfsError):
    """The database cannot be opened, upgraded or written."""


class MissingDatabaseError(StoreError):
    """A command that only reads found no database where the settings point: it creates none."""


class ReportError(BfsError):
    """A report cannot be built for the period asked for."""


class DeliveryError(BfsError):
    """A report cannot be delivered."""


class NotDelivered(DeliveryError):
    """`bfs report --send` (or `bfs run quarterly --send`, `bfs outbox resend`) left a message pending, failed or
    uncertain: the report was rendered, but someone has to look at the outbox."""

    exit_code = 3


# `bfs` exit codes, as its --help and the README give them.
EXIT_CODES: list[tuple[int, str]] = [
    (0, "done"),
    (1, "an error, in one line on stderr: a bad setting or argument, no database, a sheet held or failed"),
    (2, "wrong usage of the command, or an unexpected error (run again with --debug, and report it)"),
    (3, "the report was rendered, but a message was left pending, failed or uncertain (see bfs outbox list)"),
    (130, "interrupted (Ctrl-C)"),
]
