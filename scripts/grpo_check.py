#!/usr/bin/env python3
"""The GRPO reward function of docs/eval.md runs under TRL's GRPOTrainer as written.

Takes the Python block of docs/eval.md, runs its `TrajkitReward` (one `trajkit score --serve`
process) as the reward of GRPOTrainer on a tiny randomly initialised Qwen3-architecture model built
offline, for a few steps on the prompts `trajkit eval --prompts` writes for fixtures/eval/gold.jsonl,
and checks that every reward came back (no request error) and that the rewards of the reference
completions, scored through the same function, are 1. Run by hand (needs torch and trl), e.g.
    /path/to/venv/bin/python scripts/grpo_check.py [--binary target/release/trajkit]
"""
import argparse
import gzip
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
from transformers import AutoTokenizer, Qwen3Config, Qwen3ForCausalLM  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def doc_code():
    """The reward function block of docs/eval.md, without its training lines (they name a real model)."""
    doc = open(os.path.join(ROOT, "docs", "eval.md"), encoding="utf-8").read()
    block = re.search(r"```python\n(import json, subprocess\n.*?)```", doc, re.S).group(1)
    return block.split("# trajkit eval --gold")[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "trajkit"))
    ap.add_argument("--steps", type=int, default=2)
    args = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="trajkit-grpo-")
    bindir = os.path.join(workdir, "bin")
    os.makedirs(bindir)
    os.symlink(os.path.abspath(args.binary), os.path.join(bindir, "trajkit"))
    os.environ["PATH"] = bindir + os.pathsep + os.environ["PATH"]

    data = os.path.join(workdir, "grpo.jsonl")
    with open(data, "w") as f:
        subprocess.run(["trajkit", "eval", "--gold", os.path.join(ROOT, "fixtures/eval/gold.jsonl"), "--template",
                        "qwen3", "--prompts"], stdout=f, check=True)

    namespace = {}
    exec(doc_code(), namespace)  # defines TrajkitReward, imports load_dataset, GRPOConfig, GRPOTrainer
    reward = namespace["TrajkitReward"]("qwen3")

    tokenizer_dir = os.path.join(workdir, "tok")
    os.makedirs(tokenizer_dir)
    src = os.path.join(ROOT, "fixtures", "tokenizers", "qwen3")
    with gzip.open(os.path.join(src, "tokenizer.json.gz"), "rb") as a, open(os.path.join(tokenizer_dir, "tokenizer.json"), "wb") as b:
        shutil.copyfileobj(a, b)
    shutil.copy(os.path.join(src, "tokenizer_config.json"), tokenizer_dir)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)

    # The reference completions themselves score 1, through the same function.
    rows = namespace["load_dataset"]("json", data_files=data, split="train")
    ids = []
    for ref in rows["reference"]:
        m = json.loads(ref)
        text = m["content"]
        for i, c in enumerate(m.get("tool_calls") or []):
            args_ = c["function"]["arguments"]
            text += ("\n" if text or i else "") + '<tool_call>\n{"name": "%s", "arguments": %s}\n</tool_call>' % (c["function"]["name"], args_)
        ids.append(tokenizer(text + "<|im_end|>", add_special_tokens=False)["input_ids"])
    got = reward(completion_ids=ids, reference=rows["reference"], tools=rows["tools"], history=rows["history"], case=rows["case"])
    assert all(r == 1.0 for r in got), [(i, r) for i, r in enumerate(got) if r != 1.0][:5]
    print(f"reference completions: {len(got)} rewards, all 1.0")

    torch.manual_seed(0)
    config = Qwen3Config(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, head_dim=8, max_position_embeddings=4096,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    model = Qwen3ForCausalLM(config)
    seen = []

    def recording(**kwargs):
        out = reward(**kwargs)
        seen.extend(out)
        return out

    recording.__name__ = "trajkit"
    trainer = namespace["GRPOTrainer"](
        model=model, processing_class=tokenizer, reward_funcs=recording, train_dataset=rows,
        args=namespace["GRPOConfig"](output_dir=os.path.join(workdir, "out"), max_steps=args.steps,
                                     per_device_train_batch_size=4, num_generations=4, max_completion_length=24,
                                     report_to=[], logging_steps=1, save_strategy="no", use_cpu=True, seed=0))
    trainer.train()
    assert seen and all(r is not None and not math.isnan(r) for r in seen), seen
    print(f"OK: GRPOTrainer ran {args.steps} steps; {len(seen)} completions scored by trajkit score --serve "
          f"(min {min(seen):.3f}, max {max(seen):.3f})")
    reward.proc.stdin.close()
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
