"""`ledger report mga-compliance` as a user runs it: a valid MGA report, and one-line errors (exit 2)."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from tests.e2e.test_cli import _assert_one_line, ledger

XSD = Path(__file__).parents[1] / "vectors" / "mga" / "B2CSmryCompliance.xsd"
NS = {"mga": "MGA"}


def test_mga_compliance_report_and_its_errors(tmp_path: Path) -> None:
    assert ledger(tmp_path, "demo", "--events", "2000").returncode == 0
    out = tmp_path / "reports" / "mga-2026-01-05.xml"
    done = ledger(tmp_path, "report", "mga-compliance", "--day", "2026-01-05", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert f"2026-01-05 written to {out}" in done.stderr
    report = etree.parse(out)
    etree.XMLSchema(etree.parse(XSD)).assertValid(report)
    assert [c.get("CCY") for c in report.iterfind("mga:CCY", NS)] == ["EUR"]
    assert report.findtext("mga:Header/RprtOprtr", namespaces=NS) == "DEMO"
    stdout = ledger(tmp_path, "report", "mga-compliance", "--day", "2026-01-05", "--report-version", "1")
    assert stdout.returncode == 0, stdout.stderr
    assert etree.fromstring(stdout.stdout.encode()).findtext("mga:Header/VrsNb", namespaces=NS) == "1"
    for args, message in (
        (["--day", "2026-02-30"], "ledger report: day: 2026-02-30: day is out of range for month"),
        (["--day", "5.1.2026"], "ledger report: day: expected a day YYYY-MM-DD between 2010 and 2099"),
        (["--day", "2026-01-09"], "ledger report: day: no report facts on 2026-01-09 for MT"),
        (["--day", "2026-01-05", "--base-rates", "GBP"], "ledger report: base_rates: expected CCY=RATE"),
    ):
        bad = ledger(tmp_path, "report", "mga-compliance", *args)
        assert bad.returncode == 2, (args, bad.stderr)
        _assert_one_line(bad.stderr)
        assert bad.stderr.startswith(message), bad.stderr
        assert bad.stdout == ""
