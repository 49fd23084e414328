"""The benchmark's arithmetic: which peer/floor figure a row is compared with,
and the target checks."""

import python_calamine

from bench.run import (
    FLOOR,
    PEER,
    POSTGRESQL,
    PROJECT,
    Measurement,
    reference,
    table,
    target_checks,
    xlsx_file,
)


def m(tool, mode, rows, seconds, rss=100.0):
    return Measurement(POSTGRESQL, rows, tool, mode, seconds, rss, 1.0, {})


RESULTS = [
    m(PROJECT, "fresh", 100_000, 2.0),
    m(PROJECT, "same file again", 100_000, 0.8),
    m(PROJECT, "dry run", 100_000, 2.5),
    m(PEER, "fresh", 10_000, 25.0),
    m(PEER, "dry run", 10_000, 20.0),
    m(FLOOR, "fresh", 100_000, 1.0),
    m(PROJECT, "fresh", 1_000_000, 20.0, rss=130.0),
]


def test_the_peer_stands_in_from_a_smaller_size_but_the_floor_does_not():
    fresh = RESULTS[0]
    assert reference(RESULTS, RESULTS[2], PEER).mode == "dry run"
    assert reference(RESULTS, fresh, PEER).rows == 10_000
    assert reference(RESULTS, fresh, FLOOR).seconds == 1.0
    assert reference(RESULTS, RESULTS[-1], FLOOR) is None
    assert "(peer at 10,000)" in table(RESULTS)


def test_target_checks_report_pass_and_fail():
    checks = "\n".join(target_checks(RESULTS))
    assert "PASS 100k fresh ≥ 50× the peer's rows/s: 125×" in checks
    assert "PASS 100k fresh within 3× of the floor: 2.0×" in checks
    assert "PASS 100k unchanged re-import ≥ 2× faster than fresh: 2.5×" in checks
    assert "FAIL 100k dry run no slower than the import" in checks
    assert "PASS 1M peak RSS < 200 MB: 130 MB" in checks
    assert "FAIL 1M needs ≤ 20% more memory than 100k: +30%" in checks


def test_the_xlsx_file_holds_the_csv_rows_as_text_cells(tmp_path):
    """The xlsx line validates the very values of the CSV line."""
    csv_path = tmp_path / "org3.csv"
    csv_path.write_text(
        'external_id,name,employees\nA-1,"Acme, Inc",0012\nA-2,,7\n', encoding="utf-8"
    )
    workbook = xlsx_file(csv_path)
    assert workbook == tmp_path / "org3.xlsx"
    rows = (
        python_calamine.CalamineWorkbook.from_path(str(workbook)).get_sheet_by_index(0).to_python()
    )
    assert rows == [
        ["external_id", "name", "employees"],
        ["A-1", "Acme, Inc", "0012"],
        ["A-2", "", "7"],
    ]
    assert xlsx_file(csv_path) == workbook  # made once
