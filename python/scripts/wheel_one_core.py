#!/usr/bin/env python3
"""The wheel's side of the one-core comparison with the binary (BENCHMARKS.md): bench_datasets.py
times it under taskset, valgrind counts its instructions.

usage: python python/scripts/wheel_one_core.py CORPUS.jsonl lines|dicts|start
`lines`: Converter(template="qwen3"), convert_texts in batches of 64, the row lines to /dev/null (what
`trajkit convert CORPUS --threads 1 -o /dev/null` does); `dicts`: convert_batch, rows as Python
values; `start`: the Converter only. Prints {"seconds", "rows"}: the conversion's time, without the
interpreter's start and the tokenizer load.
"""
import json
import sys
import time

import trajkit

DATE = "2026-01-15"

corpus, how = sys.argv[1], sys.argv[2]
conv = trajkit.Converter(template="qwen3", date=DATE, source=corpus)
rows = 0
lines = open(corpus, encoding="utf-8").read().splitlines() if how != "start" else []
start = time.perf_counter()
if how != "start":
    with open("/dev/null", "w", encoding="utf-8") as sink:
        for at in range(0, len(lines), 64):
            if how == "lines":
                done, _ = conv.convert_texts(lines[at:at + 64], range(at + 1, at + 65))
                for row_lines, rejects in done:
                    assert not rejects
                    for line in row_lines:
                        sink.write(line)
                        sink.write("\n")
                        rows += 1
            else:
                out = conv.convert_batch({"text": lines[at:at + 64]}, range(at, at + 64))
                rows += len(out["id"])
print(json.dumps({"seconds": time.perf_counter() - start, "rows": rows}))
