"""The DuckDB store: migrations, idempotent ingest, frames in and out, TRL writers."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from api.migrations import MIGRATIONS as API_MIGRATIONS
from api.migrations import open_store
from curate import Store, ingest, read_dataset, write_records
from curate.records import RECORD_SCHEMA
from curate.store.migrations import MIGRATIONS

API_TABLES = {"api_keys", "jobs", "job_events", "idempotency_keys"}


def _data(tmp_path: Path) -> Path:
    path = tmp_path / "d.jsonl"
    rows = [{"instruction": f"q{i}", "input": "", "output": f"a{i}"} for i in range(20)]
    rows.append({"instruction": "", "output": "no prompt"})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_migrations_apply_once_in_order(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with Store(db) as s:
        assert s.migrate() == len(MIGRATIONS)
    with Store(db) as s:  # reopening applies nothing twice
        versions = s.con.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()
    assert [v for (v,) in versions] == list(range(1, len(MIGRATIONS) + 1))


def _tables(store: Store) -> set[str]:
    return {t for (t,) in store.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def _migrations(store: Store) -> list[tuple[int, str]]:
    return store.con.execute("SELECT version, name FROM schema_migrations ORDER BY 1").fetchall()


def test_only_the_api_store_has_the_api_tables(tmp_path: Path) -> None:
    with Store(tmp_path / "library.duckdb") as s:
        assert "datasets" in _tables(s) and not API_TABLES & _tables(s)
    s = open_store(tmp_path / "api.duckdb")
    try:
        assert _tables(s) >= API_TABLES
        assert [n for _, n in _migrations(s)] == [n for n, _ in [*MIGRATIONS, *API_MIGRATIONS]]
    finally:
        s.close()


def test_a_store_migrated_by_version_still_opens_and_migrates(tmp_path: Path) -> None:
    # the way stores were migrated when the API's tables were entry 4 of the library's list
    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    con.execute(
        "CREATE TABLE schema_migrations "
        "(version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)"
    )
    first_three = MIGRATIONS[:3]  # the library's list when the API's tables were entry 4
    for version, (name, sql) in enumerate([*first_three, *API_MIGRATIONS], start=1):
        con.execute(sql)
        con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [version, name])
    con.execute("INSERT INTO api_keys VALUES ('k1', 'ci', 'sha', now(), NULL)")
    con.close()
    before = [(4, API_MIGRATIONS[0][0]), (5, MIGRATIONS[3][0])]

    s = open_store(db)  # nothing is applied twice; the library's later entries come after
    try:
        assert _migrations(s)[3:] == before
        assert s.con.execute("SELECT id FROM api_keys").fetchall() == [("k1",)]
    finally:
        s.close()
    # a library migration added later gets the next version, whatever version 4 was
    later = ("test: a table added later", "CREATE TABLE later (x INTEGER)")
    n = len(MIGRATIONS)
    with Store(db) as s:
        assert s.migrate([*MIGRATIONS, later]) == n + 2
        assert _migrations(s)[3:] == [*before, (n + 2, later[0])]
    with Store(tmp_path / "new.duckdb") as s:  # and on a library store, the version after n
        assert s.migrate([*MIGRATIONS, later]) == n + 1
        assert "later" in _tables(s) and not API_TABLES & _tables(s)


def test_ingest_is_idempotent_and_round_trips(tmp_path: Path, store: Store) -> None:
    path = _data(tmp_path)
    first = ingest(path, store=store)
    again = ingest(path, store=store, name="another-name")
    assert again.id == first.id and again.name == first.name
    assert (first.n_rows, first.n_records, first.n_rejects) == (21, 20, 1)
    assert first.reject_reasons == {"empty_prompt": 1}
    n = store.con.execute(
        "SELECT count(*) FROM records WHERE dataset_id = ?", [first.id]
    ).fetchone()
    assert n == (20,)
    frame = store.records(first.id)
    assert frame.schema == RECORD_SCHEMA
    assert frame.equals(read_dataset(path).records)
    assert store.rejects(first.id)["row"].to_list() == [20]
    assert store.get_dataset(first.name).id == first.id
    store.delete_dataset(first.id)
    assert store.find_dataset(first.id) is None


def test_store_file_is_a_real_duckdb_database(tmp_path: Path) -> None:
    db = tmp_path / "real.duckdb"
    with Store(db) as s:
        ingest(_data(tmp_path), store=s)
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT n_records FROM datasets").fetchall() == [(20,)]
    con.close()


def test_home_env_moves_the_store(home: Path, tmp_path: Path) -> None:
    info = ingest(_data(tmp_path))
    assert (home / "tunesmith.duckdb").exists()
    with Store() as s:
        assert s.get_dataset(info.id).n_records == 20


def test_trl_writers_load_with_datasets(tmp_path: Path, shared_data: Path) -> None:
    from datasets import load_dataset

    sft = read_dataset(shared_data / "alpaca_en_demo.json").records.head(10)
    pref = read_dataset(shared_data / "dpo_en_demo.json").records.head(10)
    write_records(sft, tmp_path / "sft.parquet")
    write_records(pref, tmp_path / "pref.jsonl")
    ds = load_dataset("parquet", data_files=str(tmp_path / "sft.parquet"), split="train")
    assert {"prompt", "completion"} <= set(ds.column_names)
    assert ds[0]["completion"][0]["role"] == "assistant"
    dp = load_dataset("json", data_files=str(tmp_path / "pref.jsonl"), split="train")
    assert {"prompt", "chosen", "rejected"} <= set(dp.column_names)
    # our own output reads back as the same records
    back = read_dataset(tmp_path / "sft.parquet").records
    assert back["id"].to_list() == sft["id"].to_list()
