"""`datasets.Dataset.map(converter.convert_batch, batched=True, num_proc=2)` gives the CLI's rows."""

import json

import datasets
import pytest

import trajkit
from conftest import DATE, ROOT, cli

datasets.disable_progress_bars()


def lines_dataset(path):
    """The file's lines as records, exactly as written (blank lines included, as lines)."""
    return datasets.load_dataset("text", data_files=str(ROOT / path), split="train", keep_in_memory=True)


@pytest.mark.parametrize("expand", ["conversation", "per-turn"])
def test_map_with_two_processes_gives_the_cli_bytes(expand):
    path = "fixtures/golden/cases.jsonl"
    want, _ = cli(path, "--expand", expand)
    conv = trajkit.Converter(date=DATE, source=path, expand=expand)
    ds = lines_dataset(path)
    out = ds.map(conv.convert_batch_lines, batched=True, batch_size=8, with_indices=True, num_proc=2,
                 remove_columns=["text"])
    assert out["json"] == want


def test_map_with_two_processes_gives_the_cli_rows():
    path = "fixtures/golden/cases.jsonl"
    want, _ = cli(path)
    conv = trajkit.Converter(date=DATE, source=path)
    out = lines_dataset(path).map(conv.convert_batch, batched=True, batch_size=8, with_indices=True, num_proc=2,
                                  remove_columns=["text"], features=conv.features())
    got = out.to_list()
    assert len(got) == len(want)
    for row, line in zip(got, want):
        if row["meta"] is None:
            del row["meta"]  # a column of every row; the CLI writes it only when there is one
        # The rows as datasets hands them over, written as the CLI writes: the CLI's bytes.
        assert json.dumps(row, ensure_ascii=False, separators=(",", ":")) == line


def test_records_loaded_as_json_columns_give_the_same_rows():
    # load_dataset("json") parses the records into columns; convert_batch rebuilds each record.
    path = "fixtures/samples/raw.jsonl"
    want, _ = cli(path)
    conv = trajkit.Converter(date=DATE, source=path)
    ds = datasets.load_dataset("json", data_files=str(ROOT / path), split="train", keep_in_memory=True)
    out = ds.map(conv.convert_batch_lines, batched=True, batch_size=4, with_indices=True, num_proc=2,
                 remove_columns=ds.column_names)
    assert out["json"] == want


def test_bad_records_come_back_located_through_map():
    path = "fixtures/samples/bad.jsonl"
    want_rows, want_rejects = cli(path)
    conv = trajkit.Converter(date=DATE, source=path, on_error="column")
    out = lines_dataset(path).map(conv.convert_batch, batched=True, batch_size=3, with_indices=True, num_proc=2,
                                  remove_columns=["text"], features=conv.features())
    rejects = [json.loads(r) for r in out[trajkit.REJECT_COLUMN] if r]
    assert rejects == want_rejects  # file, line, id, path, code, message, the record as written
    good = out.filter(lambda r: not r[trajkit.REJECT_COLUMN])
    assert good["input_ids"] == [json.loads(line)["input_ids"] for line in want_rows]
    # And raised, when the user wants that: the first bad record stops the map.
    strict = trajkit.Converter(date=DATE, source=path)
    with pytest.raises(Exception) as raised:
        lines_dataset(path).map(strict.convert_batch, batched=True, with_indices=True, remove_columns=["text"])
    assert "cut-off" in str(raised.value) or "bad.jsonl:2" in str(raised.value)
