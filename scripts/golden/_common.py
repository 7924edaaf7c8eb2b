"""Shared helpers for the golden-file generators in this folder (see README.md).

Not a script: imported by gen_qwen3.py and gen_chatml.py.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import shutil
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TOKENIZER_DIR = REPO_ROOT / "fixtures" / "tokenizers" / "qwen3"
DEFAULT_CASES = REPO_ROOT / "fixtures" / "golden" / "cases.jsonl"

IM_START = "<|im_start|>"
IM_END_NL = "<|im_end|>\n"


def base_arg_parser(description: str, default_out: Path) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "--tokenizer-dir",
        type=Path,
        default=DEFAULT_TOKENIZER_DIR,
        help="folder with tokenizer.json (or tokenizer.json.gz) and tokenizer_config.json "
        f"(default: {DEFAULT_TOKENIZER_DIR.relative_to(REPO_ROOT)})",
    )
    p.add_argument("--cases", type=Path, default=DEFAULT_CASES, help="input conversations (JSONL)")
    p.add_argument("--out", type=Path, default=default_out, help="output JSONL")
    p.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if --out differs from what would be written",
    )
    return p


def load_cases(path: Path) -> list[dict]:
    cases = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            case = json.loads(line)
            if "id" not in case or "messages" not in case:
                raise SystemExit(f"{path}:{lineno}: a case needs 'id' and 'messages'")
            cases.append(case)
    ids = [c["id"] for c in cases]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise SystemExit(f"{path}: duplicate ids {sorted(dup)}")
    return cases


def load_tokenizers(tokenizer_dir: Path):
    """Return (transformers tokenizer, raw `tokenizers.Tokenizer`, tokenizer_config dict).

    Accepts a folder holding tokenizer.json or tokenizer.json.gz (the committed fixture is gzipped) plus
    tokenizer_config.json. The files are copied into a temporary folder so transformers sees a plain
    model folder; nothing is fetched from the Hub.
    """
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    tokenizer_dir = Path(tokenizer_dir)
    cfg_path = tokenizer_dir / "tokenizer_config.json"
    with open(cfg_path, encoding="utf-8") as f:
        config = json.load(f)
    tmp = Path(tempfile.mkdtemp(prefix="trajkit-golden-tok-"))
    try:
        if (tokenizer_dir / "tokenizer.json").exists():
            shutil.copyfile(tokenizer_dir / "tokenizer.json", tmp / "tokenizer.json")
        elif (tokenizer_dir / "tokenizer.json.gz").exists():
            with gzip.open(tokenizer_dir / "tokenizer.json.gz", "rb") as src, open(tmp / "tokenizer.json", "wb") as dst:
                shutil.copyfileobj(src, dst)
        else:
            raise SystemExit(f"{tokenizer_dir}: no tokenizer.json or tokenizer.json.gz")
        shutil.copyfile(cfg_path, tmp / "tokenizer_config.json")
        hf = AutoTokenizer.from_pretrained(str(tmp), local_files_only=True)
        raw = Tokenizer.from_file(str(tmp / "tokenizer.json"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return hf, raw, config


def render(tokenizer, template: str, case: dict, **kwargs):
    """apply_chat_template on a deep copy of the case (the caller's data is never touched)."""
    messages = copy.deepcopy(case["messages"])
    tools = copy.deepcopy(case.get("tools")) or None
    return tokenizer.apply_chat_template(messages, tools=tools, chat_template=template, **kwargs)


def encode_checked(hf, raw, text: str) -> tuple[list[int], list[tuple[int, int]]]:
    """Encode `text` without special tokens with both transformers and the raw tokenizers library and
    assert they agree. Returns (ids, char offsets from the raw tokenizer)."""
    ids = hf(text, add_special_tokens=False)["input_ids"]
    enc = raw.encode(text, add_special_tokens=False)
    if list(enc.ids) != list(ids):
        raise AssertionError("transformers and tokenizers disagree on the ids of the rendered text")
    return list(ids), [tuple(o) for o in enc.offsets]


def chatml_assistant_spans(text: str, messages: list[dict], span_prefix: str) -> list[tuple[int, int]]:
    """Character spans of the assistant messages in a ChatML rendering, found by walking the text.

    This does not use the template: it checks that every user/system/tool block is exactly where the
    message list says it must be, and takes each assistant block from right after `span_prefix`
    (e.g. "<|im_start|>assistant\\n") through the next "<|im_end|>\\n" inclusive. A system/tools header,
    if present, is skipped up to its first "<|im_end|>\\n".
    """
    pos = 0
    msgs = list(messages)
    if text.startswith(IM_START + "system\n"):
        end = text.index(IM_END_NL) + len(IM_END_NL)
        if msgs and msgs[0]["role"] == "system":
            if "<|im_end|>" in (msgs[0].get("content") or ""):
                raise AssertionError("span walker cannot handle <|im_end|> inside the first system message")
            msgs = msgs[1:]
        pos = end
    spans = []
    i = 0
    while i < len(msgs):
        m = msgs[i]
        role = m["role"]
        if role in ("user", "system"):
            expected = f"{IM_START}{role}\n{m['content']}{IM_END_NL}"
            if not text.startswith(expected, pos):
                raise AssertionError(f"span walker: {role} message {i} not found at char {pos}")
            pos += len(expected)
            i += 1
        elif role == "tool":
            expected = IM_START + "user"
            while i < len(msgs) and msgs[i]["role"] == "tool":
                expected += "\n<tool_response>\n" + msgs[i]["content"] + "\n</tool_response>"
                i += 1
            expected += IM_END_NL
            if not text.startswith(expected, pos):
                raise AssertionError(f"span walker: tool results before message {i} not found at char {pos}")
            pos += len(expected)
        elif role == "assistant":
            for field in ("content", "reasoning_content"):
                if "<|im_end|>" in (m.get(field) or ""):
                    raise AssertionError("span walker cannot handle <|im_end|> inside an assistant message")
            if not text.startswith(span_prefix, pos):
                raise AssertionError(f"span walker: assistant message {i} not found at char {pos}")
            start = pos + len(span_prefix)
            end = text.index(IM_END_NL, start) + len(IM_END_NL)
            spans.append((start, end))
            pos = end
            i += 1
        else:
            raise AssertionError(f"span walker: unknown role {role!r}")
    if pos != len(text):
        raise AssertionError(f"span walker: stopped at char {pos} of {len(text)}")
    return spans


def mask_from_spans(offsets: list[tuple[int, int]], spans: list[tuple[int, int]]) -> list[int]:
    """1 for every token whose char range overlaps a span (start < span_end and end > span_start)."""
    return [int(any(s < e_span and e > s_span for s_span, e_span in spans)) for s, e in offsets]


def describe_mask_diff(ids, offsets, text, a, b, tokenizer) -> str:
    out = []
    for k, (x, y) in enumerate(zip(a, b)):
        if x != y:
            s, e = offsets[k]
            out.append(f"token {k} id {ids[k]} {text[s:e]!r} chars {s}-{e}: generation={x} spans={y}")
    return "; ".join(out[:10]) + (f" (+{len(out) - 10} more)" if len(out) > 10 else "")


def dump_line(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


def write_or_check(path: Path, lines: list[str], check: bool) -> int:
    content = "".join(lines)
    if check:
        try:
            current = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            current = None
        if current != content:
            print(f"{path}: out of date (regenerate without --check)", file=sys.stderr)
            return 1
        print(f"{path}: up to date")
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    print(f"wrote {path} ({len(lines)} rows)")
    return 0


def compact_row(row: dict) -> dict:
    """A golden row for the long-case files, kept small: no `text` (the ids are authoritative and decode to
    it), `assistant_masks` written as run lengths (`assistant_mask_runs`: lengths of alternating runs of 0s
    and 1s, starting with 0s); everything else as is."""
    row = {k: v for k, v in row.items() if k != "text"}
    for key, value in list(row.items()):
        if isinstance(value, dict):
            row[key] = compact_row(value)
    mask = row.pop("assistant_masks", None)
    if mask is not None:
        runs, current, length = [], 0, 0
        for bit in mask:
            if bit == current:
                length += 1
            else:
                runs.append(length)
                current, length = bit, 1
        runs.append(length)
        row["assistant_mask_runs"] = runs
    return row


def write_or_check_gz(path: Path, lines: list[str], check: bool) -> int:
    """Like write_or_check for a gzip file; compares the uncompressed text, writes with a zero mtime so the
    bytes depend only on the content."""
    content = "".join(lines).encode("utf-8")
    if check:
        try:
            current = gzip.decompress(path.read_bytes())
        except FileNotFoundError:
            current = None
        if current != content:
            print(f"{path}: out of date (regenerate without --check)", file=sys.stderr)
            return 1
        print(f"{path}: up to date")
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(content, compresslevel=9, mtime=0))
    print(f"wrote {path} ({len(lines)} rows)")
    return 0
