"""trajkit.validate, trajkit.check_mask and trajkit.Scorer give what the CLI gives for the same input.

validate: the `validate --format json` lines, byte for byte, on every bundled validate, sample and
golden file (and with a --tools file). check_mask: per row the id, token and supervised counts,
spans and violations the CLI prints, on records converted on the fly and on convert output rows
(one of them with a broken mask). score: the response lines of `score` (gold mode, and requests that
carry their own reference), byte for byte, and the reward function's rewards."""

import glob
import json
import os
import pickle
import re
import subprocess
import tempfile

import pytest

import trajkit
from conftest import DATE, ROOT, binary, read_lines

GOLD = "fixtures/eval/gold.jsonl"


def run(*args, ok=(0,)):
    done = subprocess.run([binary(), *args], cwd=ROOT, capture_output=True)
    assert done.returncode in ok, (args, done.returncode, done.stderr.decode())
    return done.stdout.decode("utf-8")


# -- validate -----------------------------------------------------------------------------------

VALIDATE_FILES = sorted(glob.glob("fixtures/validate/*.jsonl", root_dir=ROOT)) + [
    "fixtures/samples/raw.jsonl",
    "fixtures/samples/bad.jsonl",
    "fixtures/samples/tau_airline.jsonl",
    "fixtures/golden/cases.jsonl",
    "fixtures/golden/dpo_pairs_qwen3.jsonl",
] + sorted(glob.glob("fixtures/samples/adp_*.jsonl", root_dir=ROOT))


@pytest.mark.parametrize("path", VALIDATE_FILES)
def test_validate_equals_the_cli(path):
    want = run("validate", "--format", "json", path, ok=(0, 1)).splitlines()
    got = trajkit.validate_lines(read_lines(path), source=path)
    assert got == want  # the JSON line texts, byte for byte
    assert trajkit.validate(read_lines(path), source=path) == [json.loads(line) for line in want]


def test_validate_finds_something_on_the_defect_files():
    found = {f["code"] for p in VALIDATE_FILES for f in trajkit.validate(read_lines(p), source=p)}
    assert {"unknown_tool", "arguments_schema", "unused_result", "role_order"} <= found, found


def test_validate_with_a_tools_file_and_options_equals_the_cli(tmp_path):
    tools = tmp_path / "tools.json"
    tools.write_text('[{"name": "get_weather", "parameters": {"type": "dict", "properties": {"city": {"type": "str"}}}}]')
    path = "fixtures/validate/call_without_tools.jsonl"
    want = run("validate", "--format", "json", path, "--tools", str(tools), ok=(0, 1)).splitlines()
    got = trajkit.validate_lines(read_lines(path), source=path, tools=str(tools))
    assert got == want
    assert json.loads(got[0])["file"] == str(tools) and json.loads(got[0])["line"] is None
    path = "fixtures/samples/raw.jsonl"
    flags = ["--input-format", "raw", "--drop-trailing-user"]
    want = run("validate", "--format", "json", path, *flags, ok=(0, 1)).splitlines()
    assert trajkit.validate_lines(read_lines(path), source=path, input_format="raw", drop_trailing_user=True) == want


def test_validate_with_adp_flags_equals_the_cli():
    path = "fixtures/samples/adp_images.jsonl"
    flags = ["--adp-images", "drop", "--adp-thought", "content"]
    want = run("validate", "--format", "json", path, *flags, ok=(0, 1)).splitlines()
    assert want != run("validate", "--format", "json", path, ok=(0, 1)).splitlines()
    assert trajkit.validate_lines(read_lines(path), source=path, adp_images="drop", adp_thought="content") == want


def test_validate_takes_dicts_and_threads():
    path = "fixtures/validate/unknown_tool.jsonl"
    texts = read_lines(path)
    want = trajkit.validate(texts, source=path)
    assert want
    assert trajkit.validate([json.loads(t) for t in texts], source=path) == want
    assert trajkit.validate(texts, source=path, threads=2) == want
    with pytest.raises(ValueError, match="input_format"):
        trajkit.validate(texts, input_format="csv")


# -- check_mask ---------------------------------------------------------------------------------

HEADER = re.compile(r"^━━ (.*) · (\d+) tokens · (\d+) supervised in (\d+) span\(s\) · template (.*) ━━$")
SPAN = re.compile(r"^── span (\d+) · tokens (\d+)\.\.(\d+) \((\d+)\) ──$")
VIOLATION = re.compile(r"^VIOLATION \[(\w+)\]: (.*)$")
SUMMARY = re.compile(r"^checked (\d+) rows: (\d+) supervised of (\d+) tokens; (\d+) violations")


def cli_check_mask(path, *flags):
    """Per row (id, tokens, supervised, spans, violations) from `check-mask`'s text, its summary
    counts, and its unreadable-record lines."""
    done = subprocess.run(
        [binary(), "check-mask", path, "--color", "never", "--date", DATE, *flags], cwd=ROOT, capture_output=True
    )
    assert done.returncode in (0, 1), done.stderr.decode()
    rows = []
    summary = None
    for line in done.stdout.decode("utf-8").splitlines():
        if m := HEADER.match(line):
            rows.append({"id": m[1], "tokens": int(m[2]), "supervised": int(m[3]), "spans": [], "violations": []})
            assert int(m[4]) >= 0
        elif m := SPAN.match(line):
            rows[-1]["spans"].append([int(m[2]), int(m[3])])
        elif m := VIOLATION.match(line):
            rows[-1]["violations"].append({"code": m[1], "message": m[2]})
        elif m := SUMMARY.match(line):
            summary = tuple(int(x) for x in m.groups())
    errors = [line for line in done.stderr.decode("utf-8").splitlines() if line.startswith("error: ")]
    return rows, summary, errors


def shape(reports):
    return [{k: r[k] for k in ("id", "tokens", "supervised", "spans", "violations")} for r in reports if "error" not in r]


def totals(reports):
    rows = [r for r in reports if "error" not in r]
    return (
        len(rows),
        sum(r["supervised"] for r in rows),
        sum(r["tokens"] for r in rows),
        sum(len(r["violations"]) for r in rows),
    )


@pytest.mark.parametrize("path", ["fixtures/samples/raw.jsonl", "fixtures/samples/bad.jsonl", "fixtures/golden/cases.jsonl"])
@pytest.mark.parametrize("template", ["qwen3", "chatml", "harmony"])
def test_check_mask_on_records_equals_the_cli(path, template):
    want, summary, errors = cli_check_mask(path, "--template", template)
    got = trajkit.check_mask(read_lines(path), source=path, template=template, date=DATE)
    assert shape(got) == want
    assert totals(got) == summary
    # A record the CLI cannot read is an `error: FILE:LINE: message` line; here a dict with `error`.
    assert [f"error: {r['file']}:{r['line']}: {r['error']}" for r in got if "error" in r] == errors
    assert want


def test_check_mask_on_rows_equals_the_cli_and_catches_a_broken_mask(tmp_path):
    rows = run("convert", "fixtures/golden/cases.jsonl", "--date", DATE, "-q").splitlines()
    broken = json.loads(rows[0])
    broken["assistant_masks"][1] = 1  # a token of the first (system or user) turn
    rows.append(json.dumps(broken, ensure_ascii=False))
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    want, summary, _ = cli_check_mask(str(path))
    got = trajkit.check_mask([json.loads(r) for r in rows], source=str(path))
    assert shape(got) == want
    assert totals(got) == summary
    assert got[-1]["violations"] and not got[0]["violations"]
    assert summary[3] > 0


def test_check_mask_byo_template_and_per_turn_equal_the_cli():
    path, template = "fixtures/golden/cases.jsonl", "fixtures/tokenizers/llama3_1"
    want, summary, _ = cli_check_mask(path, "--template", template, "--expand", "per-turn")
    got = trajkit.check_mask(read_lines(path), source=path, template=template, expand="per-turn", date=DATE)
    assert shape(got) == want and totals(got) == summary and want
    with pytest.raises(TypeError, match="emitt"):
        trajkit.check_mask(read_lines(path), emitt="text")


# -- score --------------------------------------------------------------------------------------


@pytest.mark.parametrize("template", ["qwen3", "harmony"])
def test_score_with_gold_equals_the_cli(template):
    pred = f"fixtures/eval/pred_{template}.jsonl"
    want = run("score", "--gold", GOLD, "--template", template, pred, ok=(0, 1)).splitlines()
    scorer = trajkit.Scorer(template, gold=GOLD)
    got = scorer.score_lines(read_lines(pred))
    assert got == want
    assert len({json.loads(line)["reward"] for line in got}) > 3  # the defects score differently


def inline_requests():
    """Requests that carry their own context: `eval --prompts` rows with the qwen3 outputs, plus
    two bad requests."""
    prompts = {(r["id"], r["turn"]): r for r in map(json.loads, run("eval", "--gold", GOLD, "--prompts").splitlines())}
    requests = []
    for pred in map(json.loads, read_lines("fixtures/eval/pred_qwen3.jsonl")):
        row = prompts[(pred["id"], pred["turn"])]
        request = {k: row[k] for k in ("id", "turn", "reference", "tools", "history", "case")}
        request["completion"] = pred["output"]
        requests.append(request)
    requests.append({"completion": "Hello."})  # no reference, no gold
    requests.append({"reference": "Hi."})  # no completion
    return requests


def test_score_with_inline_requests_equals_the_cli(tmp_path):
    requests = inline_requests()
    lines = [json.dumps(r, ensure_ascii=False) for r in requests]
    path = tmp_path / "requests.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    want = run("score", str(path), ok=(1,)).splitlines()
    scorer = trajkit.Scorer()
    assert scorer.score_lines(lines) == want
    assert scorer.score_batch(requests) == [json.loads(line) for line in want]
    assert scorer.score(requests[0]) == json.loads(want[0])
    assert json.loads(want[-1])["reward"] is None and "error" in json.loads(want[-1])
    # Threads and a pickled copy answer the same.
    assert trajkit.Scorer(threads=2).score_lines(lines) == want
    assert pickle.loads(pickle.dumps(scorer)).score_lines(lines) == want


def test_score_weights_as_dict_or_file_equal_the_cli(tmp_path):
    requests = inline_requests()[:20]
    lines = [json.dumps(r) for r in requests]
    path = tmp_path / "requests.jsonl"
    path.write_text("\n".join(lines) + "\n")
    weights = {"arguments": 2, "cost_penalty": 0.25, "grounding": 0}
    wpath = tmp_path / "weights.json"
    wpath.write_text(json.dumps(weights))
    want = run("score", str(path), "--weights", str(wpath)).splitlines()
    assert trajkit.Scorer(weights=weights).score_lines(lines) == want
    assert trajkit.Scorer(weights=str(wpath)).score_lines(lines) == want
    assert want != run("score", str(path)).splitlines()
    with pytest.raises(ValueError, match="unknown weight"):
        trajkit.Scorer(weights={"corectness": 1})


def test_reward_fn_gives_the_cli_rewards_as_trl_calls_it(tmp_path):
    requests = inline_requests()[:-2]
    path = tmp_path / "requests.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in requests) + "\n")
    want = [json.loads(line)["reward"] for line in run("score", str(path)).splitlines()]
    reward = trajkit.reward_fn("qwen3")
    assert reward.__name__ == "trajkit"
    # GRPOTrainer: prompts, completions, completion_ids, trainer_state, and every other column.
    columns = {k: [r[k] for r in requests] for k in ("reference", "tools", "history", "case")}
    got = reward(
        prompts=["<prompt>"] * len(requests),
        completions=[r["completion"] for r in requests],
        completion_ids=None,
        trainer_state=None,
        **columns,
    )
    assert got == want
    assert any(r < 1 for r in got) and any(r == 1 for r in got)
    assert pickle.loads(pickle.dumps(reward))(completions=[r["completion"] for r in requests], **columns) == want
