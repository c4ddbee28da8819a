"""bfs survey guide: the page for building the Google Form, checked against the codebook and the ingest itself."""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest

from bfs_pipeline import reference
from bfs_pipeline.errors import SurveyError
from bfs_pipeline.guide import FormType, render_guide
from bfs_pipeline.normalize import ChoiceIndex, describe_header, org_key
from bfs_pipeline.survey import Column, Survey, form_columns


def sel(el: lxml.html.HtmlElement, selector: str) -> list[lxml.html.HtmlElement]:
    """Elements under `el` by "tag.class.class" or "tag.class tag.class" (descendants), without cssselect."""
    path = "."
    for step in selector.split():
        tag, *classes = step.split(".")
        test = "".join(f"[contains(concat(' ', normalize-space(@class), ' '), ' {c} ')]" for c in classes)
        path += f"//{tag or '*'}{test}"
    return list(el.xpath(path))


def page(html: str) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(html)


def items(doc: lxml.html.HtmlElement) -> dict[str, lxml.html.HtmlElement]:
    return {li.get("data-question-id"): li for li in sel(doc, "li.question")}


def titles(doc: lxml.html.HtmlElement) -> list[str]:
    return [p.text_content() for p in sel(doc, "p.title")]


def choice_lines(li: lxml.html.HtmlElement) -> list[str]:
    pre = sel(li, "pre.choices")
    return pre[0].text_content().split("\n") if pre else []


def codebook(survey: Survey, sector: str, wave: str | None = None, lang: str = "sv") -> dict[str, Column]:
    return {c.question_id: c for c in survey.columns(sector, wave, lang) if c.question_id}


@pytest.mark.parametrize("sector", ["kommun", "polis", "myndighet", "naringsliv", "ideburen"])
def test_every_codebook_title_once_in_order(survey: Survey, sector: str) -> None:
    html = render_guide(survey, sector, None, "sv")
    doc = page(html)
    expected = [c.title for c in survey.columns(sector)]
    assert titles(doc) == expected
    text = doc.text_content()
    for title in expected:
        assert text.count(title) == 1, title
    # the sector's module and no other sector's
    ids = [li.get("data-question-id") for li in sel(doc, "li.question")]
    assert ids == [q.id for q in survey.questions(sector)]


def test_a_wave_that_rewords_a_question_gets_its_title(survey: Survey) -> None:
    reworded = next(t for t, qid in survey.waves["2026-Q2"].items() if qid == "B04")
    html = render_guide(survey, "kommun", "2026-q2", "sv")
    doc = page(html)
    # 2026-Q2 does not ask the yearly questions (#13): the wave's form, not every column the ingest knows
    assert titles(doc) == [c.title for c in form_columns(survey, "kommun", "2026-Q2")]
    assert sel(items(doc)["B04"], "p.title")[0].text_content() == reworded
    assert survey.question("B04").title("sv") not in html
    assert "2026-Q2" in sel(doc, "p.lead")[0].text_content()


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_titles_load_as_a_header(survey: Survey, lang: str) -> None:
    """A sheet whose header is the guide's titles, in the guide's order, maps every column and lacks none."""
    for wave in (None, "2026-Q2"):
        doc = page(render_guide(survey, "polis", wave, lang))
        described = describe_header(titles(doc), survey, "polis", wave)
        assert described.unmapped == [] and described.missing == []
        assert [c.question_id or c.type for _, _, c in described.mapped] == [
            c.question_id or c.type for c in form_columns(survey, "polis", wave)
        ]


def test_required_questions_are_marked(survey: Survey) -> None:
    doc = page(render_guide(survey, "kommun", None, "sv"))
    book = codebook(survey, "kommun")
    marked = items(doc)
    assert set(marked) == set(book)
    for qid, li in marked.items():
        required = book[qid].required
        assert li.get("data-required") == ("true" if required else "false"), qid
        assert sel(li, "dd.required")[0].text_content() == ("Ja" if required else "Nej"), qid
        assert bool(sel(li, "h3 .tag.required")) is required, qid
    assert {q for q, c in book.items() if c.required} == {"ORG", "C01", *(f"B0{i}" for i in range(1, 10))}
    meta = {li.get("data-type"): li for li in sel(doc, "li.meta")}
    assert set(meta) == {"timestamp", "email"}
    assert "Samla in e-postadresser" in meta["email"].text_content()


def test_likert_choices_are_the_codebooks_and_read_back_to_their_codes(survey: Survey) -> None:
    doc = page(render_guide(survey, "kommun", None, "sv"))
    book = codebook(survey, "kommun")
    b01 = items(doc)["B01"]
    assert b01.get("data-form-type") == FormType.MULTIPLE_CHOICE
    assert sel(b01, "dd.form-type")[0].text_content() == "Flervalsfråga"
    lines = choice_lines(b01)
    assert lines == [
        "1 - Inget behov",
        "2 - Litet behov",
        "3 - Visst behov",
        "4 - Stort behov",
        "5 - Mycket stort behov",
        "Vet ej",
    ]
    assert [c.label("sv") for c in book["B01"].choices] == [line.split(" - ")[-1] for line in lines]
    # every choice of every choice question: the ingest reads each pasted line back to the codebook's code, in order
    for qid, li in items(doc).items():
        col = book[qid]
        if col.type in ("likert", "single", "multi"):
            index = ChoiceIndex.build(col)
            assert [index.one(line) for line in choice_lines(li)] == [c.code for c in col.choices], qid


def test_multi_questions_are_checkboxes_and_a_checked_cell_splits_back(survey: Survey) -> None:
    for sector in survey.sectors:
        doc = page(render_guide(survey, sector, None, "sv"))
        book = codebook(survey, sector)
        for qid, li in items(doc).items():
            col = book[qid]
            is_multi = col.type in ("multi", "municipalities")
            assert (li.get("data-form-type") == FormType.CHECKBOXES) is is_multi, qid
            if col.type == "multi":
                assert sel(li, "dd.form-type")[0].text_content() == "Kryssrutor"
                cell = ", ".join(choice_lines(li))  # Google's way of writing several ticks in one cell
                assert [code for _, code in ChoiceIndex.build(col).split(cell)] == [c.code for c in col.choices], qid
            if col.type == "municipalities":
                codes = [reference.match_municipality(n, survey.county).code for n in choice_lines(li)]
                assert codes == [c.code for c in col.choices] and codes[-1] == survey.county


def test_number_questions_get_their_range(survey: Survey) -> None:
    doc = page(render_guide(survey, "kommun", None, "sv"))
    book = codebook(survey, "kommun")
    for qid in ("K04", "K07"):
        li = items(doc)[qid]
        assert li.get("data-form-type") == FormType.SHORT_ANSWER
        lo, hi = int(book[qid].min or 0), int(book[qid].max or 0)
        assert sel(li, "dd.validation")[0].text_content() == f"Svarsvalidering: Tal, mellan {lo} och {hi}"
    assert (book["K04"].min, book["K04"].max) == (0, 50)
    assert "Bara heltal" in items(doc)["K07"].text_content()  # K07 is an integer
    assert sel(items(doc)["C02"], "dd.validation")[0].text_content() == "Ingen"
    polis = items(page(render_guide(survey, "polis", None, "sv")))
    assert sel(polis["P01"], "dd.validation")[0].text_content() == "Svarsvalidering: Tal, mellan 0 och 100"


def test_text_and_organisation_questions(survey: Survey) -> None:
    doc = items(page(render_guide(survey, "naringsliv", None, "sv")))
    assert doc["N10"].get("data-form-type") == FormType.PARAGRAPH
    assert doc["ORG"].get("data-form-type") == FormType.SHORT_ANSWER
    assert "Inget aktörsregister" in doc["ORG"].text_content()
    roster = ["Öresunds Handel AB", "Blekinge Företagarförening", "Ängö Fastigheter", "Åkeriet i Ronneby", "ICA Nära"]
    twice = [*roster, "  blekinge  företagarförening"]  # the same organisation again, spaced and cased otherwise
    with_roster = items(page(render_guide(survey, "naringsliv", None, "sv", twice)))
    org = with_roster["ORG"]
    assert org.get("data-form-type") == FormType.DROPDOWN
    assert sel(org, "dd.form-type")[0].text_content() == "Rullgardinsmeny"
    assert choice_lines(org) == [
        "Blekinge Företagarförening",
        "ICA Nära",
        "Åkeriet i Ronneby",
        "Ängö Fastigheter",
        "Öresunds Handel AB",
    ]
    assert {org_key(n) for n in choice_lines(org)} == {org_key(n) for n in roster}


def test_unknown_sector_is_refused_naming_the_sectors(survey: Survey) -> None:
    with pytest.raises(SurveyError) as exc:
        render_guide(survey, "skola", None, "sv")
    message = str(exc.value)
    assert "'skola'" in message and "kommun, polis, myndighet, naringsliv, ideburen" in message
    assert titles(page(render_guide(survey, "Polis", None, "sv"))) == [c.title for c in survey.columns("polis")]


def test_english_titles_and_labels(survey: Survey) -> None:
    html = render_guide(survey, "kommun", None, "en")
    doc = page(html)
    assert doc.get("lang") == "en"
    assert titles(doc) == [c.title for c in survey.columns("kommun", None, "en")]
    assert titles(doc)[:2] == ["Timestamp", "Email Address"]
    b01 = items(doc)["B01"]
    assert sel(b01, "p.title")[0].text_content() == survey.question("B01").text["en"]
    assert choice_lines(b01)[3] == "4 - Large need" and choice_lines(b01)[-1] == "Don't know"
    assert choice_lines(items(doc)["K05"])[0] == "No, dedicated role"
    # Google Forms' own words come from the English catalogue (Swedish until pending-guide.po is merged into it)
    assert sel(b01, "dd.form-type")[0].text_content() in ("Multiple choice", "Flervalsfråga")
    assert "Municipality" in sel(doc, "p.lead")[0].text_content()
    assert page(render_guide(survey, "kommun", None, "sv")).get("lang") == "sv"


def test_self_contained(survey: Survey) -> None:
    html = render_guide(survey, "polis", "2026-Q2", "sv", ["Polisen Blekinge"])
    assert "<script" not in html.lower()
    doc = page(html)
    assert not doc.xpath("//*[@src or @href]")  # nothing to fetch, nothing to follow
    assert "@media print" in html


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_fits_a_phone_and_fetches_nothing(survey: Survey, page_at, tmp_path: Path, lang: str) -> None:
    path = tmp_path / "guide.html"
    path.write_text(render_guide(survey, "kommun", "2026-Q2", lang, ["Karlskrona kommun"]), encoding="utf-8")
    for width in (375, 1280):
        p = page_at(width)
        p.goto(path.as_uri())
        assert p.evaluate("document.documentElement.scrollWidth") <= width
        asked = [q for q in survey.questions("kommun") if survey.asked(q, "2026-Q2")]  # no yearly one in Q2 (#13)
        assert p.evaluate("document.querySelectorAll('li.question').length") == len(asked)
        assert p.outside_requests == []
    p = page_at(375)
    p.goto(path.as_uri())
    p.emulate_media(media="print")
    assert p.evaluate("getComputedStyle(document.querySelector('li.question')).breakInside") == "avoid"
