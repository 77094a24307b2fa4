"""``tunesmith curate``: outputs on disk, the summary, ``--json``, config files and exit codes."""

from __future__ import annotations

import json

import polars as pl
import pytest
from click.testing import CliRunner

from api.cli import cli, main


@pytest.fixture()
def small_file(shared_data, tmp_path):
    rows = json.loads((shared_data / "alpaca_en_demo.json").read_text())[:200]
    rows += [rows[3], rows[7], {"instruction": 5}]  # two exact copies, one unreadable row
    path = tmp_path / "small.json"
    path.write_text(json.dumps(rows))
    return path


@pytest.fixture()
def config_file(tmp_path):
    path = tmp_path / "curate.toml"
    # The steps that embed are tested elsewhere; here only the cheap ones run.
    path.write_text(
        "[semantic]\nenabled = false\n[contradictions]\nenabled = false\n"
        "[diversity]\nenabled = false\n"
    )
    return path


def test_curate_writes_outputs_and_prints_a_summary(small_file, config_file, tmp_path, home):
    out = tmp_path / "out"
    args = ["curate", str(small_file), "--config", str(config_file), "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "rows 203: 1 rejected, 202 records -> 200 kept, 2 dropped" in result.output
    assert "dropped exact_duplicate: 2" in result.output
    for name in ("curated.parquet", "findings.parquet", "rejects.parquet", "report.json"):
        assert (out / name).is_file(), name
    report = json.loads((out / "report.json").read_text())
    assert report["n_kept"] + report["n_dropped"] + report["n_rejected"] == 203
    assert len(pl.read_parquet(out / "curated.parquet")) == report["n_kept"]
    assert pl.read_parquet(out / "rejects.parquet")["row"].to_list() == [202]


def test_curate_json_prints_the_report(small_file, config_file, tmp_path, home):
    args = [
        "curate",
        str(small_file),
        "--config",
        str(config_file),
        "--out",
        str(tmp_path / "o"),
        "--json",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["dropped_by_reason"]["exact_duplicate"] == 2
    assert report["config"]["semantic"]["enabled"] is False


def test_bad_config_and_unknown_dataset_exit_2(small_file, tmp_path, home, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"near": {"treshold": 0.5}}))
    with pytest.raises(SystemExit) as e:
        main(["curate", str(small_file), "--config", str(bad)])
    assert e.value.code == 2
    assert "near.treshold" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["curate", "no-such-dataset"])
    assert e.value.code == 2
    assert "neither a file nor a dataset" in capsys.readouterr().err
