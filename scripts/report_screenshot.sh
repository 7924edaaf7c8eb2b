#!/usr/bin/env bash
# Render `trajkit report` of the bundled samples in headless Chromium and take a screenshot; with
# --time, also measure how fast a page of ROWS sampled rows loads.
#
#   scripts/report_screenshot.sh                 # docs/report.png from fixtures/samples/raw.jsonl
#   scripts/report_screenshot.sh --time 1000     # and the load time of a 1,000-row page
#
# Needs Chromium (Debian: apt-get install -y chromium). Runs it with no network, no GPU, a fresh
# profile; --no-sandbox because containers usually run as root. TRAJKIT=path picks the binary
# (default: target/release/trajkit, built if missing). PNG=path overrides docs/report.png,
# SIZE=W,H the window (1280,2600), SOURCE=file the records of the timed page. pngquant, when installed, makes the PNG smaller.
set -euo pipefail
cd "$(dirname "$0")/.."

time_rows=""
if [[ "${1:-}" == "--time" ]]; then
    time_rows="${2:?--time needs a number of rows}"
fi
png="${PNG:-docs/report.png}"
size="${SIZE:-1280,2600}"
trajkit="${TRAJKIT:-target/release/trajkit}"
if [[ ! -x "$trajkit" ]]; then
    cargo build --release --quiet
fi
chromium="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
if [[ -z "$chromium" ]]; then
    echo "no Chromium: apt-get install -y chromium" >&2
    exit 2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update
       --disable-sync --no-first-run --hide-scrollbars)

# The screenshot: convert the samples, report them (one row with a broken mask, so a violation shows).
"$trajkit" convert fixtures/samples/raw.jsonl --template qwen3 --date 2025-06-01 -q > "$work/train.jsonl" 2>/dev/null
cp "$work/train.jsonl" "$work/clean.jsonl"
python3 - "$work/train.jsonl" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rows[1]["assistant_masks"][-2] = 0  # direct-1's closing <|im_end|> taken out of the loss
open(sys.argv[1], "w").write("".join(json.dumps(r) + "\n" for r in rows))
EOF
trajkit="$(realpath "$trajkit")"
(cd "$work" && "$trajkit" report train.jsonl -o report.html --max-length 500 -n 4 --seed 1) || true
"$chromium" "${flags[@]}" --user-data-dir="$work/profile" --window-size="$size" \
    --screenshot="$work/report.png" "file://$work/report.html" 2>/dev/null
if command -v pngquant > /dev/null; then
    pngquant --force --quality 60-90 --output "$png" "$work/report.png"
else
    cp "$work/report.png" "$png"
fi
echo "screenshot: $png ($(stat -c %s "$png") bytes)"

[[ -z "$time_rows" ]] && exit 0

# The timing: a page of $time_rows rows sampled from as many rows (SOURCE's rows, default the
# samples' convert output without the broken mask, repeated under new ids), loaded in Chromium; after the load event the page forces a layout, records the browser's own
# navigation timing and the time then, and --dump-dom prints it.
if [[ -n "${SOURCE:-}" ]]; then
    "$trajkit" convert "$SOURCE" -q > "$work/clean.jsonl" 2>/dev/null
fi
python3 - "$work/clean.jsonl" "$time_rows" > "$work/many.jsonl" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for k in range(int(sys.argv[2])):
    row = dict(rows[k % len(rows)])
    row["id"] = f"{row['id']}-{k}"
    print(json.dumps(row))
EOF
start=$(date +%s.%N)
"$trajkit" report "$work/many.jsonl" -o "$work/many.html" -n "$time_rows" 2>/dev/null || true
end=$(date +%s.%N)
cat >> "$work/many.html" <<'EOF'
<script>addEventListener('load',function(){setTimeout(function(){var h=document.body.offsetHeight,
n=performance.getEntriesByType('navigation')[0],p=document.createElement('pre');p.id='timing';
p.textContent='domcontentloaded_ms='+n.domContentLoadedEventEnd.toFixed(0)+' load_ms='+n.loadEventEnd.toFixed(0)+
' laid_out_ms='+performance.now().toFixed(0)+' token_blocks='+document.querySelectorAll('.row .tk').length;
document.body.appendChild(p)},0)})</script>
EOF
echo "page: $time_rows rows, $(stat -c %s "$work/many.html") bytes, written in $(echo "$end - $start" | bc) s"
for run in 1 2 3; do
    "$chromium" "${flags[@]}" --user-data-dir="$work/profile-$run" --window-size="$size" --dump-dom \
        "file://$work/many.html" 2>/dev/null | grep -o 'domcontentloaded_ms=[0-9][^<]*' | sed "s/^/load $run: /"
done

# The rows drawn later (scripts/report_scroll.js, when playwright-core is on NODE_PATH): scroll
# through the whole page in real Chromium, open every history, count the token ids drawn.
if node -e "require('playwright-core')" 2> /dev/null; then
    echo "after scrolling to the end: $(node scripts/report_scroll.js "$work/many.html")"
fi
