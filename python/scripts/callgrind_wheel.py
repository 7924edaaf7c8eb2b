#!/usr/bin/env python3
"""The wheel's side of the one-core comparison, for valgrind's instruction counts (BENCHMARKS.md).

usage: valgrind --tool=callgrind python python/scripts/callgrind_wheel.py CORPUS.jsonl convert|start
`convert`: Converter(template="qwen3"), convert_texts in batches of 64, the row lines to /dev/null
(what `trajkit convert CORPUS --threads 1 -o /dev/null` does); `start`: the Converter only.
"""
import sys

import trajkit

corpus, what = sys.argv[1], sys.argv[2]
conv = trajkit.Converter(template="qwen3", date="2026-01-15", source=corpus)
if what == "convert":
    lines = open(corpus, encoding="utf-8").read().splitlines()
    with open("/dev/null", "w", encoding="utf-8") as sink:
        for at in range(0, len(lines), 64):
            done, _ = conv.convert_texts(lines[at:at + 64], range(at + 1, at + 65))
            for row_lines, rejects in done:
                assert not rejects
                for line in row_lines:
                    sink.write(line)
                    sink.write("\n")
