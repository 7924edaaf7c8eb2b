#!/usr/bin/env python3
"""trajkit in datasets.map against transformers' apply_chat_template in the same map, and the wheel
against the binary on one core.

usage: python/scripts/bench_datasets.py CORPUS.jsonl [--procs 2] [--limit N] [--only trajkit|transformers|one-core]
CORPUS: `{"messages", "tools"}` records (scripts/bench/make_corpus.py). Prints one JSON line per run.

datasets runs: load_dataset("text") (the records as written), then map(batched=True, num_proc=--procs):
- trajkit: Converter(template="qwen3").convert_batch -> the CLI's columns (input_ids, assistant_masks,
  labels, messages, tools, trajkit) as Python values;
- transformers: apply_chat_template(tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
  with the {% generation %}-marked Qwen3 template (as scripts/bench/python_path.py), labels from the mask.
Both write their output to the datasets cache (Arrow), as a real map does; the time includes that.

one-core runs (taskset -c 0): `trajkit convert --threads 1 -o /dev/null` against the wheel converting
the same lines in batches of 64 (python/scripts/wheel_one_core.py: convert_texts, the JSON lines;
convert_batch, dicts), each
as wall time and as the process's CPU time (user + system; the fair measure on a busy machine).
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATE = "2026-01-15"


def limited(corpus, limit, tmp):
    if limit is None:
        return corpus
    path = os.path.join(tmp, "corpus.jsonl")
    with open(corpus, encoding="utf-8") as f, open(path, "w", encoding="utf-8") as out:
        for n, line in enumerate(f):
            if n >= limit:
                break
            out.write(line)
    return path


# -- transformers in datasets.map ---------------------------------------------------------------
_HF = None


def _hf():
    global _HF
    if _HF is None:
        sys.path.insert(0, str(ROOT / "scripts" / "golden"))
        import _common as c
        from gen_qwen3 import add_generation_markers

        tokenizer, _, config = c.load_tokenizers(ROOT / "fixtures" / "tokenizers" / "qwen3")
        _HF = (tokenizer, add_generation_markers(config["chat_template"]))
    return _HF


def hf_batch(batch):
    tokenizer, template = _hf()
    out = {"input_ids": [], "assistant_masks": [], "labels": []}
    for text in batch["text"]:
        if not text.strip():
            continue
        record = json.loads(text)
        done = tokenizer.apply_chat_template(record["messages"], tools=record.get("tools") or None,
                                             chat_template=template, tokenize=True, return_dict=True,
                                             return_assistant_tokens_mask=True)
        ids, mask = done["input_ids"], done["assistant_masks"]
        out["input_ids"].append(ids)
        out["assistant_masks"].append(mask)
        out["labels"].append([i if m else -100 for i, m in zip(ids, mask)])
    return out


def run_map(kind, corpus, procs):
    import datasets
    import pyarrow.compute as pc

    import trajkit

    datasets.disable_progress_bars()
    ds = datasets.load_dataset("text", data_files=corpus, split="train")
    records = sum(1 for t in ds["text"] if t.strip())
    if kind == "trajkit":
        conv = trajkit.Converter(template="qwen3", date=DATE, source=corpus)
        fn, kwargs = conv.convert_batch, dict(with_indices=True)
    else:
        _hf()  # loaded before the fork, as the trajkit converter is
        fn, kwargs = hf_batch, {}
    start = time.perf_counter()
    out = ds.map(fn, batched=True, batch_size=64, num_proc=procs, remove_columns=["text"],
                 load_from_cache_file=False, **kwargs)
    seconds = time.perf_counter() - start
    lengths = pc.list_value_length(out.data.column("input_ids"))
    tokens = pc.sum(lengths).as_py()
    return {"run": f"datasets.map {kind}", "procs": procs, "records": records, "rows": len(out),
            "tokens": tokens, "seconds": round(seconds, 2), "rows_per_s": round(len(out) / seconds, 1),
            "tokens_per_s": round(tokens / seconds)}


# -- one core: the binary against the wheel -----------------------------------------------------

def children_cpu():
    """CPU seconds (user + system) of the finished child processes so far: unlike wall time, this
    does not count the time the core spent on other processes of a busy machine."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def one_core(corpus, binary):
    runs = []
    start, cpu = time.perf_counter(), children_cpu()
    subprocess.run(["taskset", "-c", "0", binary, "convert", corpus, "--date", DATE, "--threads", "1", "-q",
                    "-o", "/dev/null"], check=True)
    runs.append({"run": "binary, 1 core", "seconds": round(time.perf_counter() - start, 2),
                 "cpu_seconds": round(children_cpu() - cpu, 2)})
    harness = str(ROOT / "python" / "scripts" / "wheel_one_core.py")
    for how in ["lines", "dicts"]:
        # The wheel's time excludes the tokenizer load (the binary's includes it; ~0.3 s).
        start, cpu = time.perf_counter(), children_cpu()
        out = subprocess.run(["taskset", "-c", "0", sys.executable, harness, corpus, how], check=True,
                             capture_output=True)
        wall = time.perf_counter() - start
        inner = json.loads(out.stdout)
        runs.append({"run": f"wheel ({how}), 1 core", "seconds": round(inner["seconds"], 2),
                     "process_seconds": round(wall, 2), "cpu_seconds": round(children_cpu() - cpu, 2),
                     "rows": inner["rows"]})
    base, base_cpu = runs[0]["seconds"], runs[0]["cpu_seconds"]
    for r in runs[1:]:
        r["vs_binary"] = round(r["process_seconds"] / base, 3)
        r["vs_binary_cpu"] = round(r["cpu_seconds"] / base_cpu, 3)
    return runs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--only", choices=["trajkit", "transformers", "one-core"])
    args = ap.parse_args()
    binary = os.environ.get("TRAJKIT_BIN", str(ROOT / "target" / "release" / "trajkit"))
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("HF_DATASETS_CACHE", os.path.join(tmp, "hf-cache"))
        corpus = limited(os.path.abspath(args.corpus), args.limit, tmp)
        for kind in ["trajkit", "transformers"]:
            if args.only in (None, kind):
                print(json.dumps(run_map(kind, corpus, args.procs)), flush=True)
        if args.only in (None, "one-core"):
            for run in one_core(corpus, binary):
                print(json.dumps(run), flush=True)


if __name__ == "__main__":
    main()
