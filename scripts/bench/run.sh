#!/usr/bin/env bash
# trajkit's benchmark, from a fresh clone, in one command:   scripts/bench/run.sh
#
# On the same generated data and the same cores it measures
#   (1) the naive limit: the tokenizers crate encoding every already-rendered text, with offsets, in
#       parallel (examples/naive_encode.rs over `convert --emit text` output; encode time only);
#   (2) trajkit convert end to end: JSONL in, JSONL out (to /dev/null); again with Parquet output
#       (to a file); again with --expand per-turn (JSONL to /dev/null);
#   (3) the Python path: transformers apply_chat_template(tokenize=True, return_dict=True,
#       return_assistant_tokens_mask=True) with a {% generation %}-marked Qwen3 template, with a
#       multiprocessing pool over the same cores (scripts/bench/python_path.py);
# on a realistic corpus (shared policies and tool sets) and on one with no shared text, and prints
# records/s, tokens/s (tokens of output), peak RSS and the ratios the targets are stated in.
# With BENCH_MEMORY=1 it also measures peak RSS on ~20 MB and ~2.5 GB of input (streaming).
#
# Environment: RECORDS (default 20000 per corpus), BENCH_DIR (default target/bench), THREADS
# (default: all cores), BENCH_PYTHON (a Python with transformers, tokenizers and jinja2; default: a
# virtual environment made in .venv-bench), PY_LIMIT (records for the Python path; default all),
# SKIP_PYTHON=1, BENCH_MEMORY=1. Results: $BENCH_DIR/results.jsonl and the table printed at the end.
# Other work on the machine skews every number: the load average is printed with each measurement.
set -euo pipefail
cd "$(dirname "$0")/../.."
RECORDS=${RECORDS:-20000}
DIR=${BENCH_DIR:-target/bench}
THREADS=${THREADS:-$(nproc)}
mkdir -p "$DIR"
RESULTS="$DIR/results.jsonl"
# BENCH_ONLY=REGEX runs only the measurements whose name matches, adding to the results.
[ -n "${BENCH_ONLY:-}" ] || : > "$RESULTS"

echo "== build (release)"
cargo build --release --quiet --bin trajkit --example naive_encode
BIN=$(pwd)/${CARGO_TARGET_DIR:-target}/release/trajkit
NAIVE=$(pwd)/${CARGO_TARGET_DIR:-target}/release/examples/naive_encode
case ${CARGO_TARGET_DIR:-} in /*) BIN=$CARGO_TARGET_DIR/release/trajkit; NAIVE=$CARGO_TARGET_DIR/release/examples/naive_encode ;; esac

echo "== corpora: $RECORDS records each in $DIR"
if [ ! -s "$DIR/realistic.jsonl" ] || [ "$(wc -l < "$DIR/realistic.jsonl")" -ne "$RECORDS" ]; then
  python3 scripts/bench/make_corpus.py "$DIR" --records "$RECORDS"
fi

if [ -z "${SKIP_PYTHON:-}" ] && [ -z "${BENCH_PYTHON:-}" ]; then
  if [ ! -x .venv-bench/bin/python ]; then
    echo "== Python environment (.venv-bench: transformers, tokenizers, jinja2)"
    python3 -m venv .venv-bench
    .venv-bench/bin/pip install --quiet --upgrade pip
    .venv-bench/bin/pip install --quiet transformers tokenizers jinja2
  fi
  BENCH_PYTHON=.venv-bench/bin/python
fi

# measure NAME RECORDS TOKENS_FROM -- COMMAND...: wall time and peak RSS of COMMAND (GNU time).
# TOKENS_FROM is a number; "report" for the tokens_written of $BENCH_DIR/report.json (convert
# --report); or "json" when the command prints a JSON line with "tokens" (and "seconds", which then
# replaces the wall time: the naive limit times its encode only).
measure() {
  local name=$1 records=$2 tokens=$3; shift 4
  if [ -n "${BENCH_ONLY:-}" ] && ! [[ $name =~ $BENCH_ONLY ]]; then return; fi
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  /usr/bin/time -v -o "$DIR/time.txt" "$@" > "$DIR/stdout.txt" 2> "$DIR/stderr.txt" || {
    echo "FAILED: $name"; tail -5 "$DIR/stderr.txt"; exit 1; }
  python3 - "$name" "$records" "$tokens" "$load" "$DIR" "$THREADS" >> "$RESULTS" <<'PY'
import json, sys
name, records, tokens, load, d, threads = sys.argv[1:]
t = open(f"{d}/time.txt").read().splitlines()
get = lambda key: next(l.split(": ", 1)[1] for l in t if l.strip().startswith(key))
wall = get("Elapsed (wall clock) time")
parts = [float(p) for p in wall.split(":")]
seconds = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
rss_mb = int(get("Maximum resident set size")) / 1024
cpu = float(get("User time (seconds)")) + float(get("System time (seconds)"))
if tokens == "report":
    tokens = json.load(open(f"{d}/report.json"))["tokens_written"]
if tokens == "json":
    out = json.loads(open(f"{d}/stdout.txt").read().strip().splitlines()[-1])
    tokens, seconds = out["tokens"], out["seconds"]
    records = out.get("records", out.get("texts", records))
row = {"name": name, "records": int(records), "tokens": int(tokens), "seconds": round(seconds, 2),
       "records_per_s": round(int(records) / seconds, 1), "tokens_per_s": round(int(tokens) / seconds),
       "peak_rss_mb": round(rss_mb), "cpu_seconds": round(cpu, 1), "load_before": float(load),
       "threads": int(threads)}
print(json.dumps(row))
print(f"  {name:34} {row['records_per_s']:>9.1f} rec/s {row['tokens_per_s']/1e6:>8.2f} Mtok/s "
      f"{row['seconds']:>8.1f} s  {row['peak_rss_mb']:>6} MB  (load {load})", file=sys.stderr)
PY
}

for corpus in realistic unshared; do
  IN="$DIR/$corpus.jsonl"
  n=$(wc -l < "$IN")
  echo "== $corpus ($n records, $(du -h "$IN" | cut -f1), $THREADS threads, $(date -u +%FT%TZ))"
  if [ -z "${BENCH_ONLY:-}" ] || [[ "$corpus naive_limit" =~ $BENCH_ONLY ]]; then
    "$BIN" convert "$IN" -q --emit text --threads "$THREADS" -o "$DIR/$corpus.text.jsonl"
    RAYON_NUM_THREADS=$THREADS measure "$corpus naive_limit" "$n" json -- "$NAIVE" "$DIR/$corpus.text.jsonl" qwen3
    rm -f "$DIR/$corpus.text.jsonl"
  fi
  # JSON lines go to /dev/null: per-turn output is ~15x the input (12 GB for 20,000 records).
  measure "$corpus convert_jsonl" "$n" report -- sh -c "'$BIN' convert '$IN' -q --threads $THREADS --report '$DIR/report.json' > /dev/null"
  measure "$corpus convert_parquet" "$n" report -- "$BIN" convert "$IN" -q --threads "$THREADS" -o "$DIR/out.parquet" --report "$DIR/report.json"
  rm -f "$DIR/out.parquet"
  if [ "$corpus" = realistic ]; then
    measure "$corpus convert_per_turn" "$n" report -- sh -c "'$BIN' convert '$IN' -q --threads $THREADS --expand per-turn --report '$DIR/report.json' > /dev/null"
  fi
  if [ -n "${BENCH_PYTHON:-}" ]; then
    limit=${PY_LIMIT:+--limit $PY_LIMIT}
    # shellcheck disable=SC2086
    measure "$corpus python_path" "$n" json -- "$BENCH_PYTHON" scripts/bench/python_path.py "$IN" --procs "$THREADS" $limit
  fi
done

if [ -n "${BENCH_MEMORY:-}" ]; then
  echo "== streaming: peak RSS on ~20 MB and ~2.5 GB of input (output to /dev/null)"
  head -c 20000000 "$DIR/realistic.jsonl" | head -n -1 > "$DIR/small.jsonl"
  measure "memory 20MB input" "$(wc -l < "$DIR/small.jsonl")" 0 -- sh -c "$BIN convert $DIR/small.jsonl -q --threads $THREADS > /dev/null"
  big="$DIR/realistic.jsonl $DIR/realistic.jsonl $DIR/realistic.jsonl"
  measure "memory 2.5GB input" "$((3 * RECORDS))" 0 -- sh -c "$BIN convert $big -q --threads $THREADS > /dev/null"
  rm -f "$DIR/small.jsonl"
fi

echo "== ratios (tokens of output per second; targets in parentheses)"
python3 - "$RESULTS" <<'PY'
import json, sys
rows = {r["name"]: r for r in map(json.loads, open(sys.argv[1]))}
def ratio(a, b, key="tokens_per_s"):
    return rows[a][key] / rows[b][key] if a in rows and b in rows else float("nan")
print(f"realistic: convert / naive limit      {ratio('realistic convert_jsonl', 'realistic naive_limit'):6.2f}x  (>= 3)")
print(f"realistic: convert / Python path      {ratio('realistic convert_jsonl', 'realistic python_path'):6.2f}x  (>= 3)")
print(f"realistic: parquet / naive limit      {ratio('realistic convert_parquet', 'realistic naive_limit'):6.2f}x")
print(f"realistic: per-turn wall / conv. wall {ratio('realistic convert_per_turn', 'realistic convert_jsonl', 'seconds'):6.2f}x  (<= 1.5)")
print(f"unshared:  convert / naive limit      {ratio('unshared convert_jsonl', 'unshared naive_limit'):6.2f}x  (>= 0.8)")
print(f"unshared:  convert / Python path      {ratio('unshared convert_jsonl', 'unshared python_path'):6.2f}x")
if "memory 20MB input" in rows:
    a, b = rows["memory 20MB input"]["peak_rss_mb"], rows["memory 2.5GB input"]["peak_rss_mb"]
    print(f"streaming: peak RSS 20 MB input {a} MB, 2.5 GB input {b} MB (difference {b - a} MB; <= 64)")
PY
echo "results: $RESULTS"
