"""What the report says around its numbers, in Swedish and English, and how numbers are written."""

from __future__ import annotations

import math

WORDS: dict[str, dict[str, str]] = {
    "sv": {
        "subject": "Behovsrapport {county} {period}",
        "heading": "Behovsrapport",
        "alerts": "Att uppmärksamma",
        "no_alerts": "Inga förändringar utöver vad antalet svar kan bära.",
        "summary": "Sammanfattning",
        "needs": "Behov av stöd per kommun",
        "needs_intro": "Andel som svarar 4–5 (stort eller mycket stort behov), antal svarande (n), förändring i procentenheter mot {previous} | mot {year_ago}.",
        "needs_cut": "Visar de {shown} kommuner med störst behov av {total}; alla finns i bilagan.",
        "municipality": "Kommun",
        "county_row": "Hela länet",
        "spread": "Golv och spridning per behov",
        "spread_intro": "Golv = kommunen med störst behov, spridning = största minus minsta andel (procentenheter; förändring mot {previous}).",
        "need": "Behov",
        "floor": "Golv (störst behov)",
        "least": "Minst behov",
        "median": "Median",
        "gap": "Spridning",
        "history": "Golv och spridning de senaste åtta kvartalen",
        "history_intro": "Behovsindex: andel av alla behovssvar som är 4–5.",
        "wave": "Kvartal",
        "coverage": "Vilka som svarat",
        "coverage_intro": "Organisationer i aktörsregistret som svarat under {period}, per kommun och sektor (svarat/förväntat), och förändring i svarsandel mot {previous}.",
        "coverage_none": "Inget aktörsregister är inläst (bfs actors import), så svarsandelen kan inte beräknas. Antal svarande per kommun:",
        "missing": "Har inte svarat",
        "rate": "Andel",
        "total": "Totalt",
        "capacity": "Kapacitet i kommunerna",
        "capacity_intro": "Kommunernas egna uppgifter (senaste svar inom ett år). Årsarbetskrafter även per 10 000 invånare (befolkning {pop_year}).",
        "fte": "Årsarb.",
        "fte_10k": "Per 10 000",
        "combined": "Kombinerad roll",
        "council": "Lokalt råd",
        "meetings": "Möten (kv)",
        "lagesbild": "Lägesbild",
        "atgardsplan": "Åtgärdsplan",
        "samordning": "Samordningsfunktion",
        "agreement": "Samverkansöverenskommelse",
        "promises": "Medborgarlöften",
        "charts": "Utveckling över tid",
        "attachment": "Alla tabeller finns i den bifogade Excelfilen.",
        "legend": "– = färre än {min_n} svarande, eller dold för att en annan dold cell inte ska kunna räknas fram; visas inte av integritetsskäl.",
        "footer": "Skapad {generated} av bfs-pipeline ur enkätsvar från länets aktörer. Fritextsvar citeras inte i rapporten.",
        "respondents": "svarande",
        "q_short": "kv",
        "y_short": "år",
        "yes": "Ja",
        "no": "Nej",
        "sheet_needs": "Behov",
        "sheet_spread": "Spridning",
        "sheet_index": "Behovsindex",
        "sheet_coverage": "Täckning",
        "sheet_capacity": "Kapacitet",
    },
    "en": {
        "subject": "Needs report {county} {period}",
        "heading": "Needs report",
        "alerts": "To note",
        "no_alerts": "No change beyond what the number of answers can carry.",
        "summary": "Summary",
        "needs": "Need of support per municipality",
        "needs_intro": "Share answering 4–5 (large or very large need), respondents (n), change in percentage points against {previous} | against {year_ago}.",
        "needs_cut": "Showing the {shown} municipalities with the greatest need of {total}; all are in the attachment.",
        "municipality": "Municipality",
        "county_row": "Whole county",
        "spread": "Floor and spread per need",
        "spread_intro": "Floor = the municipality with the greatest need, gap = highest minus lowest share (percentage points; change against {previous}).",
        "need": "Need",
        "floor": "Floor (greatest need)",
        "least": "Least need",
        "median": "Median",
        "gap": "Gap",
        "history": "Floor and gap over the last eight quarters",
        "history_intro": "Need index: the share of all need answers that are 4–5.",
        "wave": "Quarter",
        "coverage": "Who answered",
        "coverage_intro": "Organisations in the actor roster that answered in {period}, per municipality and sector (answered/expected), and the change in response rate against {previous}.",
        "coverage_none": "No actor roster has been imported (bfs actors import), so response rates cannot be computed. Respondents per municipality:",
        "missing": "Not answered",
        "rate": "Rate",
        "total": "Total",
        "capacity": "Capacity in the municipalities",
        "capacity_intro": "The municipalities' own figures (latest answer within a year). FTE also per 10,000 inhabitants (population {pop_year}).",
        "fte": "FTE",
        "fte_10k": "Per 10,000",
        "combined": "Combined role",
        "council": "Local council",
        "meetings": "Meetings (q)",
        "lagesbild": "Situation picture",
        "atgardsplan": "Action plan",
        "samordning": "Coordination function",
        "agreement": "Collaboration agreement",
        "promises": "Citizen promises",
        "charts": "Over time",
        "attachment": "All tables are in the attached Excel file.",
        "legend": "– = fewer than {min_n} respondents, or hidden so that another hidden cell cannot be worked out; not shown for privacy.",
        "footer": "Made {generated} by bfs-pipeline from the survey answers of the county's actors. Free-text answers are not quoted in the report.",
        "respondents": "respondents",
        "q_short": "q",
        "y_short": "yr",
        "yes": "Yes",
        "no": "No",
        "sheet_needs": "Needs",
        "sheet_spread": "Spread",
        "sheet_index": "Need index",
        "sheet_coverage": "Coverage",
        "sheet_capacity": "Capacity",
    },
}

SUPPRESSED = "–"


def missing(v: float | None) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def fmt_pct(v: float | None, lang: str = "sv") -> str:
    return SUPPRESSED if missing(v) else f"{round(float(v) * 100):d}\u00a0%"  # type: ignore[arg-type]


def fmt_num(v: float | None, lang: str = "sv", digits: int = 1) -> str:
    if missing(v):
        return SUPPRESSED
    s = f"{float(v):,.{digits}f}"  # type: ignore[arg-type]
    return s.replace(",", "\u00a0").replace(".", ",") if lang == "sv" else s


def fmt_int(v: int, lang: str = "sv") -> str:
    s = f"{v:,d}"
    return s.replace(",", "\u00a0") if lang == "sv" else s


def fmt_change(v: float | None, lang: str = "sv") -> str:
    """A change in percentage points, signed; blank where there is nothing to compare."""
    if missing(v):
        return ""
    pts = round(float(v) * 100)  # type: ignore[arg-type]
    sign = "+" if pts > 0 else ("±" if pts == 0 else "−")
    return f"{sign}{abs(pts)}"


def lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
