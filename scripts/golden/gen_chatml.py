#!/usr/bin/env python3
"""Generate fixtures/golden/chatml.jsonl: what transformers produces for the golden conversations with the
official Qwen2.5-Instruct (ChatML) chat template, tokenized with the Qwen3 tokenizer.

Run from the repository root, inside the venv described in scripts/golden/README.md (needs `trl` installed):

    python scripts/golden/gen_chatml.py                      # committed Qwen3 tokenizer, writes the golden file
    python scripts/golden/gen_chatml.py --tokenizer-dir DIR  # DIR has tokenizer.json(.gz) + tokenizer_config.json
    python scripts/golden/gen_chatml.py --check              # exit 1 if the committed file is out of date

The template is read at run time from the installed TRL package: trl/chat_templates/qwen2_5.jinja, TRL's
verbatim copy of Qwen2.5-Instruct's template (it is not committed here). The tokenizer's own chat_template is
ignored. For every case:
  text            apply_chat_template(messages, tools=tools or None, tokenize=False) with qwen2_5.jinja, no
                  generation prompt (note: this template adds a default "You are Qwen, ..." system message);
  input_ids       the tokenizer's ids for `text` without added special tokens (asserted equal to
                  apply_chat_template(..., tokenize=True), and to the raw `tokenizers` library's ids);
  assistant_masks only when TRL's trl/chat_templates/qwen2_5_training.jinja renders the identical text and ids for
                  the case: its {% generation %} mask. That template opens the span right after
                  "<|im_start|>assistant" (so the "\\n" after the role is supervised) and closes it after
                  "<|im_end|>\\n". The mask is cross-checked against character spans found by walking the text;
                  disagreements are printed and make the script exit with status 2.
A case the template refuses is written as {"id", "error": "<exception message>"}.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

DEFAULT_OUT = c.REPO_ROOT / "fixtures" / "golden" / "chatml.jsonl"


def trl_template(name: str) -> tuple[str, Path]:
    # Locate the installed package without importing it (importing trl pulls in torch).
    spec = importlib.util.find_spec("trl")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("trl is not installed in this Python environment: pip install trl (see README.md)")
    for loc in spec.submodule_search_locations:
        path = Path(loc) / "chat_templates" / name
        if path.exists():
            return path.read_text(encoding="utf-8"), path
    raise SystemExit(f"the installed trl has no chat_templates/{name}")


def main() -> int:
    args = c.base_arg_parser(__doc__.splitlines()[0], DEFAULT_OUT).parse_args()
    hf, raw, _config = c.load_tokenizers(args.tokenizer_dir)
    official, official_path = trl_template("qwen2_5.jinja")
    training, training_path = trl_template("qwen2_5_training.jinja")
    print(f"template: {official_path}\ntraining template: {training_path}", file=sys.stderr)

    lines, refused, no_mask, disagreements = [], [], [], []
    for case in c.load_cases(args.cases):
        cid = case["id"]
        try:
            text = c.render(hf, official, case, tokenize=False)
        except Exception as e:
            refused.append((cid, f"{type(e).__name__}: {e}"))
            lines.append(c.dump_line({"id": cid, "error": str(e)}))
            continue

        ids, offsets = c.encode_checked(hf, raw, text)
        ids_direct = c.render(hf, official, case, tokenize=True, return_dict=True)["input_ids"]
        assert list(ids_direct) == ids, f"{cid}: tokenize=True ids differ from tokenizing the text"
        row = {"id": cid, "text": text, "input_ids": ids}

        try:
            same_text = c.render(hf, training, case, tokenize=False) == text
            out = c.render(hf, training, case, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
        except Exception as e:
            same_text, out = False, None
            no_mask.append((cid, f"training template refused: {type(e).__name__}: {e}"))
        if out is not None:
            if same_text and list(out["input_ids"]) == ids:
                mask = list(out["assistant_masks"])
                assert len(mask) == len(ids)
                assert any(mask), f"{cid}: nothing supervised"
                spans = c.chatml_assistant_spans(text, case["messages"], "<|im_start|>assistant")
                span_mask = c.mask_from_spans(offsets, spans)
                if span_mask != mask:
                    disagreements.append((cid, c.describe_mask_diff(ids, offsets, text, mask, span_mask, hf)))
                row["assistant_masks"] = mask
            else:
                no_mask.append((cid, "training template renders different text/ids"))
        lines.append(c.dump_line(row))

    for cid, msg in refused:
        print(f"refused: {cid}: {msg}", file=sys.stderr)
    for cid, msg in no_mask:
        print(f"no mask: {cid}: {msg}", file=sys.stderr)
    for cid, msg in disagreements:
        print(f"MASK DISAGREEMENT: {cid}: {msg}", file=sys.stderr)
    print(
        f"{len(lines)} cases, {len(refused)} refused, {len(no_mask)} without mask, "
        f"{len(disagreements)} mask disagreements",
        file=sys.stderr,
    )
    rc = c.write_or_check(args.out, lines, args.check)
    return rc or (2 if disagreements else 0)


if __name__ == "__main__":
    sys.exit(main())
