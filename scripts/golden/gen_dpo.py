#!/usr/bin/env python3
"""Generate fixtures/golden/dpo_<template>.jsonl: the tokenized columns TRL's DPOTrainer builds for trajkit's
preference pairs, computed by TRL's own code.

Run from the repository root with TRL 1.16 installed (it imports trl, so torch is needed):

    python scripts/golden/gen_dpo.py                 # both templates, writes the golden files
    python scripts/golden/gen_dpo.py --check         # exit 1 if a committed file is out of date

Input: fixtures/golden/dpo_pairs_<template>.jsonl, the conversational rows `trajkit pairs --synthesize all
--expand per-turn --seed 7 --template <template>` wrote for fixtures/samples/raw.jsonl and the shared samples
(committed, so the goldens do not move when synthesis changes). The file is loaded exactly as a user would
(`datasets.load_dataset("json", ...)`) and handed to `DPOTrainer._prepare_dataset`, the method DPOTrainer runs on
its train dataset, with the tokenizer's chat template set to:
  qwen3   the official Qwen3 template (fixtures/tokenizers/qwen3/tokenizer_config.json)
  chatml  TRL's copy of the Qwen2.5-Instruct template (trl/chat_templates/qwen2_5.jinja), Qwen3 tokenizer
That method renders prompt (add_generation_prompt=True), prompt+chosen and prompt+rejected with the row's `tools`
(json.loads of the string), tokenizes, and cuts at the common prefix. The output keeps the conversational
columns and adds TRL's `prompt_ids`, `chosen_ids`, `rejected_ids`, plus `prefix_ok`: whether the prompt's ids
were a prefix of both prompt+answer ids (TRL only warns when they are not; trajkit refuses such a pair).
"""

from __future__ import annotations

import argparse
import json
import sys
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

TEMPLATES = ["qwen3", "chatml"]


def template_source(name: str, config: dict) -> str:
    if name == "qwen3":
        return config["chat_template"]
    import importlib.util

    spec = importlib.util.find_spec("trl")
    for loc in spec.submodule_search_locations:
        path = Path(loc) / "chat_templates" / "qwen2_5.jinja"
        if path.exists():
            return path.read_text(encoding="utf-8")
    raise SystemExit("the installed trl has no chat_templates/qwen2_5.jinja")


def generate(name: str, hf, config: dict) -> str:
    from datasets import load_dataset
    from trl import DPOTrainer
    from trl.data_utils import _tokenize

    hf.chat_template = template_source(name, config)
    path = c.REPO_ROOT / "fixtures" / "golden" / f"dpo_pairs_{name}.jsonl"
    ds = load_dataset("json", data_files=str(path), split="train")
    args = types.SimpleNamespace(dataset_num_proc=None, max_length=None, truncation_mode="keep_start")
    fake_self = types.SimpleNamespace(_tokenizer=hf)
    out = DPOTrainer._prepare_dataset(fake_self, ds, hf, args, "golden")
    lines = []
    for row, raw in zip(out, (json.loads(l) for l in open(path, encoding="utf-8")), strict=True):
        tools = json.loads(row["tools"]) if isinstance(row["tools"], str) else row["tools"]
        full_prompt = _tokenize(hf, row["prompt"], add_generation_prompt=True, tools=tools)["input_ids"]
        record = {
            "id": raw["id"],
            "kind": raw["kind"],
            "prompt": raw["prompt"],
            "chosen": raw["chosen"],
            "rejected": raw["rejected"],
            "tools": raw["tools"],
            "prompt_ids": list(row["prompt_ids"]),
            "chosen_ids": list(row["chosen_ids"]),
            "rejected_ids": list(row["rejected_ids"]),
            "prefix_ok": list(row["prompt_ids"]) == list(full_prompt),
        }
        lines.append(json.dumps(record, ensure_ascii=False))
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tokenizer-dir", type=Path, default=c.DEFAULT_TOKENIZER_DIR)
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if a golden file differs")
    args = p.parse_args()
    hf, _raw, config = c.load_tokenizers(args.tokenizer_dir)
    stale = False
    for name in TEMPLATES:
        text = generate(name, hf, config)
        out = c.REPO_ROOT / "fixtures" / "golden" / f"dpo_{name}.jsonl"
        n = text.count("\n")
        if args.check:
            if not out.exists() or out.read_text(encoding="utf-8") != text:
                print(f"{out}: out of date", file=sys.stderr)
                stale = True
            continue
        out.write_text(text, encoding="utf-8")
        print(f"{out.relative_to(c.REPO_ROOT)}: {n} pairs", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
