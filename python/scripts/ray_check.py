#!/usr/bin/env python3
"""Ray Data gives the CLI's rows: read_json -> map_batches(Converter) -> write_parquet, on a local
Ray instance with 2 CPUs, compared with `trajkit convert` on the same file.

usage: python/scripts/ray_check.py [INPUT.jsonl ...]   (default: the golden cases and the samples)
Needs `pip install "ray[data]"` beside the trajkit package, and the built binary (target/release or
target/debug, or $TRAJKIT_BIN). Prints one line per input and exits 1 on any difference.

Three pipelines per input:
- read_text (records as written) and read_json(lines=True) (records parsed into columns) ->
  map_batches(convert_batch_lines) -> write_parquet: the Parquet file's `json` column must be the CLI's
  output, line for line, byte for byte;
- read_text -> map_batches(convert_batch, batch_format="pandas") -> write_parquet: the token columns,
  ids and tools must be the CLI's.
read_json differs from the CLI: its reader turns a field some records lack into floats (a record's
`"reviewed": true` comes back as 1.0, so the row's meta differs); the script reports it and does not
count it as a failure. Read records as text.
Records without an `id` would get ids from their line, which Ray does not hand over; the inputs here
all have ids.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import ray

import trajkit

ROOT = Path(__file__).resolve().parents[2]
DATE = "2026-01-15"


def binary():
    if os.environ.get("TRAJKIT_BIN"):
        return os.environ["TRAJKIT_BIN"]
    found = [p for p in (ROOT / "target/release/trajkit", ROOT / "target/debug/trajkit") if p.exists()]
    return str(max(found, key=lambda p: p.stat().st_mtime))


def cli_lines(path):
    out = subprocess.run([binary(), "convert", path, "--date", DATE, "-q"], capture_output=True, check=True)
    return out.stdout.decode().splitlines()


def read_parquet_dir(path):
    files = sorted(Path(path).glob("*.parquet"))
    tables = [pq.read_table(f) for f in files]
    return [row for t in tables for row in t.to_pylist()]


def check(path, tmp):
    want = cli_lines(path)
    conv = trajkit.Converter(date=DATE, source=path, on_error="column")
    ok = True

    for how, read in [("read_text", ray.data.read_text), ("read_json", lambda p: ray.data.read_json(p, lines=True))]:
        out = os.path.join(tmp, Path(path).stem + "_lines_" + how)
        ds = read(str(ROOT / path))
        ds.map_batches(conv.convert_batch_lines, batch_format="numpy", batch_size=16).write_parquet(out)
        rows = read_parquet_dir(out)
        got = [r["json"] for r in rows if not r[trajkit.REJECT_COLUMN]]
        rejects = [json.loads(r[trajkit.REJECT_COLUMN]) for r in rows if r[trajkit.REJECT_COLUMN]]
        same = got == want
        ok &= same or how == "read_json"
        print(f"{path}: {how} -> convert_batch_lines -> write_parquet: {len(got)} rows from Ray, {len(want)} "
              f"from the CLI, identical bytes: {same}; {len(rejects)} rejected "
              f"({', '.join(sorted(r['code'] for r in rejects)) or 'none'})")

    out = os.path.join(tmp, Path(path).stem + "_columns")
    ds = ray.data.read_text(str(ROOT / path))
    ds.map_batches(conv.convert_batch, batch_format="pandas", batch_size=16).write_parquet(out)
    rows = [r for r in read_parquet_dir(out) if not r[trajkit.REJECT_COLUMN]]
    expected = [json.loads(line) for line in want]
    columns = ["id", "input_ids", "assistant_masks", "labels", "tools"]
    same = len(rows) == len(expected) and all(
        [list(r[c]) if isinstance(r[c], list) else r[c] for c in columns] == [e[c] for c in columns]
        for r, e in zip(rows, expected))
    ok &= same
    print(f"{path}: read_text -> convert_batch (pandas) -> write_parquet: {len(rows)} rows, ids and token "
          f"columns identical: {same}")
    return ok


def main():
    inputs = sys.argv[1:] or ["fixtures/golden/cases.jsonl", "fixtures/golden/cases_harmony.jsonl",
                              "fixtures/samples/raw.jsonl"]
    os.chdir(ROOT)
    start = time.time()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True  # compare row for row
    ctx.enable_progress_bars = False
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for path in inputs:
            ok &= check(path, tmp)
    ray.shutdown()
    print(f"ray {ray.__version__}, trajkit {trajkit.__version__}: {'all identical' if ok else 'DIFFERENCES'} "
          f"({time.time() - start:.0f} s)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
