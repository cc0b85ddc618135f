"""Reads Parquet files with another engine and prints what it saw, as JSON.

usage: read_parquet.py pyarrow|duckdb|spark FILE...

Each file gives {"rows": N, "tweet_ids": [...], "columns": {name: type}, "first": {...},
"p_positive": [...]} (the model mode's positive probability of each row, null where absent)
so the Rust tests can compare what pyarrow, DuckDB and Spark read with what
was written. Spark stands in for Athena and Glue, which read with Java too.
"""
import json
import sys


def with_pyarrow(path):
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    rows = table.to_pylist()
    return {
        "rows": table.num_rows,
        "tweet_ids": [r["tweet_id"] for r in rows],
        "p_positive": [r.get("sentiment_p_positive") for r in rows],
        "columns": {f.name: str(f.type) for f in table.schema},
        "first": {k: str(v) for k, v in rows[0].items()} if rows else None,
    }


def with_duckdb(path):
    import duckdb

    con = duckdb.connect()
    rel = con.sql(f"SELECT * FROM read_parquet('{path}')")
    cols = dict(zip(rel.columns, [str(t) for t in rel.types]))
    ids = [r[0] for r in con.sql(f"SELECT tweet_id FROM read_parquet('{path}')").fetchall()]
    probs = [r[0] for r in con.sql(f"SELECT sentiment_p_positive FROM read_parquet('{path}')").fetchall()]
    first = rel.limit(1).fetchall()
    return {
        "rows": len(ids),
        "tweet_ids": ids,
        "p_positive": probs,
        "columns": cols,
        "first": {k: str(v) for k, v in zip(rel.columns, first[0])} if first else None,
    }


def with_spark(paths):
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[1]")
        .appName("tickerpulse-parquet-check")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    out = {}
    for path in paths:
        df = spark.read.parquet(path)
        rows = df.collect()
        out[path] = {
            "rows": len(rows),
            "tweet_ids": [r["tweet_id"] for r in rows],
            "p_positive": [r["sentiment_p_positive"] for r in rows],
            "columns": {f.name: f.dataType.simpleString() for f in df.schema.fields},
            "first": {k: str(v) for k, v in rows[0].asDict().items()} if rows else None,
        }
    spark.stop()
    return out


def main():
    engine, paths = sys.argv[1], sys.argv[2:]
    if engine == "spark":
        result = with_spark(paths)
    else:
        read = {"pyarrow": with_pyarrow, "duckdb": with_duckdb}[engine]
        result = {p: read(p) for p in paths}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
