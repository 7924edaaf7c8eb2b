#!/usr/bin/env python3
"""Check that a `trajkit pairs` output file is what TRL's DPOTrainer reads.

    python scripts/check_pairs.py PAIRS.jsonl

Loads the file with `datasets.load_dataset("json", ...)` (as a user would) and checks, per row, the columns
DPOTrainer 1.16 uses: `prompt`, `chosen`, `rejected` as lists of {role, content, ...} messages (TRL's
`is_conversational`), `tools` as a JSON string holding a list (TRL `json.loads` a string), and, when present,
`prompt_ids` / `chosen_ids` / `rejected_ids` as lists of ints. Exit 0 and print `OK: N rows` when all hold.
Needs only `datasets` (not TRL or torch).
"""

import json
import sys


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    from datasets import load_dataset

    ds = load_dataset("json", data_files=sys.argv[1], split="train")
    for column in ["prompt", "chosen", "rejected", "tools"]:
        assert column in ds.column_names, f"missing column {column}"
    tokenized = "prompt_ids" in ds.column_names
    roles = {"system", "user", "assistant", "tool"}
    for i, row in enumerate(ds):
        for column in ["prompt", "chosen", "rejected"]:
            messages = row[column]
            assert isinstance(messages, list) and messages, f"row {i}: {column} is not a non-empty list"
            for m in messages:
                assert isinstance(m, dict) and m.get("role") in roles, f"row {i}: {column} has a bad message {m!r}"
        assert row["chosen"][0]["role"] == "assistant" and row["rejected"][0]["role"] == "assistant", f"row {i}"
        assert row["prompt"][-1]["role"] in ("user", "tool"), f"row {i}: the prompt ends on {row['prompt'][-1]['role']}"
        tools = json.loads(row["tools"])
        assert isinstance(tools, list), f"row {i}: tools is not a JSON list"
        if tokenized:
            for column in ["prompt_ids", "chosen_ids", "rejected_ids"]:
                ids = row[column]
                assert isinstance(ids, list) and ids and all(isinstance(t, int) for t in ids), f"row {i}: {column}"
    print(f"OK: {len(ds)} rows, columns {sorted(ds.column_names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
