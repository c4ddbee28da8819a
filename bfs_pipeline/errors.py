"""The errors bfs raises; the CLI prints any BfsError as one line."""

from __future__ import annotations


class BfsError(Exception):
    """Base of every error meant for the user: the message says what is wrong and what to do."""


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


class ReportError(BfsError):
    """A report cannot be built for the period asked for."""


class DeliveryError(BfsError):
    """A report cannot be delivered."""
