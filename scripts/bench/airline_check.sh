#!/usr/bin/env bash
# The acceptance measurement of issue 12, on 200 generated tau-bench-style airline conversations
# (tests/it/common/tau.rs, through examples/tau_corpus.rs), each written in raw and in messages form:
#   1. `convert` on both forms, with each built-in template: every record converts, and the rows are
#      identical apart from id/meta;
#   2. `validate` on the clean raw form: no error;
#   3. one defect planted per record in the raw form (cycling: unknown tool, missing required argument,
#      wrong argument type, arguments that are not JSON, an invented argument value) and the share of
#      records where `validate` reports that defect (its code at its path, and not already reported on
#      the clean record); target >= 95 %.
# Usage: scripts/bench/airline_check.sh   (env: N=200 SEED=1 DIR=target/airline_check TEMPLATES="qwen3 chatml harmony")
# Exit 0 when every check passes, 1 otherwise. Uses the debug build (no release build needed).
set -uo pipefail
cd "$(dirname "$0")/../.."
N=${N:-200}
SEED=${SEED:-1}
DIR=${DIR:-target/airline_check}
TEMPLATES=${TEMPLATES:-qwen3 chatml harmony}
cargo build --quiet --bin trajkit --example tau_corpus || exit 2
TARGET=${CARGO_TARGET_DIR:-target}
BIN=$TARGET/debug/trajkit
GEN=$TARGET/debug/examples/tau_corpus
mkdir -p "$DIR"
status=0
fail() { echo "FAIL: $*"; status=1; }

echo "== $N airline conversations (seed $SEED) in $DIR"
"$GEN" generate --domain airline --count "$N" --seed "$SEED" --out "$DIR" || exit 2

echo "== convert, raw and messages"
printf '%-8s %-9s %6s %10s %9s  %s\n' template form read converted rejected "warnings by code"
for t in $TEMPLATES; do
  for form in messages raw; do
    "$BIN" convert "$DIR/$form.jsonl" --template "$t" --date 2025-01-01 -q \
      --report "$DIR/$form.$t.report.json" -o "$DIR/$form.$t.rows.jsonl" 2>"$DIR/$form.$t.stderr"
    read -r read written rejected warnings < <(jq -r '[.read, .written, .rejected, (.warnings_by_code|tostring)] | @tsv' "$DIR/$form.$t.report.json")
    printf '%-8s %-9s %6s %10s %9s  %s\n' "$t" "$form" "$read" "$written" "$rejected" "$warnings"
    [ "$written" = "$N" ] || fail "$t $form: converted $written of $N"
  done
  "$GEN" same-rows "$DIR/messages.$t.rows.jsonl" "$DIR/raw.$t.rows.jsonl" | sed "s/^/$t: /" || fail "$t: rows differ between the forms"
  cmp -s <(jq -S 'del(.inputs, .output)' "$DIR/messages.$t.report.json") <(jq -S 'del(.inputs, .output)' "$DIR/raw.$t.report.json") \
    || fail "$t: the --report summaries differ between the forms"
done

echo "== validate, clean raw form"
"$BIN" validate "$DIR/raw.jsonl" --format json > "$DIR/clean.findings.jsonl" 2>/dev/null
jq -r '[.severity, .code] | @tsv' "$DIR/clean.findings.jsonl" | sort | uniq -c | sed 's/^/  /'
errors=$(jq -r 'select(.severity == "error") | .id' "$DIR/clean.findings.jsonl" | sort -u | wc -l)
echo "  records with an error: $errors of $N"
[ "$errors" = 0 ] || fail "validate reports errors on clean data"

echo "== validate, one planted defect per record"
"$GEN" plant "$DIR/raw.jsonl" "$DIR/planted.jsonl" "$DIR/planted.manifest.jsonl" --seed "$SEED" || exit 2
"$BIN" validate "$DIR/planted.jsonl" --format json > "$DIR/planted.findings.jsonl" 2>/dev/null
"$GEN" score "$DIR/planted.manifest.jsonl" "$DIR/planted.findings.jsonl" --clean "$DIR/clean.findings.jsonl" || fail "planted defects reported in < 95 % of records"

[ $status = 0 ] && echo "PASS" || echo "FAILED (see above)"
exit $status
