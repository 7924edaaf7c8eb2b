#!/usr/bin/env python3
"""TRL takes trajkit's output as it is, and trains on exactly trajkit's labels.

Builds a tiny randomly initialised Qwen3-architecture model offline (no hub access), runs TRL's
SFTTrainer for a few steps on `trajkit convert` output loaded with `datasets.load_dataset("json")`,
records the `labels` of every batch TRL feeds the model, and asserts they equal trajkit's `labels`
column row for row. Run through scripts/trl_check.sh, which makes the virtual environment.

usage: trl_check.py TRAIN_JSONL [--columns all|tokens]
"""
import argparse
import gzip
import json
import os
import shutil
import sys
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
from datasets import load_dataset  # noqa: E402
from transformers import AutoTokenizer, Qwen3Config, Qwen3ForCausalLM  # noqa: E402
from trl import SFTConfig, SFTTrainer  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TOKENIZER_DIR = os.path.join(HERE, "..", "fixtures", "tokenizers", "qwen3")


def qwen3_tokenizer(workdir):
    """The embedded Qwen3 tokenizer as a model folder transformers can load."""
    folder = os.path.join(workdir, "qwen3-tokenizer")
    os.makedirs(folder, exist_ok=True)
    with gzip.open(os.path.join(TOKENIZER_DIR, "tokenizer.json.gz"), "rb") as src, open(
        os.path.join(folder, "tokenizer.json"), "wb"
    ) as dst:
        shutil.copyfileobj(src, dst)
    shutil.copy(os.path.join(TOKENIZER_DIR, "tokenizer_config.json"), folder)
    return AutoTokenizer.from_pretrained(folder)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("train_jsonl")
    ap.add_argument("--columns", choices=["all", "tokens"], default="all",
                    help="all: hand TRL every column trajkit writes; tokens: only input_ids and labels")
    ap.add_argument("--steps", type=int, default=6)
    args = ap.parse_args()

    rows = [json.loads(line) for line in open(args.train_jsonl, encoding="utf-8") if line.strip()]
    expected = {tuple(r["input_ids"]): r["labels"] for r in rows}
    assert all(any(m == 1 for m in r["assistant_masks"]) for r in rows), "a row with nothing supervised"

    workdir = tempfile.mkdtemp(prefix="trajkit-trl-")
    tokenizer = qwen3_tokenizer(workdir)
    torch.manual_seed(0)
    config = Qwen3Config(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=8, max_position_embeddings=4096,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
    )
    model = Qwen3ForCausalLM(config)

    dataset = load_dataset("json", data_files=args.train_jsonl, split="train")
    if args.columns == "tokens":
        dataset = dataset.select_columns(["input_ids", "labels"])
    print(f"loaded {len(dataset)} rows with columns {dataset.column_names}")

    seen = []

    class RecordingTrainer(SFTTrainer):
        def compute_loss(self, model, inputs, *a, **kw):
            for ids, labels, attention in zip(inputs["input_ids"], inputs["labels"], inputs["attention_mask"]):
                keep = attention.bool()
                seen.append((tuple(ids[keep].tolist()), labels[keep].tolist()))
            return super().compute_loss(model, inputs, *a, **kw)

    trainer = RecordingTrainer(
        model=model,
        processing_class=tokenizer,
        train_dataset=dataset,
        args=SFTConfig(
            output_dir=os.path.join(workdir, "out"), max_steps=args.steps, per_device_train_batch_size=2,
            # The rows carry their own labels (-100 off the assistant's output); TRL's collator uses them as
            # they are. assistant_only_loss would make TRL look for a chat template to re-derive masks.
            assistant_only_loss=False, max_length=None, report_to=[], logging_steps=1, save_strategy="no",
            use_cpu=True, dataloader_num_workers=0, seed=0,
        ),
    )
    trainer.train()

    assert seen, "TRL trained on nothing"
    checked = 0
    for ids, labels in seen:
        want = expected.get(ids)
        assert want is not None, "TRL trained on ids that are not a trajkit row"
        assert labels == want, f"labels differ (first at {next(i for i, (a, b) in enumerate(zip(labels, want)) if a != b)})"
        checked += 1
    print(f"OK: {checked} sequences in {args.steps} steps; TRL's labels equal trajkit's labels for every one")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
