"""The roster file: kontakt (an address), språk (sv/en) and aktiv (ja/nej); importing again updates, never doubles."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from bfs_pipeline.errors import SourceError
from bfs_pipeline.roster import import_roster, roster_frame
from bfs_pipeline.survey import Survey

HEADER = "organisation,sektor,kommun,kontakt,språk,aktiv\n"


def write(tmp_path: Path, body: str, name: str = "aktorer.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def test_language_contact_and_active_are_read_and_updated(engine: Engine, survey: Survey, tmp_path: Path) -> None:
    first = write(
        tmp_path,
        "Karlskrona kommun,kommun,Karlskrona,bfs@karlskrona.se,sv,ja\n"
        "Polisen LPO Karlshamn,polis,Karlshamn,,en,\n"
        "Föreningen Trygg,ideburen,Ronneby,trygg@example.se,,nej\n",
    )
    assert import_roster(engine, first, survey) == {"added": 3, "updated": 0, "inactive": 1}
    everyone = roster_frame(engine, active_only=False).set_index("name")
    assert everyone.loc["Karlskrona kommun", "contact_email"] == "bfs@karlskrona.se"
    assert everyone.loc["Polisen LPO Karlshamn", "lang"] == "en"
    assert everyone.loc["Föreningen Trygg", "lang"] == "sv"
    assert not everyone.loc["Föreningen Trygg", "active"]
    assert set(roster_frame(engine).name) == {"Karlskrona kommun", "Polisen LPO Karlshamn"}
    # again, changed: updated, never doubled; the one left out is kept, inactive
    second = write(
        tmp_path,
        "KARLSKRONA KOMMUN,kommun,Karlskrona,ny@karlskrona.se,engelska,ja\nFöreningen Trygg,ideburen,Ronneby,,sv,ja\n",
    )
    assert import_roster(engine, second, survey) == {"added": 0, "updated": 2, "inactive": 1}
    everyone = roster_frame(engine, active_only=False).set_index("name")
    assert len(everyone) == 3
    assert everyone.loc["KARLSKRONA KOMMUN", "contact_email"] == "ny@karlskrona.se"
    assert everyone.loc["KARLSKRONA KOMMUN", "lang"] == "en"
    assert everyone.loc["Föreningen Trygg", "active"] and not everyone.loc["Polisen LPO Karlshamn", "active"]


@pytest.mark.parametrize(
    ("row", "says"),
    [
        ("Karlskrona kommun,kommun,Karlskrona,inte en adress,sv,ja\n", "not an e-mail address"),
        ("Karlskrona kommun,kommun,Karlskrona,a@b.se,fi,ja\n", "neither sv nor en"),
        ("Karlskrona kommun,kommun,Karlskrona,a@b.se,sv,kanske\n", "neither ja nor nej"),
        ("Karlskrona kommun,kommun,Karlskrona,,,\nKarlskrona Kommun,kommun,Karlskrona,,,\n", "twice"),
    ],
)
def test_bad_rows_are_refused_with_their_row_and_fix(
    engine: Engine, survey: Survey, tmp_path: Path, row: str, says: str
) -> None:
    with pytest.raises(SourceError, match=says):
        import_roster(engine, write(tmp_path, row), survey)
    assert roster_frame(engine, active_only=False).empty  # nothing of a refused file is stored
