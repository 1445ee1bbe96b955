"""Personal data planted in the inputs never comes out, and a forgotten customer is gone.

A small simulated mall's customers file gets the columns a real CRM export carries (names,
e-mails, phones, card numbers passing the Luhn check, street addresses, free-text notes),
plus one rejected row. It goes through ingest -> segment -> insights -> export -> report ->
forget as the real ``mallseg`` in subprocesses (pseudonyms on, the default); then the raw
bytes of every file of the workspace folder, every export and the report are searched for
the forgotten customer's raw id and pseudonym and for the planted strings.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from mallseg.core.pseudonyms import load_key
from mallseg.privacy import find_in_folder
from mallseg.privacy.scan import find_in_bytes


def _mallseg(workspace: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "mallseg", "--workspace", str(workspace), *args],
                          capture_output=True, text=True, timeout=300, cwd=workspace.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def _luhn_card(n: int) -> str:
    """A 16-digit number passing the Luhn check."""
    body = f"4539{n:011d}"
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


MARKERS = ["Zelda", "Quimby", "@example.org", "+44 7700", "Wisteria Lane", "parking refund"]
"""A part shared by every planted value of each column but the card numbers."""
_CARD = re.compile(rb"4539\d{12}")


def _planted_strings(folder: Path, cards: set[str]) -> dict[str, list[str]]:
    """Files holding a planted marker or one of the planted card numbers (in one pass)."""
    hits = find_in_folder(folder, MARKERS)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        found = {m.group().decode() for m in _CARD.finditer(path.read_bytes())} & cards
        for card in found:
            hits.setdefault(card, []).append(str(path.relative_to(folder)))
    return hits


def _planted(i: int) -> dict[str, str]:
    return {
        "full_name": f"Zelda Quimby{i:04d}",
        "email": f"zelda.quimby{i:04d}@example.org",
        "mobile_phone": f"+44 7700 9{i:05d}",
        "card_number": _luhn_card(i),
        "street_address": f"{i + 1} Wisteria Lane Flat {i:04d}",
        "notes": f"called about parking refund ticket QX{i:05d}, very upset",
    }


@pytest.fixture(scope="module")
def mall(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("pii")
    ws = folder / "ws"
    _mallseg(ws, "simulate", "--customers", "300", "--days", "60", "--seed", "11",
             "--out", str(folder / "sim"))
    inputs = folder / "in"
    inputs.mkdir()
    for table in ("stores", "campaigns", "visits", "transactions", "exposures"):
        (inputs / table).symlink_to(folder / "sim" / "inputs" / table)
    customers = pd.read_parquet(folder / "sim" / "inputs" / "customers")
    planted = pd.DataFrame([_planted(i) for i in range(len(customers))])
    customers = pd.concat([customers.reset_index(drop=True), planted], axis=1)
    rejected = customers.iloc[[0]].copy()
    rejected["customer_id"] = "REJECTED-ROW-1"
    rejected["age"] = 150
    customers = pd.concat([customers, rejected], ignore_index=True)
    customers.to_csv(inputs / "customers.csv", index=False)
    out = _mallseg(ws, "ingest", "all", str(inputs))
    _mallseg(ws, "segment", "--algorithm", "kmeans", "--k", "4", "--lens", "behavioural")
    _mallseg(ws, "loyalty")
    _mallseg(ws, "export", "segments", "--out", str(ws / "exports" / "segments.parquet"))
    _mallseg(ws, "export", "segments", "--out", str(ws / "exports" / "segments.csv"))
    _mallseg(ws, "report", "--out", str(ws / "exports" / "report.html"))
    key = load_key(ws)
    assert key is not None
    raw = str(customers["customer_id"].iloc[1])
    return {"folder": folder, "ws": ws, "raw": raw, "pseudonym": key.pseudonym(raw),
            "cards": set(planted["card_number"]), "ingest": out}


def test_planted_personal_data_is_set_aside_and_found_nowhere(mall) -> None:
    ws = mall["ws"]
    assert isinstance(ws, Path)
    out = str(mall["ingest"])
    for column in ("full_name", "email", "mobile_phone", "card_number", "street_address",
                   "notes"):
        assert column in out
    assert _planted_strings(ws, mall["cards"]) == {}  # type: ignore[arg-type]
    with duckdb.connect(str(ws / "mallseg.duckdb"), read_only=True) as con:
        rejected = con.execute("SELECT raw_record FROM quarantine WHERE table_name = "
                               "'customers'").fetchall()
    assert len(rejected) == 1
    assert not find_in_bytes(str(rejected[0][0]).encode(), ["Zelda", "@example.org",
                                                             "REJECTED-ROW-1"])


def test_forgetting_a_customer_leaves_no_byte_of_them(mall) -> None:
    ws, raw, pseudonym = mall["ws"], str(mall["raw"]), str(mall["pseudonym"])
    assert isinstance(ws, Path)
    before = find_in_folder(ws, [pseudonym, raw])
    assert raw not in before  # pseudonymised from the start
    assert "exports/segments.csv" in before[pseudonym]  # the scan does see them
    out = _mallseg(ws, "forget", raw)
    assert "Erased:" in out and "A tombstone keeps them out" in out
    assert find_in_folder(ws, [pseudonym, raw]) == {}
    # the exports and report written again hold neither them nor any planted string
    _mallseg(ws, "export", "segments", "--out", str(ws / "exports" / "after.csv"))
    _mallseg(ws, "report", "--out", str(ws / "exports" / "after.html"))
    assert find_in_folder(ws, [pseudonym, raw]) == {}
    assert _planted_strings(ws, mall["cards"]) == {}  # type: ignore[arg-type]
    # loading the same files again does not bring them back, and says so
    again = _mallseg(ws, "ingest", "customers", str(Path(str(mall["folder"])) / "in"
                                                     / "customers.csv"), "--json")
    assert '"rows_erased": 1' in again
    assert find_in_folder(ws, [pseudonym, raw]) == {}
