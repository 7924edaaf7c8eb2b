#!/usr/bin/env python3
"""The Python path people use today, as a benchmark baseline: transformers' apply_chat_template with
tokenize=True, return_dict=True, return_assistant_tokens_mask=True and a `{% generation %}`-marked
copy of the official Qwen3 template (built as scripts/golden/gen_qwen3.py builds it), over a JSONL
corpus of `{"messages", "tools"}` rows, with a multiprocessing pool of --procs processes.

usage: python_path.py CORPUS.jsonl [--procs N] [--limit N]
Prints one JSON line: records, tokens, seconds, records_per_s, tokens_per_s, procs.
"""
import argparse
import json
import multiprocessing as mp
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "golden"))

_tokenizer = None
_template = None


def _init():
    global _tokenizer, _template
    import _common as c
    from gen_qwen3 import add_generation_markers

    _tokenizer, _, config = c.load_tokenizers(c.REPO_ROOT / "fixtures" / "tokenizers" / "qwen3")
    _template = add_generation_markers(config["chat_template"])


def _convert(line):
    record = json.loads(line)
    out = _tokenizer.apply_chat_template(
        record["messages"],
        tools=record.get("tools") or None,
        chat_template=_template,
        tokenize=True,
        return_dict=True,
        return_assistant_tokens_mask=True,
    )
    ids, mask = out["input_ids"], out["assistant_masks"]
    assert len(ids) == len(mask) and any(mask)
    return len(ids)


def _lines(path, limit):
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f):
            if limit is not None and n >= limit:
                return
            if line.strip():
                yield line


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("--procs", type=int, default=mp.cpu_count())
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    start = time.perf_counter()
    records = tokens = 0
    with mp.get_context("fork").Pool(args.procs, initializer=_init) as pool:
        for n in pool.imap(_convert, _lines(args.corpus, args.limit), chunksize=16):
            records += 1
            tokens += n
    seconds = time.perf_counter() - start
    print(json.dumps({"records": records, "tokens": tokens, "seconds": round(seconds, 3),
                      "records_per_s": round(records / seconds, 1), "tokens_per_s": round(tokens / seconds),
                      "procs": args.procs}))


if __name__ == "__main__":
    main()
