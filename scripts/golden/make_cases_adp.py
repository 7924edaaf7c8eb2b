#!/usr/bin/env python3
"""Write fixtures/golden/cases_adp.jsonl: the conversations trajkit makes of the ADP fixtures
(fixtures/samples/adp_*.jsonl), as golden cases for gen_qwen3.py / gen_chatml.py.

    python3 scripts/golden/make_cases_adp.py            # needs a built trajkit (target/debug or --trajkit)
    python3 scripts/golden/make_cases_adp.py --check    # exit 1 if the committed file differs

Each case is `trajkit convert FILE --emit messages [flags]` with the tool-call arguments and the tools
turned back from JSON strings into objects (the form transformers is usually given). tests/it/golden.rs
checks both directions: the ADP records convert to exactly these messages, and trajkit's ids and
masks for them equal the references that gen_qwen3.py / gen_chatml.py wrote from these cases.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "fixtures" / "golden" / "cases_adp.jsonl"
# (fixture, extra convert flags); the same list is in tests/it/golden.rs.
INPUTS = [
    ("fixtures/samples/adp_api.jsonl", []),
    ("fixtures/samples/adp_code.jsonl", []),
    ("fixtures/samples/adp_web.jsonl", []),
    ("fixtures/samples/adp_swe.jsonl", []),
    ("fixtures/samples/adp_qa.jsonl", []),
    ("fixtures/samples/adp_images.jsonl", ["--adp-images", "drop", "--adp-web-html"]),
]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trajkit", default=str(REPO / "target" / "debug" / "trajkit"))
    p.add_argument("--check", action="store_true")
    args = p.parse_args()
    lines = []
    for path, flags in INPUTS:
        out = subprocess.run(
            [args.trajkit, "convert", path, "--emit", "messages", "-q", *flags],
            cwd=REPO, capture_output=True, text=True, check=False,
        )
        if out.returncode not in (0,):
            sys.exit(f"{path}: trajkit failed ({out.returncode}):\n{out.stderr}")
        for line in out.stdout.splitlines():
            row = json.loads(line)
            for m in row["messages"]:
                for call in m.get("tool_calls", []):
                    call["function"]["arguments"] = json.loads(call["function"]["arguments"])
            case = {"id": row["id"], "messages": row["messages"]}
            tools = json.loads(row["tools"]) if row.get("tools") else []
            if tools:
                case["tools"] = tools
            lines.append(json.dumps(case, ensure_ascii=False))
    text = "\n".join(lines) + "\n"
    if args.check:
        same = OUT.exists() and OUT.read_text(encoding="utf-8") == text
        print(f"{OUT.relative_to(REPO)}: {'up to date' if same else 'DIFFERS'}")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {len(lines)} cases to {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
