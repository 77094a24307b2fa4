"""The library's tables as an ordered list of migrations. Append only: never edit a released one.

Each entry is ``(name, sql)``. A store knows a migration by its name (``Store.migrate`` applies
the ones it has not recorded), so never rename one. The API adds its own tables with its own
list (``api.migrations``). Tables whose columns mirror a Polars schema derive their columns from
``curate.records``.
"""

from __future__ import annotations

from curate.records import MESSAGE, RECORD_SCHEMA, REJECT_SCHEMA, duck_type, duckdb_columns


def _widen(column: str) -> str:
    """SQL that widens a first-schema messages column to ``MESSAGE``'s fields."""
    message = duck_type(MESSAGE)
    return (
        f"list_transform({column}, lambda m: struct_pack(role := m.role, content := m.content, "
        f"tool_calls := NULL, tool_call_id := NULL, name := NULL, extra := NULL))::{message}[] "
        f"AS {column}"
    )


MIGRATIONS: list[tuple[str, str]] = [
    (
        "datasets, records and rejects",
        f"""
        CREATE TABLE datasets (
            id VARCHAR PRIMARY KEY,
            name VARCHAR NOT NULL,
            path VARCHAR NOT NULL,
            content_sha256 VARCHAR NOT NULL,
            shape VARCHAR NOT NULL,
            file_type VARCHAR NOT NULL,
            n_rows BIGINT NOT NULL,
            n_records BIGINT NOT NULL,
            n_rejects BIGINT NOT NULL,
            reject_reasons JSON NOT NULL,
            owner VARCHAR,
            created_at TIMESTAMP NOT NULL
        );
        CREATE TABLE records (
            dataset_id VARCHAR NOT NULL, id VARCHAR, kind VARCHAR,
            prompt STRUCT(role VARCHAR, content VARCHAR)[],
            completion STRUCT(role VARCHAR, content VARCHAR)[],
            chosen STRUCT(role VARCHAR, content VARCHAR)[],
            rejected STRUCT(role VARCHAR, content VARCHAR)[],
            source_file VARCHAR, row BIGINT, line BIGINT, meta VARCHAR,
            PRIMARY KEY (dataset_id, id));
        CREATE TABLE rejects (dataset_id VARCHAR NOT NULL, {duckdb_columns(REJECT_SCHEMA)});
        """,
    ),
    (
        "caches: embeddings and generations",
        """
        CREATE TABLE embeddings (
            model VARCHAR NOT NULL,
            text_sha256 VARCHAR NOT NULL,
            vector FLOAT[] NOT NULL,
            PRIMARY KEY (model, text_sha256)
        );
        CREATE TABLE generations (
            key VARCHAR PRIMARY KEY,
            backend VARCHAR NOT NULL,
            model VARCHAR NOT NULL,
            adapter VARCHAR,
            request JSON NOT NULL,
            text VARCHAR NOT NULL,
            finish_reason VARCHAR,
            created_at TIMESTAMP NOT NULL
        );
        """,
    ),
    (
        "curation runs and findings",
        """
        CREATE TABLE curation_runs (
            id VARCHAR PRIMARY KEY,
            dataset_id VARCHAR,
            input VARCHAR NOT NULL,
            out_dir VARCHAR NOT NULL,
            config JSON NOT NULL,
            report JSON NOT NULL,
            created_at TIMESTAMP NOT NULL
        );
        CREATE TABLE findings (
            run_id VARCHAR NOT NULL,
            record_id VARCHAR NOT NULL,
            row BIGINT,
            "check" VARCHAR NOT NULL,
            severity VARCHAR NOT NULL,
            reason VARCHAR NOT NULL,
            evidence JSON,
            cluster_id VARCHAR
        );
        """,
    ),
    (
        "records v2: whole conversations, tool calls, KTO labels, tools",
        # the records table as RECORD_SCHEMA has it now; today's rows move over unchanged, their
        # messages widened with null tool fields. A later change freezes this SQL as a literal.
        f"""
        CREATE TABLE records_v2 (dataset_id VARCHAR NOT NULL, {duckdb_columns(RECORD_SCHEMA)},
                                 PRIMARY KEY (dataset_id, id));
        INSERT INTO records_v2
        SELECT dataset_id, id, kind,
               {_widen("prompt")}, {_widen("completion")}, {_widen("chosen")}, {_widen("rejected")},
               NULL, NULL, source_file, row, line, meta
        FROM records;
        DROP TABLE records;
        ALTER TABLE records_v2 RENAME TO records;
        """,
    ),
]
