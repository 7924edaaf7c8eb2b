#!/bin/bash
# Every command's output on every fixture and ../shared input, one file each, for checking that a
# refactoring changes no output byte: run it before and after, then `diff -rq BEFORE AFTER`.
#
#   scripts/snapshot_outputs.sh target/debug/trajkit /tmp/before
#
# Covers validate (JSON), stats, pairs --synthesize all, convert --validate, eval (JSON and --details)
# and score, on fixtures/validate, fixtures/samples, the eval fixtures and the ../shared samples and
# real files (105 files). Used for #16.
set -u
BIN=$(realpath "$1"); OUT=$(realpath -m "$2"); mkdir -p "$OUT"; cd "$(dirname "$0")/.."
SHARED="../shared/samples/raw.jsonl ../shared/real/llama-factory/glaive_toolcall_en_demo.json \
../shared/real/llama-factory/glaive_toolcall_zh_demo.json ../shared/real/llama-factory/reason_tool_use_demo_50.jsonl \
../shared/real/functionary-tests/test_case.json ../shared/real/functionary-tests/test_case_v2.json"
for f in fixtures/validate/*.jsonl fixtures/samples/*.jsonl $SHARED; do
  b=$(echo "$f" | tr / _)
  "$BIN" validate "$f" --format json > "$OUT/validate_$b.json" 2>&1
  "$BIN" stats "$f" > "$OUT/stats_$b.txt" 2>&1
done
for f in fixtures/samples/raw.jsonl fixtures/samples/tau_airline.jsonl $SHARED; do
  b=$(echo "$f" | tr / _)
  "$BIN" pairs "$f" --synthesize all > "$OUT/pairs_$b.jsonl" 2> "$OUT/pairs_$b.err"
  "$BIN" convert "$f" --template qwen3 --validate > "$OUT/convert_$b.jsonl" 2> "$OUT/convert_$b.err"
done
for p in fixtures/eval/pred_*.jsonl; do
  b=$(basename "$p" .jsonl)
  "$BIN" eval --gold fixtures/eval/gold.jsonl --pred "$p" --format json > "$OUT/eval_$b.json" 2>&1
  "$BIN" eval --gold fixtures/eval/gold.jsonl --pred "$p" --details "$OUT/evaldetails_$b.jsonl" > /dev/null 2>&1
  "$BIN" score --gold fixtures/eval/gold.jsonl --template "${b#pred_}" "$p" > "$OUT/score_$b.jsonl" 2>&1
done
