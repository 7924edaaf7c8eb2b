#!/usr/bin/env python3
"""Independent re-implementation of docs/harmony-spec.md, checked against openai-harmony.

It renders the developer/tools text and whole conversations straight from the written spec
(no openai-harmony involved), and compares the result with:
  1. the `text` of every row of fixtures/golden/harmony.jsonl, and
  2. openai-harmony itself on N random JSON schemas (fuzz), to catch spec gaps.

It serves as a readable reference for the Rust port: json_schema_to_ts() below mirrors §5.

    /work/venv/py/bin/python scripts/golden/harmony_spec_check.py [--fuzz 3000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_harmony as G  # noqa: E402

# ------------------------------------------------------------------ spec §5


def _is_enum(s) -> bool:
    return isinstance(s.get("enum"), list) and len(s["enum"]) > 0


def _json(v) -> str:
    """serde_json compact Display (ryu floats)."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _ryu(v)
    if isinstance(v, list):
        return "[" + ",".join(_json(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + _json(x) for k, x in v.items()) + "}"
    raise TypeError(v)


def _ryu(f: float) -> str:
    # ryu/serde_json: shortest round-trip digits; scientific when exp < -5 or >= 16
    r = repr(f)
    if "e" not in r and "inf" not in r and "nan" not in r:
        return r
    mant, exp = r.split("e")
    exp = int(exp)
    digits = mant.replace(".", "").replace("-", "")
    neg = f < 0
    if -5 <= exp < 16:
        if exp < 0:
            s = "0." + "0" * (-exp - 1) + digits.rstrip("0")
        else:
            s = digits.ljust(exp + 1, "0") + ".0"
        return ("-" if neg else "") + s
    return ("-" if neg else "") + mant.lstrip("-").replace(".0", "") + "e" + str(exp)


def _default_fmt(d, s) -> str:
    if isinstance(d, str):
        return d if _is_enum(s) else f'"{d}"'
    return _json(d)


def _default_fmt_r1(d, s) -> str:
    # R1 (oneOf rendered as a type): a string default with an enum goes through serde Display
    if isinstance(d, str) and not _is_enum(s):
        return f'"{d}"'
    return _json(d)


def _nullable(s, t: str) -> str:
    if s.get("nullable") is True and "null" not in t:
        return t + " | null"
    return t


def json_schema_to_ts(schema, indent: str) -> str:
    one_of = schema.get("oneOf")
    if isinstance(one_of, list):  # R1
        out = ""
        for v in one_of:
            out += f"\n{indent} | " + _nullable(v, json_schema_to_ts(v, indent + "   "))
            c = []
            if isinstance(v.get("description"), str):
                c.append(v["description"])
            if "default" in v:
                c.append("default: " + _default_fmt_r1(v["default"], v))
            if c:
                out += " // " + " ".join(c)
        return out
    ty = schema.get("type")
    if isinstance(ty, list):  # R2
        parts = ["number" if t == "integer" else t for t in ty if isinstance(t, str)]
        if parts:
            return " | ".join(parts)
    if isinstance(ty, str):  # R3
        if ty == "object":
            out = ""
            if isinstance(schema.get("description"), str):
                out += f"{indent}// {schema['description']}\n"
            out += "{\n"
            props = schema.get("properties")
            req = schema.get("required")
            required = {r for r in req if isinstance(r, str)} if isinstance(req, list) else set()
            if isinstance(props, dict):
                for key, val in props.items():
                    out += _property(key, val, indent, "" if key in required else "?")
            return out + f"{indent}}}"
        if ty == "string":
            if isinstance(schema.get("enum"), list):
                e = [f'"{x}"' for x in schema["enum"] if isinstance(x, str)]
                if e:
                    return " | ".join(e)
            return "string"
        if ty in ("number", "integer"):
            return "number"
        if ty == "boolean":
            return "boolean"
        if ty == "array":
            if "items" in schema:
                return json_schema_to_ts(schema["items"], indent) + "[]"
            return "Array<any>"
        return "any"
    if isinstance(one_of, list):  # R4 (unreachable)
        raise AssertionError
    return "any"  # R5


def _property(key, val, indent, opt) -> str:
    out = ""
    if isinstance(val.get("title"), str):
        out += f"{indent}// {val['title']}\n{indent}//\n"
    if "oneOf" not in val and isinstance(val.get("description"), str):
        out += f"{indent}// {val['description']}\n"
    ex = val.get("examples")
    if isinstance(ex, list) and ex:
        out += f"{indent}// Examples:\n"
        for e in ex:
            if isinstance(e, str):
                out += f'{indent}// - "{e}"\n'
    one_of = val.get("oneOf")
    if isinstance(one_of, list):
        pdesc = val["description"] if isinstance(val.get("description"), str) else None
        skip = pdesc is not None and one_of and one_of[0].get("description") == pdesc
        above = False
        if pdesc is not None and not skip:
            out += f"{indent}// {pdesc}\n"
            above = True
        if "default" in val:
            out += f"{indent}// default: {_default_fmt(val['default'], val)}\n"
        out += f"{indent}{key}{opt}:\n"
        for i, v in enumerate(one_of):
            out += f"{indent} | " + _nullable(v, json_schema_to_ts(v, indent + "   "))
            c = []
            if not (i == 0 and above) and isinstance(v.get("description"), str) and v["description"] != pdesc:
                c.append(v["description"])
            if "default" in v:
                c.append("default: " + _default_fmt(v["default"], v))
            if c:
                out += " // " + " ".join(c)
            out += "\n"
        return out + f"{indent},\n"
    out += f"{indent}{key}{opt}: " + _nullable(val, json_schema_to_ts(val, indent + "    ")) + ","
    if "oneOf" not in val and "default" in val:
        out += " // default: " + _default_fmt(val["default"], val)
    return out + "\n"


def _rust_lines(s: str):
    lines = s.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


def tools_block(tools) -> str:
    parts = ["## functions\n", "namespace functions {\n"]
    for name, desc, params in tools:
        parts += ["// " + ln for ln in _rust_lines(desc)]
        if params is None:
            parts.append(f"type {name} = () => any;\n")
        else:
            parts.append(f"type {name} = (_: {json_schema_to_ts(params, '')}) => any;\n")
    parts.append("} // namespace functions")
    return "# Tools\n\n" + "\n".join(parts)


def developer_text(instructions, tools) -> str:
    sec = []
    if instructions is not None:
        sec += ["# Instructions", instructions]
    if tools:
        sec.append(tools_block(tools))
    return "\n\n".join(sec)


SYSTEM = (
    "You are ChatGPT, a large language model trained by OpenAI.\nKnowledge cutoff: 2024-06\n\n"
    "Reasoning: medium\n\n# Valid channels: analysis, commentary, final. Channel must be included for every message."
)

# ------------------------------------------------------------------ spec §2, §7


def render_case_text(row) -> str:
    msgs = row["messages"]
    tools = [G.tool_spec(t) for t in (row.get("tools") or [])]
    instr = None
    start = 0
    if msgs and msgs[0].get("role") in ("system", "developer"):
        instr, start = G.text_of(msgs[0].get("content"), "system"), 1
    sys_t = SYSTEM + ("\nCalls to these tools must go to the commentary channel: 'functions'." if tools else "")
    out = [f"<|start|>system<|message|>{sys_t}<|end|>"]
    if instr is not None or tools:
        out.append(f"<|start|>developer<|message|>{developer_text(instr, tools)}<|end|>")
    last_user = max((i for i, m in enumerate(msgs) if m.get("role") == "user"), default=-1)
    id_to_name, pending = {}, []
    last_final = False
    for i in range(start, len(msgs)):
        m = msgs[i]
        role = m.get("role")
        last_final = False
        if role == "user":
            out.append(f"<|start|>user<|message|>{G.text_of(m.get('content'), 'user')}<|end|>")
        elif role == "assistant":
            if m.get("reasoning_content") and i > last_user:
                out.append(f"<|start|>assistant<|channel|>analysis<|message|>{m['reasoning_content']}<|end|>")
            content = G.text_of(m.get("content"), "assistant")
            calls = m.get("tool_calls") or []
            if calls:
                if content:
                    out.append(f"<|start|>assistant<|channel|>commentary<|message|>{content}<|end|>")
                pending = []
                for c in calls:
                    cid, name, args = G.call_spec(c)
                    if cid is not None:
                        id_to_name[cid] = name
                    pending.append((cid, name))
                    out.append(
                        f"<|start|>assistant to=functions.{name}<|channel|>commentary <|constrain|>json<|message|>{args}<|call|>"
                    )
            else:
                out.append(f"<|start|>assistant<|channel|>final<|message|>{content}<|end|>")
                last_final = True
        elif role == "tool":
            name, cid = m.get("name"), m.get("tool_call_id")
            if name:
                idx = next((k for k, (_, n) in enumerate(pending) if n == name), None)
            elif cid is not None and cid in id_to_name:
                name = id_to_name[cid]
                idx = next((k for k, (c, _) in enumerate(pending) if c == cid), None)
            elif pending:
                idx, name = 0, pending[0][1]
            else:
                raise G.ConversionError("orphan tool result")
            if idx is not None:
                pending.pop(idx)
            out.append(
                f"<|start|>functions.{name} to=assistant<|channel|>commentary<|message|>{G.text_of(m.get('content'), 'tool')}<|end|>"
            )
        else:
            raise G.ConversionError(role)
    text = "".join(out)
    if last_final:
        text = text[: -len("<|end|>")] + "<|return|>"
    return text


# ------------------------------------------------------------------ fuzz

WORDS = ["a", "id", "city", "nullish", "x y", "ünï", "my-key", "q"]
TEXTS = ["A thing", "two\nlines", "say \"hi\"", "", "é ✓", "null here"]
SCALARS = ["x", "", "say \"hi\"", 0, -3, 2.5, 0.00001, 1e16, 1e-7, 3.0, True, False, None, [1, "a"], {"k": [1, 2], "b": None}]


def rand_schema(rng: random.Random, depth: int):
    kind = rng.choice(["string", "enum", "number", "integer", "boolean", "array", "object", "oneOf",
                       "anyOf", "typelist", "null", "none", "object", "object"] if depth < 3 else
                      ["string", "enum", "number", "boolean", "typelist", "none"])
    s: dict = {}
    if kind == "enum":
        s = {"type": rng.choice(["string", "integer"]), "enum": rng.choice([["a", "b"], ["x", 1, None], []])}
    elif kind in ("string", "number", "integer", "boolean", "null"):
        s = {"type": kind}
    elif kind == "array":
        s = {"type": "array"}
        if rng.random() < 0.8:
            s["items"] = rand_schema(rng, depth + 1)
    elif kind == "object":
        s = {"type": "object"}
        if rng.random() < 0.9:
            props = {}
            for _ in range(rng.randint(0, 4)):
                props[rng.choice(WORDS) + str(rng.randint(0, 9))] = rand_schema(rng, depth + 1)
            s["properties"] = props
            if props and rng.random() < 0.7:
                s["required"] = rng.sample(list(props), rng.randint(0, len(props)))
    elif kind == "oneOf":
        s = {"oneOf": [rand_schema(rng, depth + 1) for _ in range(rng.randint(1, 3))]}
    elif kind == "anyOf":
        s = {"anyOf": [rand_schema(rng, depth + 1) for _ in range(2)]}
    elif kind == "typelist":
        s = {"type": rng.choice([["string", "null"], ["integer", "number"], [1, "string"], []])}
    for key, p in (("description", 0.4), ("title", 0.15), ("default", 0.3), ("nullable", 0.2), ("examples", 0.1)):
        if rng.random() < p:
            if key in ("description", "title"):
                s[key] = rng.choice(TEXTS)
            elif key == "default":
                s[key] = rng.choice(SCALARS)
            elif key == "nullable":
                s[key] = rng.choice([True, False])
            else:
                s[key] = rng.choice([["e1", 2], [], ["only"]])
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fuzz", type=int, default=3000)
    args = ap.parse_args()

    cases = {}
    for p in (G.GOLDEN / "cases.jsonl", G.GOLDEN / "cases_harmony.jsonl"):
        if p.exists():
            for line in p.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    c = json.loads(line)
                    cases[c["id"]] = c
    bad = 0
    n = 0
    for line in (G.GOLDEN / "harmony.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if "error" in row:
            continue
        n += 1
        mine = render_case_text(cases[row["id"]])
        if mine != row["text"]:
            bad += 1
            k = next((i for i, (a, b) in enumerate(zip(mine, row["text"])) if a != b), min(len(mine), len(row["text"])))
            print(f"golden mismatch {row['id']} at char {k}: spec={mine[k-40:k+40]!r} harmony={row['text'][k-40:k+40]!r}")
    print(f"golden: {n - bad}/{n} texts reproduced from the spec")

    G.build_tiktoken_file(G.load_tokenizer_json(G.DEFAULT_TOKENIZER), G.DEFAULT_TIKTOKEN_DIR)
    os.environ["TIKTOKEN_ENCODINGS_BASE"] = str(G.DEFAULT_TIKTOKEN_DIR)
    import openai_harmony as H

    enc = H.load_harmony_encoding(H.HarmonyEncodingName.HARMONY_GPT_OSS)
    rng = random.Random(1234)
    fbad = 0
    for i in range(args.fuzz):
        tools = []
        for t in range(rng.randint(1, 3)):
            params = None if rng.random() < 0.1 else rand_schema(rng, 0)
            tools.append((f"t{t}", rng.choice(TEXTS + ["l1\r\nl2\n"]), params))
        dev = H.DeveloperContent.new().with_function_tools([H.ToolDescription.new(*t) for t in tools])
        got = enc.decode_utf8(enc.render(H.Message.from_role_and_content(H.Role.DEVELOPER, dev)))
        want = "<|start|>developer<|message|>" + developer_text(None, tools) + "<|end|>"
        if got != want:
            fbad += 1
            if fbad <= 5:
                print("fuzz mismatch:", json.dumps(tools, ensure_ascii=False)[:400])
                k = next((j for j, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
                print(f"   harmony={got[k-60:k+40]!r}\n   spec   ={want[k-60:k+40]!r}")
    print(f"fuzz: {args.fuzz - fbad}/{args.fuzz} random tool schemas reproduced from the spec")
    sys.exit(1 if bad or fbad else 0)


if __name__ == "__main__":
    main()
