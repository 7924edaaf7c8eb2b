"""The wheel's rows are the CLI's rows, byte for byte, and its rejects the CLI's rejects.

Every bundled sample and golden case file is converted both ways, for each built-in template and
both expansions; the CLI runs as the built binary (conftest.binary)."""

import glob
import json
import pickle

import pytest

import trajkit
from conftest import DATE, ROOT, cli, read_lines

SAMPLES = ["fixtures/samples/raw.jsonl", "fixtures/samples/bad.jsonl"]
GOLDEN = ["fixtures/golden/cases.jsonl", "fixtures/golden/cases_harmony.jsonl"]
TEMPLATES = ["qwen3", "chatml", "harmony"]


def wheel(path, **settings):
    """(rows as JSON lines, rejects as dicts) from the wheel, for every line of PATH."""
    conv = trajkit.Converter(date=DATE, source=path, **settings)
    texts = read_lines(path)
    done, _ = conv.convert_texts(texts)
    lines, rejects = [], []
    for (row_lines, record_rejects), text in zip(done, [t for t in texts if t.strip()]):
        lines.extend(row_lines)
        rejects.extend(trajkit._error(r, text).to_dict() for r in record_rejects)
    return lines, rejects


@pytest.mark.parametrize("path", SAMPLES + GOLDEN)
@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("expand", ["conversation", "per-turn"])
def test_rows_and_rejects_equal_the_cli(path, template, expand):
    want_rows, want_rejects = cli(path, "--template", template, "--expand", expand)
    rows, rejects = wheel(path, template=template, expand=expand)
    assert len(rows) == len(want_rows)
    for got, want in zip(rows, want_rows):
        assert got == want  # the JSON line text, byte for byte
    assert rejects == want_rejects
    assert rows or rejects


@pytest.mark.parametrize(
    "flags,settings",
    [
        (["--emit", "messages"], dict(emit="messages")),
        (["--emit", "text"], dict(emit="text")),
        (["--reasoning", "drop"], dict(reasoning="drop")),
        (["--reasoning", "context", "--empty-think", "context"], dict(reasoning="context", empty_think="context")),
        (["--template", "harmony", "--reasoning-effort", "high", "--current-date", DATE],
         dict(template="harmony", reasoning_effort="high", current_date=DATE)),
        # Rows over the limit: records rejected, or per-turn rows rejected one by one (kind "row").
        (["--max-length", "120"], dict(max_length=120)),
        (["--max-length", "200", "--expand", "per-turn"], dict(max_length=200, expand="per-turn")),
        (["--max-length", "150", "--truncate", "turns"], dict(max_length=150, truncate="turns")),
    ],
)
def test_flags_mirror_the_cli(flags, settings):
    for path in ["fixtures/samples/raw.jsonl", "fixtures/golden/cases.jsonl"]:
        want_rows, want_rejects = cli(path, *flags)
        rows, rejects = wheel(path, **settings)
        assert rows == want_rows, path
        assert rejects == want_rejects, path


@pytest.mark.parametrize("path", sorted(glob.glob("fixtures/samples/adp_*.jsonl", root_dir=ROOT)))
def test_adp_records_and_flags_equal_the_cli(path):
    for flags, settings in [
        ([], {}),
        (["--adp-images", "drop", "--adp-web-html", "--adp-thought", "content"],
         dict(adp_images="drop", adp_web_html=True, adp_thought="content")),
        (["--adp-code-tool", "python=run_python:source", "--input-format", "adp"],
         dict(adp_code_tool=["python=run_python:source"], input_format="adp")),
    ]:
        want_rows, want_rejects = cli(path, *flags)
        rows, rejects = wheel(path, **settings)
        assert (rows, rejects) == (want_rows, want_rejects), (path, flags)


def test_a_byo_template_folder_equals_the_cli():
    path, template = "fixtures/golden/cases.jsonl", "fixtures/tokenizers/llama3_1"
    want_rows, want_rejects = cli(path, "--template", template)
    rows, rejects = wheel(path, template=template)
    assert rows == want_rows and rejects == want_rejects
    assert rows


def test_convert_gives_dicts_from_text_or_dict():
    conv = trajkit.Converter(date=DATE, source="fixtures/samples/raw.jsonl")
    want, _ = cli("fixtures/samples/raw.jsonl")
    got = []
    for n, text in enumerate(read_lines("fixtures/samples/raw.jsonl"), 1):
        from_text = conv.convert(text, line=n)
        assert conv.convert(json.loads(text), line=n) == from_text
        got.extend(from_text)
    assert got == [json.loads(line) for line in want]
    # Re-serialized the way the CLI writes (compact, UTF-8), the dicts are the CLI's bytes.
    assert [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in got] == want


def test_bad_records_raise_located_errors():
    path = "fixtures/samples/bad.jsonl"
    _, want_rejects = cli(path)
    conv = trajkit.Converter(date=DATE, source=path)
    raised = []
    for n, text in enumerate(read_lines(path), 1):
        if not text.strip():
            continue
        try:
            conv.convert(text, line=n)
        except trajkit.RecordError as e:
            raised.append(e)
    assert [e.to_dict() for e in raised] == want_rejects
    assert len(raised) >= 5
    e = raised[0]
    assert (e.file, e.line, e.kind) == (path, want_rejects[0]["line"], "record")
    assert e.code and e.message and str(e).startswith(f"{path}:{e.line}")
    # Errors cross process boundaries intact.
    assert pickle.loads(pickle.dumps(e)).to_dict() == e.to_dict()


def test_batch_raises_or_returns_rejects_as_the_user_chooses():
    path = "fixtures/samples/bad.jsonl"
    want_rows, want_rejects = cli(path)
    texts = read_lines(path)
    batch, indices = {"text": texts}, list(range(len(texts)))
    with pytest.raises(trajkit.RecordError) as raised:
        trajkit.Converter(date=DATE, source=path).convert_batch(batch, indices)
    assert raised.value.to_dict() == want_rejects[0]
    conv = trajkit.Converter(date=DATE, source=path, on_error="column")
    out = conv.convert_batch(batch, indices)
    rejects = [json.loads(r) for r in out[trajkit.REJECT_COLUMN] if r]
    assert rejects == want_rejects
    rows = [i for i, r in enumerate(out[trajkit.REJECT_COLUMN]) if not r]
    assert [out["id"][i] for i in rows] == [json.loads(line)["id"] for line in want_rows]
    lines = conv.convert_batch_lines(batch, indices)
    assert [line for line, r in zip(lines["json"], lines[trajkit.REJECT_COLUMN]) if not r] == want_rows


def test_converter_pickles_as_its_settings_and_shares_its_engine():
    conv = trajkit.Converter(template="chatml", date=DATE, expand="per-turn", on_error="column")
    copy = pickle.loads(pickle.dumps(conv))
    assert copy.settings == conv.settings and copy.on_error == "column"
    assert copy._engine is conv._engine  # loaded once per process
    text = read_lines("fixtures/samples/raw.jsonl")[0]
    assert copy.convert_lines(text) == conv.convert_lines(text)
    assert len(pickle.dumps(conv)) < 2000  # settings, not the tokenizer


def test_relative_paths_load_in_a_worker_elsewhere(monkeypatch, tmp_path):
    # A byo template given relative to the repository, unpickled where that path does not exist
    # (Ray workers run in their own directory): it loads, and rows name it as the CLI does.
    path, template = "fixtures/golden/cases.jsonl", "fixtures/tokenizers/llama3_1"
    conv = trajkit.Converter(template=template, date=DATE, source=path)
    blob = pickle.dumps(conv)
    trajkit._ENGINES.clear()
    monkeypatch.chdir(tmp_path)
    copy = pickle.loads(blob)
    text = read_lines.__globals__["ROOT"].joinpath(path).read_text().splitlines()[0]
    assert copy.convert_lines(text) == conv.convert_lines(text)
    assert f'"tokenizer":"{template}' in copy.convert_lines(text)[0]


def test_bad_settings_fail_at_once():
    with pytest.raises(ValueError):
        trajkit.Converter(reasoning="sometimes")
    with pytest.raises(ValueError, match="nonexistent"):
        trajkit.Converter(template="/nonexistent/template.jinja")


def test_threads_give_the_same_rows():
    path = "fixtures/golden/cases.jsonl"
    one, _ = wheel(path, threads=1)
    two, _ = wheel(path, threads=2)
    assert one == two and one
