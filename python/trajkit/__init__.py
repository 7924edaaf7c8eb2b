"""trajkit in Python: agent trajectories to token-exact, loss-masked training rows, in-process.

The rows are the ``trajkit convert`` rows byte for byte: the compiled module runs the library's
conversion path and writes each row as the CLI's JSON line, which is parsed here. ``Converter`` is
made for ``datasets.Dataset.map(batched=True, num_proc=N)`` and Ray Data ``map_batches``: it pickles
as its settings, loads its template and tokenizer once per process, and releases the GIL while it
converts.

    import datasets, trajkit
    conv = trajkit.Converter(template="qwen3")
    ds = datasets.load_dataset("text", data_files="raw.jsonl", split="train")
    rows = ds.map(conv.convert_batch, batched=True, with_indices=True, remove_columns=["text"],
                  features=conv.features(), num_proc=4)

``validate``, ``check_mask``, ``Scorer`` and ``reward_fn`` are the CLI's ``validate``, ``check-mask`` and
``score`` (a TRL GRPO reward function) on records in memory, with the CLI's results.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

from . import _native

__all__ = [
    "Converter",
    "RecordError",
    "REJECT_COLUMN",
    "validate",
    "validate_lines",
    "check_mask",
    "Scorer",
    "reward_fn",
    "RewardFunction",
]

__version__ = _native.__version__

#: The column ``convert_batch`` adds with ``on_error="column"``: the reject as a JSON object text
#: (file, line, kind, id, code, path, message, length, record), or ``""`` for a row.
REJECT_COLUMN = "trajkit_reject"

_ON_ERROR = ("raise", "column")


class RecordError(ValueError):
    """A record (or, with ``max_length`` and ``expand="per-turn"``, one of its rows) that could not be
    converted, located as the CLI's ``--rejects`` lines locate it."""

    def __init__(self, *, kind, file, line, id, code, path, message, length=None, record=None):
        self.kind = kind
        self.file = file
        self.line = line
        self.id = id
        self.code = code
        self.path = path
        self.message = message
        self.length = length
        self.record = record
        where = f"{file}:{line}" + (f" (id {id})" if id is not None else "")
        at = f" {path}" if path else ""
        super().__init__(f"{where}: {code}{at}: {message}")

    def to_dict(self) -> Dict[str, Any]:
        """The reject as the CLI's ``--rejects`` line has it."""
        out = {
            "file": self.file,
            "line": self.line,
            "kind": self.kind,
            "id": self.id,
            "code": self.code,
            "path": self.path,
            "message": self.message,
        }
        if self.length is not None:
            out["length"] = self.length
        out["record"] = self.record
        return out

    def __reduce__(self):
        # Exceptions cross process boundaries (datasets' num_proc, Ray) as pickles.
        return (_rebuild_error, (self.to_dict(),))


def _rebuild_error(d):
    return RecordError(**d)


# One engine per settings per process: unpickled copies of a converter share it, so a worker loads
# the template and tokenizer once, not once per batch. The same holds for check_mask's checkers and
# scorers.
_ENGINES: Dict[tuple, Any] = {}
_ENGINES_LOCK = threading.Lock()


def _engine(settings: Dict[str, Any], cwd: str, kind=None):
    kind = kind or _native.Engine
    key = (kind.__name__, tuple(sorted(settings.items())), cwd)
    engine = _ENGINES.get(key)
    if engine is None:
        with _ENGINES_LOCK:
            engine = _ENGINES.get(key)
            if engine is None:
                engine = _load(kind, settings, cwd)
                _ENGINES[key] = engine
    return engine


def _load(kind, settings: Dict[str, Any], cwd: str):
    """Load the engine with relative paths read from the directory the converter was made in. The
    paths stay as given, since rows record them (`trajkit.tokenizer`) as the CLI does; a worker
    (Ray's in particular) may run elsewhere. Everything is read at load time."""
    here = os.getcwd()
    if cwd == here or not os.path.isdir(cwd):
        return kind(settings)
    os.chdir(cwd)
    try:
        return kind(settings)
    finally:
        os.chdir(here)


def _today() -> str:
    # Fixed when settings are made, so that every worker renders the same date.
    import datetime

    return datetime.date.today().isoformat()


class Converter:
    """``trajkit convert`` as an object. Arguments mirror the CLI flags (``--empty-think`` is
    ``empty_think`` and so on); see ``trajkit convert --help``.

    ``on_error``: ``"raise"`` raises ``RecordError`` for the first bad record of a call;
    ``"column"`` keeps going and returns each reject as a row whose ``trajkit_reject`` column holds
    it (and whose other columns are empty), so ``datasets.map`` keeps every record accounted for.
    ``source``: the file name rejects are located in and that ids of records without one are made
    from (``<stem>:<line>``, as the CLI does).
    ``threads``: worker threads per call (1: the calling thread; leave it at 1 under ``num_proc``).
    """

    def __init__(
        self,
        template: str = "qwen3",
        tokenizer: Optional[str] = None,
        *,
        template_name: Optional[str] = None,
        input_format: Optional[str] = None,
        tools: Optional[str] = None,
        reasoning: str = "train",
        empty_think: str = "train",
        expand: str = "conversation",
        date: Optional[str] = None,
        emit: str = "tokens",
        max_length: Optional[int] = None,
        truncate: str = "drop",
        reasoning_effort: str = "medium",
        model_identity: str = "You are ChatGPT, a large language model trained by OpenAI.",
        knowledge_cutoff: str = "2024-06",
        current_date: Optional[str] = None,
        drop_trailing_user: bool = False,
        adp_thought: str = "reasoning",
        adp_images: str = "refuse",
        adp_web_html: bool = False,
        adp_code_tool: Sequence[str] = (),
        threads: int = 1,
        on_error: str = "raise",
        source: str = "records",
    ):
        # Choices are checked (with the CLI's names) when the engine loads, below.
        expand = expand.replace("_", "-")
        if on_error not in _ON_ERROR:
            raise ValueError(f"on_error={on_error!r}: expected one of {list(_ON_ERROR)}")
        if date is None:
            date = _today()
        self._settings = dict(
            template=template,
            tokenizer=tokenizer,
            template_name=template_name,
            input_format=input_format,
            tools=tools,
            reasoning=reasoning,
            empty_think=empty_think,
            expand=expand,
            date=date,
            emit=emit,
            max_length=max_length,
            truncate=truncate,
            reasoning_effort=reasoning_effort,
            model_identity=model_identity,
            knowledge_cutoff=knowledge_cutoff,
            current_date=current_date,
            drop_trailing_user=bool(drop_trailing_user),
            adp_thought=adp_thought,
            adp_images=adp_images,
            adp_web_html=bool(adp_web_html),
            adp_code_tool=tuple(adp_code_tool),
            threads=int(threads),
        )
        self.on_error = on_error
        self.source = source
        self._cwd = os.getcwd()  # relative paths are read from here, in any process
        self._engine = _engine(self._settings, self._cwd)  # fails here, not in a worker, on bad settings

    # Pickled as its settings; the engine is looked up (or loaded once) in the process it lands in.
    def __getstate__(self):
        return {"settings": self._settings, "on_error": self.on_error, "source": self.source, "cwd": self._cwd}

    def __setstate__(self, state):
        self._settings = state["settings"]
        self.on_error = state["on_error"]
        self.source = state["source"]
        self._cwd = state["cwd"]
        self._engine = _engine(self._settings, self._cwd)

    def __repr__(self):
        shown = {k: v for k, v in self._settings.items() if v is not None}
        return f"trajkit.Converter({shown}, on_error={self.on_error!r})"

    @property
    def settings(self) -> Dict[str, Any]:
        return dict(self._settings)

    def features(self):
        """The ``datasets.Features`` of ``convert_batch``'s output, to pass as ``map(features=...)``.

        Without it every batch (and every ``num_proc`` shard) gets the types Arrow guesses from its
        own rows, which differ (a shard without tool calls has messages of another struct type) and
        cannot be joined. ``messages`` are ``List(Json())``: each message comes back exactly as the
        CLI wrote it, without the ``None`` fields a struct type would add. Token ids and labels are
        int32, masks int8. Needs datasets >= 5 (the ``Json`` feature).
        """
        from datasets import Features, Json, List, Value

        info = {"template": Value("string"), "tokenizer": Value("string"), "no_loss_turns": List(Value("int64"))}
        emit = self._settings["emit"]
        if emit == "tokens":
            columns = {
                "id": Value("string"),
                "input_ids": List(Value("int32")),
                "assistant_masks": List(Value("int8")),
                "labels": List(Value("int32")),
                "messages": List(Json()),
                "tools": Value("string"),
                "meta": Value("string"),
                "trajkit": info,
            }
        elif emit == "messages":
            columns = {"id": Value("string"), "messages": List(Json()), "tools": Value("string"), "meta": Value("string")}
        else:
            columns = {"id": Value("string"), "text": Value("string"), "spans": List(List(Value("int64"))), "trajkit": info}
        if self.on_error == "column":
            columns[REJECT_COLUMN] = Value("string")
        return Features(columns)

    def line_features(self):
        """The ``datasets.Features`` of ``convert_batch_lines``'s output."""
        from datasets import Features, Value

        columns = {"json": Value("string")}
        if self.on_error == "column":
            columns[REJECT_COLUMN] = Value("string")
        return Features(columns)

    # -- one record ---------------------------------------------------------------------------

    def convert_lines(self, record, *, line: int = 1) -> List[str]:
        """The rows of one record as the CLI's JSON lines (no line ends). ``record``: a dict or its
        JSON text. Raises ``RecordError`` for a bad record (whatever ``on_error`` says)."""
        text = _record_text(record)
        lines, rejects = self._engine.convert([text], self.source, [line])[0]
        if rejects:
            raise _error(rejects[0], text)
        return lines

    def convert(self, record, *, line: int = 1) -> List[Dict[str, Any]]:
        """The rows of one record as dicts. ``record``: a dict or its JSON text."""
        return [json.loads(row) for row in self.convert_lines(record, line=line)]

    # -- batches ------------------------------------------------------------------------------

    def convert_texts(self, texts: Sequence[str], lines: Optional[Sequence[int]] = None):
        """Convert record texts; returns (row JSON lines, RecordErrors) for the whole batch, rows in
        record order. Blank texts are skipped, as the CLI skips blank lines. ``lines``: the records'
        1-based lines (default 1, 2, ...)."""
        if lines is None:
            lines = range(1, len(texts) + 1)
        keep = [(t, int(n)) for t, n in zip(texts, lines) if not _blank(t)]
        done = self._engine.convert([t for t, _ in keep], self.source, [n for _, n in keep])
        return done, keep

    def convert_batch(self, batch: Mapping[str, Sequence], indices: Optional[Sequence[int]] = None) -> Dict[str, list]:
        """A column batch of records in, a column batch of rows out: the function for
        ``datasets.Dataset.map(batched=True)`` and Ray Data ``map_batches``.

        Records come either as one ``text`` column of JSON texts (``load_dataset("text", ...)``, or
        Ray's ``read_text``): the records exactly as written; or as columns of parsed values (each
        record is rebuilt from its row of the columns; numpy arrays and scalars become Python
        values, and ``None`` (or pandas' NaN) fields, which Arrow and pandas add for keys a record
        lacks, are left out).
        ``indices`` (``with_indices=True``): the records' 0-based positions, so their lines are
        ``index + 1`` as in the file (and rejects and default ids match the CLI's).

        Rows have the CLI's columns (``meta`` is ``None`` in rows without one). A record may give
        several rows (``expand="per-turn"``) or none, so remove the input columns
        (``remove_columns=...``) in ``datasets.map``, and pass ``features=converter.features()``.
        """
        texts = _batch_texts(batch)
        if indices is None:
            lines = range(1, len(texts) + 1)
        else:
            lines = [int(i) + 1 for i in indices]
        done, keep = self.convert_texts(texts, lines)
        rows: List[Dict[str, Any]] = []
        rejects: List[str] = []
        for (row_lines, record_rejects), (text, _) in zip(done, keep):
            for line in row_lines:
                rows.append(json.loads(line))
                rejects.append("")
            for reject in record_rejects:
                error = _error(reject, text)
                if self.on_error == "raise":
                    raise error
                rows.append({"id": error.id, _REJECTED: True})
                rejects.append(json.dumps(error.to_dict(), ensure_ascii=False))
        return _columns(rows, rejects if self.on_error == "column" else None, self._settings["emit"])

    def convert_batch_lines(self, batch: Mapping[str, Sequence], indices: Optional[Sequence[int]] = None) -> Dict[str, list]:
        """As ``convert_batch``, but each row is one ``json`` column holding the CLI's JSON line
        text, unparsed (plus ``trajkit_reject`` with ``on_error="column"``): the cheapest way to
        write rows out as JSONL, and the exact bytes of ``trajkit convert``."""
        texts = _batch_texts(batch)
        lines = range(1, len(texts) + 1) if indices is None else [int(i) + 1 for i in indices]
        done, keep = self.convert_texts(texts, lines)
        out: List[str] = []
        rejects: List[str] = []
        for (row_lines, record_rejects), (text, _) in zip(done, keep):
            out.extend(row_lines)
            rejects.extend([""] * len(row_lines))
            for reject in record_rejects:
                error = _error(reject, text)
                if self.on_error == "raise":
                    raise error
                out.append("")
                rejects.append(json.dumps(error.to_dict(), ensure_ascii=False))
        columns: Dict[str, list] = {"json": out}
        if self.on_error == "column":
            columns[REJECT_COLUMN] = rejects
        return columns


def _blank(text: str) -> bool:
    return not text.strip()


def _error(reject, text) -> RecordError:
    kind, file, line, id, code, path, message, length = reject
    return RecordError(
        kind=kind, file=file, line=line, id=id, code=code, path=path, message=message, length=length, record=text
    )


def _record_text(record) -> str:
    if isinstance(record, (bytes, bytearray)):
        return bytes(record).decode("utf-8")
    if isinstance(record, str):
        return record
    return json.dumps(_plain(record, drop_none=False), ensure_ascii=False)


def _batch_texts(batch: Mapping[str, Sequence]) -> List[str]:
    """The records of a column batch as JSON texts."""
    if hasattr(batch, "to_dict") and not isinstance(batch, dict):  # a pandas DataFrame
        batch = {k: batch[k].tolist() for k in batch.columns}
    names = list(batch.keys())
    if names == ["text"] or names == ["item"]:
        column = batch[names[0]]
        values = column.tolist() if hasattr(column, "tolist") else list(column)
        if all(isinstance(v, (str, bytes)) for v in values):
            return [v.decode("utf-8") if isinstance(v, bytes) else v for v in values]
    columns = {k: (v.tolist() if hasattr(v, "tolist") else list(v)) for k, v in batch.items()}
    n = len(next(iter(columns.values()), []))
    records = []
    for i in range(n):
        record = {k: _plain(columns[k][i], drop_none=True) for k in names}
        record = {k: v for k, v in record.items() if v is not None}
        records.append(json.dumps(record, ensure_ascii=False))
    return records


def _plain(value, *, drop_none: bool):
    """Python values out of numpy arrays and scalars (Ray's numpy and pandas batches), with the
    ``None`` fields of dicts left out when ``drop_none``."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            v = _plain(v, drop_none=drop_none)
            if v is None and drop_none:
                continue
            out[k] = v
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(v, drop_none=drop_none) for v in value]
    if drop_none and isinstance(value, float) and value != value:
        return None  # pandas fills a missing field with NaN, and NaN is not JSON
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # numpy array or scalar
        return _plain(value.tolist(), drop_none=drop_none)
    return value


_TOKEN_COLUMNS = ["id", "input_ids", "assistant_masks", "labels", "messages", "tools", "meta", "trajkit"]
_MESSAGE_COLUMNS = ["id", "messages", "tools", "meta"]
_TEXT_COLUMNS = ["id", "text", "spans", "trajkit"]


_REJECTED = "\0rejected"


def _columns(rows: List[dict], rejects: Optional[List[str]], emit: str) -> Dict[str, list]:
    """Rows as columns (a reject's row has its id and empty columns). Every batch has the same columns, whether or not
    its rows have a ``meta`` (``None`` when they do not), so that batches concatenate."""
    names = {"tokens": _TOKEN_COLUMNS, "messages": _MESSAGE_COLUMNS, "text": _TEXT_COLUMNS}[emit]
    empty = {"input_ids": [], "assistant_masks": [], "labels": [], "messages": [], "spans": []}
    columns: Dict[str, list] = {name: [] for name in names}
    for row in rows:
        for name in names:
            if _REJECTED in row and name != "id":
                columns[name].append(empty.get(name))
            else:
                columns[name].append(row.get(name))
    if rejects is not None:
        columns[REJECT_COLUMN] = rejects
    return columns


# -- validate, check_mask, score ------------------------------------------------------------------


def _records(records, lines: Optional[Sequence[int]]):
    """Record texts and their 1-based lines, blank texts left out (as the CLI skips blank lines).
    ``records``: an iterable of JSON texts, bytes or dicts, or a column batch (``datasets.map``,
    Ray ``map_batches``)."""
    if isinstance(records, Mapping) or (hasattr(records, "columns") and hasattr(records, "to_dict")):
        texts = _batch_texts(records)
    else:
        texts = [_record_text(r) for r in records]
    if lines is None:
        lines = range(1, len(texts) + 1)
    keep = [(t, int(n)) for t, n in zip(texts, lines) if not _blank(t)]
    return [t for t, _ in keep], [n for _, n in keep]


def validate_lines(
    records,
    *,
    input_format: Optional[str] = None,
    tools: Optional[str] = None,
    drop_trailing_user: bool = False,
    source: str = "records",
    lines: Optional[Sequence[int]] = None,
    threads: int = 1,
    **adp,
) -> List[str]:
    """``trajkit validate --format json`` in-process: its JSON lines (without line ends), byte for
    byte. Findings about the ``tools`` file come first (located in that file, ``line`` null), then
    each record's, records located as ``source`` line ``lines[i]`` (default 1, 2, ...). ``adp_*``:
    how ADP records are read, as ``Converter``'s."""
    unknown = set(adp) - _ADP_SETTINGS
    if unknown:
        raise TypeError(f"validate: unknown settings {sorted(unknown)}")
    texts, lines = _records(records, lines)
    settings = dict(adp, input_format=input_format, tools=tools, drop_trailing_user=bool(drop_trailing_user))
    tool_lines, per_record = _native.validate(texts, source, lines, settings, int(threads))
    return tool_lines + [line for record in per_record for line in record]


def validate(records, **kwargs) -> List[Dict[str, Any]]:
    """``trajkit validate`` in-process: one dict per finding (file, line, id, code, severity, path,
    message), exactly the CLI's ``--format json`` lines; arguments as ``validate_lines``. A record
    with no findings adds nothing; a finding with severity ``error`` is what makes the CLI exit 1."""
    return [json.loads(line) for line in validate_lines(records, **kwargs)]


#: The ``Converter`` settings that also say how ``check_mask`` converts records.
_CONVERT_SETTINGS = {
    "template_name",
    "input_format",
    "tools",
    "reasoning",
    "empty_think",
    "expand",
    "reasoning_effort",
    "model_identity",
    "knowledge_cutoff",
    "current_date",
    "drop_trailing_user",
    "adp_thought",
    "adp_images",
    "adp_web_html",
    "adp_code_tool",
}

_ADP_SETTINGS = {"adp_thought", "adp_images", "adp_web_html", "adp_code_tool"}


def check_mask(
    rows_or_records,
    *,
    source: str = "records",
    lines: Optional[Sequence[int]] = None,
    template: str = "qwen3",
    tokenizer: Optional[str] = None,
    date: Optional[str] = None,
    threads: int = 1,
    **settings,
) -> List[Dict[str, Any]]:
    """``trajkit check-mask`` in-process, one dict per row: ``file`` and ``line`` of its record,
    ``id``, ``template``, ``tokens``, ``supervised`` (tokens with loss), ``spans`` (the supervised
    runs as ``[start, end)`` token ranges, the spans the CLI prints), ``violations``
    (``[{code, message}]``) and ``empty_think_supervised``.

    ``rows_or_records``: convert output rows (with ``input_ids``, checked as they are) or input
    records (converted first with the other keyword arguments, which are ``Converter``'s). A record
    that cannot be read or converted gives one dict with ``error`` instead (the CLI's
    ``error: FILE:LINE: ...`` line). ``tokenizer`` decodes every row (default: the row's own)."""
    unknown = set(settings) - _CONVERT_SETTINGS
    if unknown:
        raise TypeError(f"check_mask: unknown settings {sorted(unknown)} (known: {sorted(_CONVERT_SETTINGS)})")
    texts, lines = _records(rows_or_records, lines)
    if "expand" in settings:
        settings["expand"] = settings["expand"].replace("_", "-")
    if "adp_code_tool" in settings:
        settings["adp_code_tool"] = tuple(settings["adp_code_tool"])
    config = dict(settings, template=template, tokenizer=tokenizer, date=date or _today(), threads=int(threads))
    checker = _engine(config, os.getcwd(), _native.MaskCheck)
    out: List[Dict[str, Any]] = []
    for line, (reports, error) in zip(lines, checker.check(texts, source, lines)):
        if error is not None:
            out.append({"file": source, "line": line, "error": error})
        for report in reports:
            out.append({"file": source, "line": line, **json.loads(report)})
    return out


class Scorer:
    """``trajkit score`` in-process: ``score(request)`` is one ``score --serve`` response.

    ``template``, ``parser``, ``tokenizer``, ``date``: how completions are read (``score``'s flags).
    ``weights``: a dict overriding the default weights (``{"arguments": 2}``), or the path of a
    ``--weights`` file. ``gold``: a gold file whose turns requests may name by ``id`` and ``turn``.
    Pickles as its settings (the tokenizer is loaded once per process)."""

    def __init__(
        self,
        template: str = "qwen3",
        *,
        parser: Optional[str] = None,
        tokenizer: Optional[str] = None,
        weights=None,
        gold: Optional[str] = None,
        date: Optional[str] = None,
        threads: int = 1,
    ):
        settings = dict(template=template, parser=parser, tokenizer=tokenizer, gold=gold, date=date, threads=int(threads))
        if isinstance(weights, Mapping):
            settings["weights"] = json.dumps(dict(weights), sort_keys=True)
        elif weights is not None:
            settings["weights_file"] = os.fspath(weights)
        self._settings = settings
        self._cwd = os.getcwd()
        self._native = _engine(self._settings, self._cwd, _native.Scorer)

    def __getstate__(self):
        return {"settings": self._settings, "cwd": self._cwd}

    def __setstate__(self, state):
        self._settings = state["settings"]
        self._cwd = state["cwd"]
        self._native = _engine(self._settings, self._cwd, _native.Scorer)

    def score_lines(self, lines: Sequence[str]) -> List[str]:
        """Request lines (JSON texts) → the CLI's response lines, byte for byte."""
        return self._native.score_lines(list(lines))

    def score_batch(self, requests: Sequence) -> List[Dict[str, Any]]:
        """Requests (dicts or JSON texts) → response dicts: ``reward`` (None with ``error`` for a bad
        request), ``components``, ``kind``, ``parse_error``, and the request's ``id``/``turn``."""
        texts = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in requests]
        return [json.loads(line) for line in self._native.score_lines(texts)]

    def score(self, request) -> Dict[str, Any]:
        """One request (a dict or its JSON text) → its response dict."""
        return self.score_batch([request])[0]


#: Dataset columns a reward function passes on to a request when TRL hands them over.
_REQUEST_COLUMNS = ("reference", "tools", "history", "messages", "case", "id", "turn")


class RewardFunction:
    """A GRPO reward function for TRL: ``(prompts, completions, completion_ids=..., **columns) ->
    list[float]`` (``None`` for a request that could not be scored, which TRL reads as NaN)."""

    __name__ = "trajkit"

    def __init__(self, scorer: Scorer, use_ids: bool = True):
        self.scorer = scorer
        self.use_ids = use_ids

    def requests(self, prompts=None, completions=None, completion_ids=None, **columns) -> List[Dict[str, Any]]:
        """The ``score`` requests the call makes: the completion (its token ids when TRL passes
        them and ``use_ids``, else its text or messages), the dataset's ``reference``, ``tools``,
        ``history``, ``case`` (and ``id``/``turn`` for a scorer with ``gold``), and a conversational
        prompt as the history when there is no ``history`` column."""
        use_ids = self.use_ids and completion_ids is not None
        n = len(completion_ids if use_ids else completions)
        out = []
        for i in range(n):
            request: Dict[str, Any] = {}
            if use_ids:
                request["completion_ids"] = [int(t) for t in completion_ids[i]]
            else:
                request["completion"] = completions[i]
            for name in _REQUEST_COLUMNS:
                values = columns.get(name)
                if values is not None and values[i] is not None:
                    request[name] = values[i]
            if prompts is not None and isinstance(prompts[i], list) and "history" not in request:
                request["prompt"] = prompts[i]
            out.append(request)
        return out

    def __call__(self, prompts=None, completions=None, completion_ids=None, **kwargs) -> List[Optional[float]]:
        requests = self.requests(prompts, completions, completion_ids, **kwargs)
        return [reply["reward"] for reply in self.scorer.score_batch(requests)]


def reward_fn(template: str = "qwen3", *, use_ids: bool = True, **scorer_settings) -> RewardFunction:
    """``trajkit score`` as a TRL ``GRPOTrainer`` reward function (``reward_funcs=trajkit.reward_fn()``),
    in-process: no ``score --serve`` subprocess. Settings as ``Scorer``'s. Make the dataset with
    ``trajkit eval --prompts`` (columns ``prompt``, ``reference``, ``tools``, ``history``, ``case``)."""
    return RewardFunction(Scorer(template, **scorer_settings), use_ids=use_ids)
