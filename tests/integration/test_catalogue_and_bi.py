"""Issue 7: the data catalogue is published and describes every column of every published mart; the
README's BI route works - a DuckDB 1.4 client (what BI drivers bundle) and pyarrow read every mart."""

import json
import subprocess

import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.xdist_group("demo")


def test_the_catalogue_is_published_and_every_column_is_described(demo_home):
    docs = demo_home / "published" / "docs"
    assert (docs / "index.html").stat().st_size > 10_000
    manifest = json.loads((docs / "manifest.json").read_text())
    published = json.loads((demo_home / "published" / "manifest.json").read_text())["tables"]
    nodes = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    missing = [f"{table}.{column}" for table in published for column, spec in nodes[table]["columns"].items()
               if not spec.get("description", "").strip()]
    assert not missing, missing
    assert all(nodes[t]["description"].strip() for t in published)
    assert all(nodes[t]["config"]["contract"]["enforced"] for t in published)
    assert (demo_home / "published" / "quality" / "index.html").exists()


def test_a_duckdb_1_4_client_and_pyarrow_read_every_published_mart(demo_home, duckdb14_python):
    published = demo_home / "published"
    tables = json.loads((published / "manifest.json").read_text())["tables"]
    script = ("import duckdb, json, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
              "print(json.dumps({t: con.execute(f'select count(*) from \"{t}\"').fetchall()[0][0] "
              "for t in json.loads(sys.argv[2])}))")
    command = [str(duckdb14_python), "-c", script, str(published / "kpo.duckdb"), json.dumps(list(tables))]
    counts = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    assert json.loads(counts) == tables
    for table, rows in tables.items():
        assert pq.read_table(published / "parquet" / f"{table}.parquet").num_rows == rows
    parquet_script = ("import pyarrow.parquet as pq, sys, json; "
                      "print(json.dumps({p: pq.read_table(p).num_rows for p in sys.argv[1:]}))")
    files = [str(published / "parquet" / f"{t}.parquet") for t in tables]
    other = json.loads(subprocess.run([str(duckdb14_python), "-c", parquet_script, *files], capture_output=True,
                                      text=True, check=True).stdout)
    assert sorted(other.values()) == sorted(tables.values())
