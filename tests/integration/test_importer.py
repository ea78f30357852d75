"""`numguard import FILE` as a service: files in, registry state out, on a real database."""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from numguard.adapters.storage.tables import lifecycle_events, number_states, tenures
from numguard.bootstrap import Container, build
from numguard.domain.answer import Recycled
from numguard.errors import InvalidInput
from numguard.services.demo_world import (
    DEMO_CARRIERS,
    DemoWorld,
    generate_world,
    write_events_csv,
    write_events_ndjson,
)
from numguard.services.events import CSV_COLUMNS
from numguard.services.importer import ImportReport, import_file
from numguard.settings import load_settings

SECRET = "importer-test-secret-that-is-long-enough-0123456789"
TODAY = date(2026, 11, 28)
NOON = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
ID_A = "11010519491231002X"
ID_B = "110105199003070017"
NUMBER = "+8613800138000"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _container(url: str, data_dir: Path) -> Container:
    settings = load_settings(
        {
            "NUMGUARD_DATABASE_URL": url,
            "NUMGUARD_SECRET_KEY": SECRET,
            "NUMGUARD_DATA_DIR": str(data_dir),
        }
    )
    container = build(settings, clock=lambda: NOON)
    for carrier in DEMO_CARRIERS:
        container.registry.add_carrier(
            carrier.code,
            carrier.name,
            tracking_since=date(2024, 11, 28),
            prefixes=carrier.prefixes,
            now=NOON,
        )
    return container


@pytest.fixture
def registry(database_url: str, tmp_path: Path) -> Iterator[Container]:
    container = _container(database_url, tmp_path)
    yield container
    container.close()


@pytest.fixture(scope="module")
def world() -> DemoWorld:
    return generate_world(seed=7, numbers=400, today=TODAY)


def table_digest(container: Container) -> str:
    """A hash of the ordered contents of the registry tables (ids, clock ticks, source left out)."""
    digest = hashlib.sha256()
    orders = {
        number_states: [number_states.c.phone_number],
        tenures: [tenures.c.phone_number, tenures.c.ordinal],
        lifecycle_events: [lifecycle_events.c.carrier, lifecycle_events.c.event_id],
    }
    with container.engine.connect() as conn:
        for table, order in orders.items():
            columns = [c for c in table.c if c.name not in ("id", "seq", "source")]
            for row in conn.execute(select(*columns).order_by(*order)):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def count(container: Container, table: object) -> int:
    with container.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        writer.writerows(rows)
    return path


def row(
    eid: str, kind: str, day: str, holder: str = "", *, number: str = NUMBER, to: str = ""
) -> list[str]:
    return [eid, number, kind, day, "CMCC", "CN_RESIDENT" if holder else "", holder, to]


def recycled(container: Container, number: str, day: str) -> Recycled:
    container.load_index()
    return container.checks.check(number, date.fromisoformat(day), client_id="test").answer.recycled


def test_a_world_imports_the_same_from_csv_and_ndjson(
    world: DemoWorld, tmp_path: Path, database_url: str
) -> None:
    csv_file, ndjson_file = tmp_path / "world.csv", tmp_path / "world.ndjson"
    write_events_csv(world.events, csv_file)
    write_events_ndjson(world.events, ndjson_file)
    from_csv = _container(database_url, tmp_path)
    try:
        report = import_file(csv_file, from_csv.registry, chunk_size=150)
        assert (report.format, report.rows, report.accepted, report.rejected) == (
            "csv",
            len(world.events),
            len(world.events),
            0,
        )
        csv_state = table_digest(from_csv)
        for name, example in world.examples.items():
            answer = recycled(from_csv, example.phone_number, example.specified_date.isoformat())
            assert answer is (Recycled.YES if example.expected else Recycled.NO), name
    finally:
        from_csv.close()
    second = _container(f"sqlite:///{tmp_path}/ndjson.db", tmp_path)
    try:
        report = import_file(ndjson_file, second.registry, chunk_size=10_000)
        assert (report.format, report.accepted) == ("ndjson", len(world.events))
        assert table_digest(second) == csv_state
    finally:
        second.close()


@pytest.mark.parametrize("name", ["events-sample.csv", "events-sample.ndjson"])
def test_the_repository_sample_files_import_cleanly(
    name: str, registry: Container, tmp_path: Path
) -> None:
    sample = EXAMPLES / name
    if not sample.exists():
        pytest.skip(f"examples/{name} is not in this checkout")
    report = import_file(sample, registry.registry, reject_path=tmp_path / "rejects.csv")
    assert report.rows > 0
    assert report.rejected == 0, (tmp_path / "rejects.csv").read_text()[:2000]
    assert report.accepted == report.rows


def test_bad_rows_go_to_the_reject_file_with_their_line_and_good_rows_apply(
    registry: Container, tmp_path: Path
) -> None:
    source = tmp_path / "mixed.csv"
    lines = [
        ",".join(CSV_COLUMNS),
        ",".join(row("a1", "ASSIGNED", "2023-10-09", ID_A)),  # line 2
        "",  # line 3: blank lines are skipped, yet counted
        ",".join(row("bad-date", "ASSIGNED", "2023-13-09", ID_A, number="+8613900139000")),  # 4
        "too,few,columns",  # 5
        ",".join(row("a2", "CANCELLED", "2024-02-25")),  # 6
        ",".join(row("too-soon", "ASSIGNED", "2024-03-01", ID_B)),  # 7: inside the freeze
        ",".join(
            row("bad-id", "ASSIGNED", "2023-10-09", "110105194912310021", number="+8613900139001")
        ),  # 8
        ",".join(row("b1", "ASSIGNED", "2024-09-21", ID_B)),  # 9
    ]
    source.write_text("\n".join(lines) + "\n")
    report = import_file(source, registry.registry)
    assert (report.rows, report.accepted, report.duplicates, report.rejected) == (7, 3, 0, 4)
    assert report.reject_file == tmp_path / "mixed.rejects.csv"
    with report.reject_file.open() as handle:
        rejects = list(csv.DictReader(handle))
    assert [(r["line"], r["eventId"], r["reason"]) for r in rejects] == [
        ("4", "bad-date", "INVALID_DATE"),
        ("5", "", "INVALID_ROW"),
        ("7", "too-soon", "AGING_PERIOD_NOT_OVER"),
        ("8", "bad-id", "INVALID_ID_NUMBER"),
    ]
    assert all(r["message"] for r in rejects)
    assert count(registry, lifecycle_events) == 3
    assert recycled(registry, NUMBER, "2023-12-22") is Recycled.YES


def test_a_reject_file_path_can_be_given(registry: Container, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "one.csv", [row("x", "EXPLODED", "2024-01-01")])
    target = tmp_path / "elsewhere" / "bad.csv"
    target.parent.mkdir()
    report = import_file(source, registry.registry, reject_path=target)
    assert report.reject_file == target
    assert target.read_text().splitlines()[1].startswith("2,x,INVALID_TYPE,")
    assert not (tmp_path / "one.rejects.csv").exists()


def test_events_out_of_date_order_in_the_file_apply_in_date_order_per_number(
    registry: Container, tmp_path: Path
) -> None:
    other = "+8613900139000"
    source = write_csv(
        tmp_path / "shuffled.csv",
        [
            row("b1", "ASSIGNED", "2024-09-21", ID_B),
            row("o2", "CANCELLED", "2024-05-01", number=other),
            row("a2", "CANCELLED", "2024-02-25"),
            row("o1", "ASSIGNED", "2023-01-05", ID_B, number=other),
            row("a1", "ASSIGNED", "2023-10-09", ID_A),
        ],
    )
    report = import_file(source, registry.registry)
    assert (report.accepted, report.rejected) == (5, 0)
    assert [t["start"] for t in registry.store.tenures_of(NUMBER)] == [
        date(2023, 10, 9),
        date(2024, 9, 21),
    ]
    assert recycled(registry, NUMBER, "2023-12-22") is Recycled.YES
    assert recycled(registry, other, "2024-01-01") is Recycled.YES


def test_importing_the_same_file_twice_changes_nothing(
    world: DemoWorld, registry: Container, tmp_path: Path
) -> None:
    source = tmp_path / "world.csv"
    write_events_csv(world.events, source)
    first = import_file(source, registry.registry, chunk_size=100)
    before = table_digest(registry)
    again = import_file(source, registry.registry, chunk_size=100)
    assert first.accepted == len(world.events)
    assert (again.rows, again.accepted, again.duplicates, again.rejected) == (
        len(world.events),
        0,
        len(world.events),
        0,
    )
    assert table_digest(registry) == before


def test_worker_processes_give_the_same_result_as_one_process(
    world: DemoWorld, tmp_path: Path
) -> None:
    source = tmp_path / "world.csv"
    write_events_csv(world.events, source)
    with source.open("a") as out:
        out.write("broken\n")
    digests, reports = [], []
    for workers in (0, 2):
        container = _container(f"sqlite:///{tmp_path}/w{workers}.db", tmp_path)
        try:
            report = import_file(
                source, container.registry, workers=workers, run_size=97, chunk_size=64
            )
            reports.append((report.rows, report.accepted, report.rejected))
            digests.append(table_digest(container))
        finally:
            container.close()
    assert reports[0] == reports[1] == (len(world.events) + 1, len(world.events), 1)
    assert digests[0] == digests[1]


def test_no_raw_id_number_reaches_the_disk(world: DemoWorld, tmp_path: Path) -> None:
    source = tmp_path / "world.ndjson"
    write_events_ndjson(world.events, source)
    raw_ids = {e["holder"]["idNumber"] for e in world.events if "holder" in e}
    spill = tmp_path / "spill"
    spill.mkdir()
    seen: dict[str, bytes] = {}

    def look_at_temp_files(phase: str, done: int, total: int) -> None:
        if phase == "apply":
            for folder, _, files in os.walk(spill):
                for name in files:
                    seen[name] = Path(folder, name).read_bytes()

    db = tmp_path / "private.db"
    container = _container(f"sqlite:///{db}", tmp_path)
    try:
        report = import_file(
            source,
            container.registry,
            run_size=300,
            progress=look_at_temp_files,
            temp_dir=spill,
            workers=0,
        )
        container.audit.flush()
    finally:
        container.close()
    assert report.accepted == len(world.events)
    assert len(seen) >= 2  # several sorted runs were spilled
    assert not any(spill.iterdir())  # and removed afterwards
    stored = b"".join(
        Path(tmp_path, n).read_bytes() for n in os.listdir(tmp_path) if n.startswith("private.db")
    )
    for blob in [stored, *seen.values()]:
        for raw in raw_ids:
            assert raw.encode() not in blob


def test_ndjson_is_recognised_by_its_first_character(registry: Container, tmp_path: Path) -> None:
    source = tmp_path / "events.txt"
    record = {
        "eventId": "a1",
        "phoneNumber": NUMBER,
        "type": "ASSIGNED",
        "effectiveDate": "2023-10-09",
        "carrier": "CMCC",
        "holder": {"idType": "CN_RESIDENT", "idNumber": ID_A},
    }
    source.write_text("\n" + json.dumps(record) + "\n[1, 2]\nnot json\n")
    report = import_file(source, registry.registry)
    assert (report.format, report.rows, report.accepted, report.rejected) == ("ndjson", 3, 1, 2)
    assert report.reject_file is not None
    with report.reject_file.open() as handle:
        reasons = [r["reason"] for r in csv.DictReader(handle)]
    assert reasons == ["INVALID_FIELD", "INVALID_JSON"]


def test_a_wrong_header_is_refused_before_anything_changes(
    registry: Container, tmp_path: Path
) -> None:
    source = tmp_path / "wrong.csv"
    source.write_text("phone,type\n" + ",".join(row("a1", "ASSIGNED", "2023-10-09", ID_A)) + "\n")
    with pytest.raises(InvalidInput) as caught:
        import_file(source, registry.registry)
    assert caught.value.code == "INVALID_ARGUMENT"
    assert "eventId,phoneNumber" in caught.value.message
    assert count(registry, lifecycle_events) == 0
    assert not (tmp_path / "wrong.rejects.csv").exists()


def test_a_carrier_restricted_import_rejects_other_carriers(
    registry: Container, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "cmcc.csv", [row("a1", "ASSIGNED", "2023-10-09", ID_A)])
    report: ImportReport = import_file(source, registry.registry, allowed_carrier="CUCC")
    assert (report.accepted, report.rejected) == (0, 1)
    assert report.reject_file is not None
    assert "CARRIER_NOT_ALLOWED" in report.reject_file.read_text()


def test_progress_reports_bytes_then_rows(
    registry: Container, world: DemoWorld, tmp_path: Path
) -> None:
    source = tmp_path / "world.csv"
    write_events_csv(world.events, source)
    calls: list[tuple[str, int, int]] = []
    import_file(source, registry.registry, chunk_size=200, progress=lambda *a: calls.append(a))
    reads = [c for c in calls if c[0] == "read"]
    applies = [c for c in calls if c[0] == "apply"]
    assert reads[-1][1] == reads[-1][2] == source.stat().st_size
    assert applies[0][1] == 0
    assert applies[-1][1] == applies[-1][2] == len(world.events)
    assert [c[0] for c in calls] == ["read"] * len(reads) + ["apply"] * len(applies)


def _loose(fields: list[str]) -> list[str]:
    """The same event as the row *fields*, written as a careless carrier might."""
    event_id, number, kind, day, carrier, id_type, id_number, to_carrier = fields
    if number.startswith("+86"):
        number = f" {number[3:6]} {number[6:10]} {number[10:]}"
    if id_number:
        id_number = f"{id_number[:6]}-{id_number[6:].lower()}"
    return [
        f" {event_id} ",
        number,
        kind.lower(),
        f" {day}",
        carrier.lower(),
        id_type,
        id_number,
        to_carrier.lower(),
    ]


def test_canonical_and_loosely_written_lines_import_the_same(
    world: DemoWorld, tmp_path: Path
) -> None:
    canonical = tmp_path / "canonical.csv"
    write_events_csv(world.events, canonical)
    with canonical.open(newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    bad = [
        row("bad-number", "ASSIGNED", "2024-01-01", ID_A, number="+8612345678901"),
        row("bad-day", "ASSIGNED", "2024-02-30", ID_A, number="+8613900139000"),
        row("bad-id", "ASSIGNED", "2024-01-01", "110105194912310021", number="+8613900139001"),
        row("no-holder", "TRANSFERRED", "2024-01-01", number="+8613900139002"),
    ]
    loose = tmp_path / "loose.csv"
    with loose.open("w", newline="") as out:
        out.write(",".join(CSV_COLUMNS) + "\n")
        writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
        writer.writerows(_loose(r) for r in rows + bad)
    write_csv(canonical, rows + bad)
    outcomes, digests = [], []
    for source in (canonical, loose):
        container = _container(f"sqlite:///{tmp_path}/{source.stem}.db", tmp_path)
        try:
            report = import_file(source, container.registry, workers=0)
            assert report.reject_file is not None
            with report.reject_file.open() as handle:
                reasons = [(r["line"], r["reason"], r["message"]) for r in csv.DictReader(handle)]
            outcomes.append((report.accepted, report.rejected, reasons))
            digests.append(table_digest(container))
        finally:
            container.close()
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == len(world.events)
    assert [r[1] for r in outcomes[0][2]] == [
        "INVALID_PHONE_NUMBER",
        "INVALID_DATE",
        "INVALID_ID_NUMBER",
        "HOLDER_REQUIRED",
    ]
    assert digests[0] == digests[1]
