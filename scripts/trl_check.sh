#!/usr/bin/env bash
# Run by hand (not in CI): check that TRL's SFTTrainer trains on exactly trajkit's labels.
# Creates a virtual environment with torch (CPU is enough), trl and datasets on first use.
#   scripts/trl_check.sh [VENV_DIR]      (default: ./.venv-trl, ignored by git)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv-trl}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q torch "trl==1.16.0" "transformers==5.24.0" datasets accelerate
fi
cargo build --release -q
out=$(mktemp -d)
./target/release/trajkit convert fixtures/samples/raw.jsonl --template qwen3 -o "$out/train.jsonl"
./target/release/trajkit convert fixtures/samples/raw.jsonl --template qwen3 --expand per-turn -o "$out/per-turn.jsonl"
"$venv/bin/python" scripts/trl_check.py "$out/train.jsonl" --columns all
"$venv/bin/python" scripts/trl_check.py "$out/per-turn.jsonl" --columns tokens
rm -rf "$out"
