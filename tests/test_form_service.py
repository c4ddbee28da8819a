"""The web form's work without HTTP: what it asks, checking by the GX suite, storing, resubmitting, drafts."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bfs_pipeline import demo, validation
from bfs_pipeline.models import FormDraft, IngestRun, QuarantinedRow, Response
from bfs_pipeline.outreach import links
from bfs_pipeline.resources import default_surveys_dir
from bfs_pipeline.roster import import_roster
from bfs_pipeline.survey import Survey
from bfs_pipeline.web.forms import FormService, Kind, Outcome

KEY = b"test-hash-key-0123456789"
WAVE = "2026-Q4"


@pytest.fixture
def opened(engine: Engine, survey: Survey, tmp_path: Path) -> links.Opened:
    import_roster(engine, demo.write_roster(tmp_path / "roster.csv", survey.county), survey)
    return links.open_wave(engine, survey, WAVE, KEY, "http://x", links.today() + dt.timedelta(days=30))


@pytest.fixture
def service(engine: Engine) -> FormService:
    return FormService(engine, default_surveys_dir(), KEY)


def visit_of(service: FormService, opened: links.Opened, sector: str) -> links.Visit:
    link = next(link for link in opened.links if link.sector == sector)
    visit = service.visit(link.url.rsplit("/", 1)[1])
    assert visit is not None
    return visit


def valid_form(service: FormService, visit: links.Visit) -> dict[str, list[str]]:
    """Every required question answered with its first choice; the municipalities from the link."""
    page = service.page(visit, "sv")
    form: dict[str, list[str]] = {}
    for section in page.sections:
        for f in section.fields:
            if f.name == "C01":
                form[f.name] = list(visit.municipalities)
            elif f.required:
                form[f.name] = [f.options[0].value]
    return form


def stored(engine: Engine) -> tuple[int, int]:
    with Session(engine) as s:
        rows = s.scalar(select(func.count()).select_from(Response)) or 0
        current = s.scalar(select(func.count()).select_from(Response).where(Response.is_current.is_(True))) or 0
    return rows, current


def test_the_form_asks_the_core_and_the_sectors_module_without_the_organisation(
    service: FormService, opened: links.Opened, survey: Survey
) -> None:
    visit = visit_of(service, opened, "kommun")
    names = [f.name for s in service.page(visit, "sv").sections for f in s.fields]
    assert "ORG" not in names and "C01" in names and "K04" in names and not any(n.startswith("P") for n in names)
    # 2026-Q4 is not the survey's yearly wave (Q1): no yearly question; in Q1 they are asked
    yearly = {q.id for q in survey.questions("kommun") if q.yearly}
    assert yearly and not yearly & set(names)
    q1 = [f.name for s in service.sections(survey, "kommun", "2027-Q1", "sv") for f in s.fields]
    assert yearly <= set(q1)
    kinds = {f.name: f.kind for s in service.page(visit, "sv").sections for f in s.fields}
    assert kinds["K04"] is Kind.DECIMAL and kinds["K07"] is Kind.INTEGER and kinds["C01"] is Kind.CHECKBOX
    english = service.page(visit, "en").sections[0].fields[0].label
    assert english != service.page(visit, "sv").sections[0].fields[0].label


@pytest.mark.parametrize("sector", ["kommun", "polis", "myndighet", "naringsliv", "ideburen"])
def test_a_valid_submission_is_stored_as_the_actors_response(
    service: FormService, opened: links.Opened, engine: Engine, sector: str
) -> None:
    visit = visit_of(service, opened, sector)
    done = service.submit(visit, valid_form(service, visit), "sv")
    assert done.outcome is Outcome.STORED, done.page and done.page.errors
    with Session(engine) as s:
        response = s.scalars(select(Response)).one()
        run = s.get(IngestRun, response.run_id)
    assert response.actor_id == visit.actor_id and response.organisation == visit.organisation
    assert response.sector == sector and response.wave == WAVE and len(response.content_hash) == 64
    assert run is not None and run.source == f"form:{visit.survey_id}/{WAVE}" and run.accepted == 1


def test_every_invalid_answer_comes_back_and_nothing_is_stored(
    service: FormService, opened: links.Opened, engine: Engine
) -> None:
    visit = visit_of(service, opened, "kommun")
    form = valid_form(service, visit)
    form.update({"K04": ["abc"], "K07": ["31"], "B01": ["7"]})  # optional K04, K07 and a required B01
    del form["B02"]
    done = service.submit(visit, form, "sv")
    assert done.outcome is Outcome.INVALID and done.page is not None
    errors = {e.name: e.message for e in done.page.errors}
    assert set(errors) == {"B01", "B02", "K04", "K07"}
    assert "tal" in errors["K04"].lower() and "30" in errors["K07"]
    assert [e.name for e in done.page.errors] == ["B01", "B02", "K04", "K07"]  # in the form's order
    assert done.page.value("K04") == "abc"  # the answers given are shown again
    english = service.submit(visit, form, "en")
    assert english.page is not None and english.page.error_of("K07") is not None
    assert english.page.error_of("K07").message != errors["K07"]  # type: ignore[union-attr]
    assert stored(engine) == (0, 0)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(QuarantinedRow)) == 0
        assert s.scalar(select(func.count()).select_from(IngestRun)) == 0


def test_a_decimal_comma_is_a_number(service: FormService, opened: links.Opened, engine: Engine) -> None:
    visit = visit_of(service, opened, "kommun")
    form = valid_form(service, visit) | {"K04": ["0,5"]}
    assert service.submit(visit, form, "sv").outcome is Outcome.STORED
    with Session(engine) as s:
        assert s.scalars(select(Response.answers)).one()["K04"] == 0.5
    assert service.page(visit, "sv").value("K04") == "0,5"


def test_resubmission_the_newest_counts_and_the_form_shows_it(
    service: FormService, opened: links.Opened, engine: Engine
) -> None:
    visit = visit_of(service, opened, "polis")
    form = valid_form(service, visit)
    assert service.submit(visit, form, "sv").outcome is Outcome.STORED
    changed = form | {"B01": ["5"]}
    assert service.submit(visit, changed, "sv").outcome is Outcome.STORED
    assert stored(engine) == (2, 1)
    with Session(engine) as s:
        current = s.scalars(select(Response.answers).where(Response.is_current.is_(True))).one()
    assert current["B01"] == "5"
    page = service.page(visit, "sv")
    assert page.value("B01") == "5" and page.answered_at is not None


def test_a_draft_is_kept_shown_and_gone_after_submitting(
    service: FormService, opened: links.Opened, engine: Engine
) -> None:
    visit = visit_of(service, opened, "ideburen")
    draft = {"B01": ["3"], "I03": ["not yet a number"], "C05": ["Halvfärdig tanke"]}
    assert service.save_draft(visit, draft).outcome is Outcome.DRAFT
    page = service.page(visit, "sv")
    assert page.value("I03") == "not yet a number" and page.value("C05") == "Halvfärdig tanke"
    assert page.draft_saved_at is not None and stored(engine) == (0, 0)
    assert service.submit(visit, valid_form(service, visit), "sv").outcome is Outcome.STORED
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(FormDraft)) == 0


def test_a_closed_wave_stores_nothing(
    service: FormService, opened: links.Opened, engine: Engine, survey: Survey
) -> None:
    visit = visit_of(service, opened, "kommun")
    form = valid_form(service, visit)
    links.close_wave(engine, survey, WAVE)
    closed = service.visit(next(link for link in opened.links if link.sector == "kommun").url.rsplit("/", 1)[1])
    assert closed is not None and closed.state is links.WaveState.CLOSED
    assert service.submit(closed, form, "sv").outcome is Outcome.CLOSED
    assert service.save_draft(closed, form).outcome is Outcome.CLOSED
    assert stored(engine) == (0, 0)


def test_submissions_at_once_are_all_stored_with_the_suites_verdicts(
    service: FormService, opened: links.Opened, engine: Engine
) -> None:
    """Threads submitting at once share the suite's runs; every verdict is the one the suite gives alone."""
    visits = [visit_of(service, opened, s) for s in ("kommun", "polis", "myndighet", "naringsliv", "ideburen")]
    outcomes: list[Outcome] = []
    invalid: list[set[str]] = []

    def submit(i: int) -> None:
        visit = visits[i % len(visits)]
        form = valid_form(service, visit)
        if i % 3 == 0:
            form["B03"] = [str(10 + i)]  # out of the scale, a text no run has seen
            page = service.submit(visit, form, "sv").page
            assert page is not None
            invalid.append({e.name for e in page.errors})
        else:
            outcomes.append(service.submit(visit, form | {"C05": [f"svar {i}"]}, "sv").outcome)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(15)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == [Outcome.STORED] * 10 and invalid == [{"B03"}] * 5
    assert stored(engine)[0] == 10
    validation.validator().verdicts.clear()  # judged again from scratch, one at a time: the same verdicts
    visit = visits[0]
    page = service.submit(visit, valid_form(service, visit) | {"B03": ["10"]}, "sv").page
    assert page is not None and {e.name for e in page.errors} == {"B03"}
