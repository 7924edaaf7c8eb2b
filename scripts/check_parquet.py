#!/usr/bin/env python3
"""Check that trajkit's Parquet output loads with Hugging Face `datasets` and holds the JSONL rows.

usage: check_parquet.py TRAIN.parquet TRAIN.jsonl
Both files come from the same `trajkit convert` run (once with -o x.parquet, once with -o x.jsonl).
Prints `OK: N rows` and exits 0, or names the first difference and exits 1.
"""
import json
import sys

from datasets import load_dataset


def main():
    parquet, jsonl = sys.argv[1], sys.argv[2]
    ds = load_dataset("parquet", data_files=parquet, split="train")
    with open(jsonl, encoding="utf-8") as f:
        want = [json.loads(line) for line in f if line.strip()]
    if len(ds) != len(want):
        sys.exit(f"{len(ds)} rows in {parquet}, {len(want)} in {jsonl}")
    features = ds.features
    for column, dtype in [("input_ids", "int32"), ("assistant_masks", "int8"), ("labels", "int32")]:
        feature = features[column]
        inner = getattr(feature, "feature", None) or feature[0]
        if getattr(inner, "dtype", None) != dtype:
            sys.exit(f"{column}: expected a list of {dtype}, got {feature}")
    for i, (got, row) in enumerate(zip(ds, want)):
        for column in ("id", "input_ids", "assistant_masks", "labels", "tools"):
            if got[column] != row[column]:
                sys.exit(f"row {i} ({row['id']}): {column} differs")
        if json.loads(got["messages"]) != row["messages"]:
            sys.exit(f"row {i} ({row['id']}): messages differ")
        if got["meta"] != row.get("meta"):
            sys.exit(f"row {i} ({row['id']}): meta differs")
        info = dict(got["trajkit"])
        if info != row["trajkit"]:
            sys.exit(f"row {i} ({row['id']}): trajkit differs: {info} != {row['trajkit']}")
    print(f"OK: {len(ds)} rows")


if __name__ == "__main__":
    main()
