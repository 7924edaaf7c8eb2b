#!/usr/bin/env python3
"""Generate GPT-OSS Harmony golden files for trajkit.

Reads TRL/OpenAI-style conversation rows from

    fixtures/golden/cases.jsonl           (shared cases, all templates)
    fixtures/golden/cases_harmony.jsonl   (harmony-specific cases)

converts each conversation to openai-harmony messages (rules: docs/harmony-spec.md,
section "Conversion rules"), renders it with

    HARMONY_GPT_OSS.render_conversation_for_training(
        conv, config=RenderConversationConfig(auto_drop_analysis=False))

and writes fixtures/golden/harmony.jsonl, one row per case:

    {"id", "text", "input_ids", "assistant_masks"}   or   {"id", "error"}

plus fixtures/golden/harmony_meta.json (versions, hashes, HF-vs-harmony mismatches).

openai-harmony needs the `o200k_base.tiktoken` vocabulary file. No network is used:
this script rebuilds that file from the GPT-OSS tokenizer.json (byte-level BPE vocab,
GPT-2 byte<->unicode mapping undone, ranks 0..199997) and checks its SHA-256 against
the hash openai-harmony itself enforces.

Usage (from the repo root):

    /work/venv/py/bin/python scripts/golden/gen_harmony.py \
        [--tokenizer fixtures/tokenizers/gpt-oss/tokenizer.json.gz] \
        [--tiktoken-dir DIR] [--check]

The .tiktoken file goes to --tiktoken-dir (default: $TRAJKIT_TIKTOKEN_DIR, else /work/venv/tiktoken
when /work/venv exists, else ~/.cache/trajkit/tiktoken), never into the repo.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "fixtures" / "golden"
DEFAULT_TOKENIZER = REPO / "fixtures" / "tokenizers" / "gpt-oss" / "tokenizer.json.gz"
DEFAULT_TIKTOKEN_DIR = Path(
    os.environ.get("TRAJKIT_TIKTOKEN_DIR")
    or ("/work/venv/tiktoken" if Path("/work/venv").is_dir() else Path.home() / ".cache" / "trajkit" / "tiktoken")
)

# SHA-256 of the official o200k_base.tiktoken; openai-harmony refuses any other file
# when TIKTOKEN_ENCODINGS_BASE is set (see tiktoken_ext/public_encodings.rs).
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"


# --------------------------------------------------------------------------------------
# tokenizer.json -> o200k_base.tiktoken
# --------------------------------------------------------------------------------------


def load_tokenizer_json(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return data.decode("utf-8")


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2 byte-level mapping (byte value -> printable unicode char)."""
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def build_tiktoken_file(tokenizer_json: str, out_dir: Path) -> Path:
    out = out_dir / "o200k_base.tiktoken"
    if out.exists() and hashlib.sha256(out.read_bytes()).hexdigest() == O200K_SHA256:
        return out
    tj = json.loads(tokenizer_json)
    dec = {c: b for b, c in bytes_to_unicode().items()}
    vocab = sorted(tj["model"]["vocab"].items(), key=lambda kv: kv[1])
    ranks = [r for _, r in vocab]
    assert ranks == list(range(len(ranks))), "vocab ranks are not contiguous"
    lines = b"".join(
        base64.b64encode(bytes(dec[ch] for ch in tok)) + b" " + str(rank).encode() + b"\n"
        for tok, rank in vocab
    )
    digest = hashlib.sha256(lines).hexdigest()
    if digest != O200K_SHA256:
        sys.exit(f"rebuilt o200k_base.tiktoken has sha256 {digest}, expected {O200K_SHA256}")
    out_dir.mkdir(parents=True, exist_ok=True)
    out.write_bytes(lines)
    return out


# --------------------------------------------------------------------------------------
# conversation conversion (TRL / OpenAI messages -> harmony messages)
# --------------------------------------------------------------------------------------


class ConversionError(Exception):
    pass


def text_of(content, what: str) -> str:
    """Message content -> string. None -> "", list of text parts -> concatenation."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for part in content:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, dict) and part.get("type") == "text":
                out.append(part.get("text", ""))
            else:
                raise ConversionError(f"{what}: unsupported content part {part!r}")
        return "".join(out)
    raise ConversionError(f"{what}: unsupported content {content!r}")


def tool_spec(tool: dict):
    fn = tool.get("function", tool) if tool.get("type", "function") == "function" else None
    if fn is None or "name" not in fn:
        raise ConversionError(f"unsupported tool {tool!r}")
    return fn["name"], fn.get("description") or "", fn.get("parameters")


def call_spec(call: dict):
    fn = call.get("function", call)
    if "name" not in fn:
        raise ConversionError(f"tool call without name {call!r}")
    args = fn.get("arguments")
    if args is None:
        args = {}
    if isinstance(args, str):
        # Verbatim: this is the text the model produced (see docs/harmony-spec.md).
        args_text = args
    else:
        args_text = json.dumps(args, separators=(",", ":"), ensure_ascii=False)
    return call.get("id"), fn["name"], args_text


def convert(row: dict, H):
    """Returns (list[H.Message], has_function_tools)."""
    msgs = row["messages"]
    tools = row.get("tools") or []

    instructions = None
    start = 0
    if msgs and msgs[0].get("role") in ("system", "developer"):
        instructions = text_of(msgs[0].get("content"), "system")
        start = 1

    last_user = max((i for i, m in enumerate(msgs) if m.get("role") == "user"), default=-1)

    out = [H.Message.from_role_and_content(H.Role.SYSTEM, H.SystemContent.new())]
    tool_descs = [H.ToolDescription.new(*tool_spec(t)) for t in tools]
    if instructions is not None or tool_descs:
        dev = H.DeveloperContent.new()
        if instructions is not None:
            dev = dev.with_instructions(instructions)
        if tool_descs:
            dev = dev.with_function_tools(tool_descs)
        out.append(H.Message.from_role_and_content(H.Role.DEVELOPER, dev))

    id_to_name: dict[str, str] = {}
    pending: list[tuple[str | None, str]] = []  # unanswered calls of the latest batch

    for i in range(start, len(msgs)):
        m = msgs[i]
        role = m.get("role")
        if role == "user":
            out.append(H.Message.from_role_and_content(H.Role.USER, text_of(m.get("content"), "user")))
        elif role == "assistant":
            reasoning = m.get("reasoning_content")
            if reasoning and i > last_user:
                out.append(
                    H.Message.from_role_and_content(H.Role.ASSISTANT, reasoning).with_channel("analysis")
                )
            content = text_of(m.get("content"), "assistant")
            calls = m.get("tool_calls") or []
            if calls:
                if content != "":
                    out.append(
                        H.Message.from_role_and_content(H.Role.ASSISTANT, content).with_channel("commentary")
                    )
                pending = []
                for c in calls:
                    cid, name, args_text = call_spec(c)
                    if cid is not None:
                        id_to_name[cid] = name
                    pending.append((cid, name))
                    out.append(
                        H.Message.from_role_and_content(H.Role.ASSISTANT, args_text)
                        .with_channel("commentary")
                        .with_recipient(f"functions.{name}")
                        .with_content_type("<|constrain|>json")
                    )
            else:
                out.append(H.Message.from_role_and_content(H.Role.ASSISTANT, content).with_channel("final"))
        elif role == "tool":
            name = m.get("name")
            cid = m.get("tool_call_id")
            if name:
                idx = next((k for k, (_, n) in enumerate(pending) if n == name), None)
            elif cid is not None and cid in id_to_name:
                name = id_to_name[cid]
                idx = next((k for k, (c, _) in enumerate(pending) if c == cid), None)
            elif pending:
                idx = 0
                name = pending[0][1]
            else:
                raise ConversionError(f"message {i}: tool result matches no tool call")
            if idx is not None:
                pending.pop(idx)
            out.append(
                H.Message.from_author_and_content(
                    H.Author.new(H.Role.TOOL, f"functions.{name}"), text_of(m.get("content"), "tool")
                )
                .with_recipient("assistant")
                .with_channel("commentary")
            )
        else:
            raise ConversionError(f"message {i}: unsupported role {role!r}")

    return out, bool(tool_descs)


# --------------------------------------------------------------------------------------
# rendering + mask
# --------------------------------------------------------------------------------------


def render_case(row: dict, H, enc, hf):
    conv_msgs, has_tools = convert(row, H)
    conv = H.Conversation.from_messages(conv_msgs)
    ids = enc.render_conversation_for_training(
        conv, config=H.RenderConversationConfig(auto_drop_analysis=False)
    )

    opts = H.RenderOptions(conversation_has_function_tools=has_tools)
    start_tok = enc.encode("<|start|>", allowed_special="all")
    assistant_head = start_tok + enc.encode("assistant")  # <|start|>assistant
    concat: list[int] = []
    mask: list[int] = []
    prev_assistant = False
    for msg in conv_msgs:
        part = enc.render(msg, render_options=opts)
        is_assistant = msg.author.role == H.Role.ASSISTANT
        if is_assistant:
            m = [1] * len(part)
            if not prev_assistant:
                assert part[: len(assistant_head)] == assistant_head, part[:4]
                m[: len(assistant_head)] = [0] * len(assistant_head)
        else:
            m = [0] * len(part)
        concat += part
        mask += m
        prev_assistant = is_assistant
    last = conv_msgs[-1]
    if last.author.role == H.Role.ASSISTANT and last.channel == "final":
        concat[-1] = enc.encode("<|return|>", allowed_special="all")[0]
    assert concat == ids, f"{row['id']}: per-message concatenation != full rendering"

    text = enc.decode_utf8(ids)
    hf_ids = hf.encode(text, add_special_tokens=False).ids
    return {"id": row["id"], "text": text, "input_ids": ids, "assistant_masks": mask}, hf_ids == ids, hf_ids


def first_diff(a, b):
    for k, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return k
    return min(len(a), len(b))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", type=Path, default=DEFAULT_TOKENIZER)
    ap.add_argument("--tiktoken-dir", type=Path, default=DEFAULT_TIKTOKEN_DIR)
    ap.add_argument("--out", type=Path, default=GOLDEN / "harmony.jsonl")
    ap.add_argument("--cases", type=Path, nargs="*", default=[GOLDEN / "cases.jsonl", GOLDEN / "cases_harmony.jsonl"])
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if the outputs are out of date")
    args = ap.parse_args()

    tokenizer_json = load_tokenizer_json(args.tokenizer)
    tik = build_tiktoken_file(tokenizer_json, args.tiktoken_dir)
    os.environ["TIKTOKEN_ENCODINGS_BASE"] = str(tik.parent)

    import openai_harmony as H
    import tokenizers
    from importlib.metadata import version

    enc = H.load_harmony_encoding(H.HarmonyEncodingName.HARMONY_GPT_OSS)
    hf = tokenizers.Tokenizer.from_str(tokenizer_json)

    # Sanity: ordinary-text encodings agree between tiktoken(harmony) and HF.
    for s in ["Hello, world!", "  indented\n\ttabs\r\n", "naïve café 日本語 🤖", "x=1; y = [1, 2]", "don't I'll"]:
        assert enc.encode(s) == hf.encode(s, add_special_tokens=False).ids, s

    rows, mismatches, refusals, n = [], [], [], 0
    for path in args.cases:
        if not path.exists():
            print(f"warning: {path} missing, skipped", file=sys.stderr)
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            case = json.loads(line)
            n += 1
            try:
                row, ok, hf_ids = render_case(case, H, enc, hf)
            except AssertionError:
                raise
            except Exception as e:  # ConversionError, or harmony's own errors (plain Exceptions)
                # first line only: pydantic appends a version-specific help URL
                rows.append({"id": case["id"], "error": f"{type(e).__name__}: {str(e).splitlines()[0]}"})
                refusals.append(case["id"])
                continue
            rows.append(row)
            if not ok:
                k = first_diff(row["input_ids"], hf_ids)
                mismatches.append(
                    {
                        "id": case["id"],
                        "first_diff_index": k,
                        "harmony": row["input_ids"][k : k + 6],
                        "hf": hf_ids[k : k + 6],
                        "context": enc.decode_utf8(row["input_ids"][max(0, k - 4) : k + 6]),
                    }
                )

    meta = {
        "generator": "scripts/golden/gen_harmony.py",
        "openai_harmony": version("openai-harmony"),
        "tokenizers": version("tokenizers"),
        "pydantic": version("pydantic"),
        "encoding": "HARMONY_GPT_OSS",
        "o200k_base_sha256": O200K_SHA256,
        "tokenizer_json_sha256": hashlib.sha256(tokenizer_json.encode("utf-8")).hexdigest(),
        "cases": n,
        "refusals": refusals,
        "hf_vs_harmony_mismatches": mismatches,
    }
    outputs = {
        args.out: "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows),
        args.out.parent / "harmony_meta.json": json.dumps(meta, indent=2, ensure_ascii=False) + "\n",
    }
    stale = False
    for path, content in outputs.items():
        if args.check:
            current = path.read_text(encoding="utf-8") if path.exists() else None
            if current != content:
                print(f"{path}: out of date (regenerate without --check)", file=sys.stderr)
                stale = True
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
    print(f"{n} cases -> {args.out}{' (check only)' if args.check else ''} ({len(refusals)} refused: {refusals})")
    print(f"HF re-encoding of decoded text differs from harmony ids in {len(mismatches)} case(s):")
    for mm in mismatches:
        print(f"  {mm['id']}: at token {mm['first_diff_index']}: context {mm['context']!r}")
    if stale:
        sys.exit(1)


if __name__ == "__main__":
    main()
