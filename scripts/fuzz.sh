#!/usr/bin/env bash
# Fuzz the whole pipeline (bytes → records → ingest → render → tokenize → mask → JSON line) for
# SECONDS (default 60) with cargo-fuzz on one core. Not part of CI.
#
#   scripts/fuzz.sh 1800
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). cargo-fuzz uses nightly-only compiler flags
# (sanitizers, coverage instrumentation); on a stable toolchain RUSTC_BOOTSTRAP=1, set below, lets
# stable rustc accept them. The seed corpus is made from fixtures/samples and fixtures/golden/cases.jsonl
# on every run (one seed per record and per file, under several settings; the first byte of an input
# picks template, expansion, reasoning policy and length limit, see fuzz/fuzz_targets/convert.rs).
# The corpus grows in fuzz/corpus/convert; a crash is saved in fuzz/artifacts/convert and reproduced with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run convert fuzz/artifacts/convert/crash-…   (from fuzz/)
# Every crash becomes a regression test in tests/it/reliability.rs, named after the bug.
set -euo pipefail
seconds=${1:-60}
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/fuzz"
export RUSTC_BOOTSTRAP=1

corpus=corpus/convert
mkdir -p "$corpus"
# seed SETTINGS: stdin prefixed with the settings byte, stored under its hash.
seed() {
    local tmp
    tmp=$(mktemp)
    printf "\\x$1" >"$tmp"
    cat >>"$tmp"
    mv "$tmp" "$corpus/seed-$1-$(sha1sum <"$tmp" | cut -c1-16)"
}
fixtures=("$root"/fixtures/samples/*.jsonl "$root/fixtures/golden/cases.jsonl")
for file in "${fixtures[@]}"; do
    for settings in 00 21; do
        head -c 16000 "$file" | seed "$settings"
    done
    while IFS= read -r line; do
        [ -n "$line" ] || continue
        # qwen3, chatml, harmony; per-turn; reasoning dropped; length limits (drop, turns).
        for settings in 00 01 02 04 08 16 26 35; do
            printf '%s\n' "$line" | seed "$settings"
        done
    done <"$file"
done

cargo fuzz build convert
cargo fuzz run convert "$corpus" --jobs 1 -- \
    -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -max_len=16384 -dict=convert.dict -print_final_stats=1
