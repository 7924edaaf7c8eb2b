//! `trajkit._native`: the library's per-record steps for Python, record texts in, the CLI's JSON
//! lines out.
//!
//! Settings become pipeline objects through [`trajkit::settings`], the module the binary maps its
//! flags into, and each record goes through the call the binary makes for it
//! ([`Converter::convert_within`] and [`Row::write_json_line`], [`Validator::validate`] and
//! [`LocatedDiagnostic::json_line`], [`MaskChecker`], [`Scorer::score_line`]), so what comes back is the CLI's
//! output byte for byte. The Python half (python/trajkit) turns lines into dicts, rejects into
//! `RecordError`s, and column batches into record texts. The GIL is released while Rust works.

use std::sync::Arc;

/// The binary's allocator: rows are built from many short-lived strings, which mimalloc makes
/// cheaper than the system allocator (the wheel should convert as fast as the binary). CPython
/// allocates its own objects itself, so only the Rust side changes.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use pyo3::conversion::FromPyObjectOwned;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use trajkit::check_mask::MaskChecker;
use trajkit::emit::{EmitKind, Row};
use trajkit::eval::score::Scorer as ScoreProtocol;
use trajkit::eval::{SchemaCache, Weights};
use trajkit::ingest::{AdpImages, AdpOptions, AdpThought, IngestOptions};
use trajkit::pipeline::{bytes_per_token, Converter, Expand, LengthLimit, Truncate};
use trajkit::render::{HarmonyOptions, ReasoningEffort, ReasoningPolicy};
use trajkit::settings::{
    self, parse, parse_code_tool, parse_input_format, Choice, ConvertSettings, InputSettings, OutputSettings,
    TrainEmptyThink,
};
use trajkit::source::RawRecord;
use trajkit::validate::{LocatedDiagnostic, Validator};

/// A rejected record or row: (kind, file, line, id, code, path, message, length). `kind` is
/// `record` (nothing of it was converted) or `row` (one per-turn row over `max_length`), as in the
/// CLI's `--rejects` lines.
type Reject = (&'static str, String, usize, Option<String>, &'static str, String, String, Option<usize>);

/// What became of one record: its rows as JSON lines, and its rejects.
type Converted = (Vec<String>, Vec<Reject>);

fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// An error with its causes, as the CLI prints it.
fn settings_error(e: settings::SettingsError) -> PyErr {
    PyValueError::new_err(settings::error_chain(&e))
}

/// `settings[key]` when present and not `None`.
fn get<'py, T: FromPyObjectOwned<'py>>(settings: &Bound<'py, PyDict>, key: &str) -> PyResult<Option<T>> {
    match settings.get_item(key)? {
        Some(v) if !v.is_none() => {
            Ok(Some(v.extract::<T>().map_err(|e| value_error(format!("{key}: {}", Into::<PyErr>::into(e))))?))
        }
        _ => Ok(None),
    }
}

fn choice<T: Choice>(settings: &Bound<'_, PyDict>, key: &str, default: T) -> PyResult<T> {
    match get::<String>(settings, key)? {
        Some(name) => parse::<T>(&name).map_err(settings_error),
        None => Ok(default),
    }
}

/// How records are read, from the keyword arguments `input_format`, `tools`, `drop_trailing_user`
/// and the ADP ones (`adp_thought`, `adp_images`, `adp_web_html`, `adp_code_tool` as a list).
fn input_settings(s: &Bound<'_, PyDict>) -> PyResult<InputSettings> {
    let format = match get::<String>(s, "input_format")? {
        Some(name) => Some(parse_input_format(&name).map_err(settings_error)?),
        None => None,
    };
    let adp = AdpOptions::default();
    let code_tools = get::<Vec<String>>(s, "adp_code_tool")?.unwrap_or_default();
    Ok(InputSettings {
        options: IngestOptions {
            format,
            default_tools: None,
            drop_trailing_user: get(s, "drop_trailing_user")?.unwrap_or(false),
            adp: AdpOptions {
                thought: choice::<AdpThought>(s, "adp_thought", adp.thought)?,
                images: choice::<AdpImages>(s, "adp_images", adp.images)?,
                web_html: get(s, "adp_web_html")?.unwrap_or(adp.web_html),
                code_tools: code_tools
                    .iter()
                    .map(|spec| parse_code_tool(spec))
                    .collect::<Result<_, _>>()
                    .map_err(settings_error)?,
            },
        },
        tools: get(s, "tools")?,
    })
}

/// The converter settings from `trajkit.Converter`'s keyword arguments (the CLI's flags, spelt
/// with underscores); absent ones take the CLI's defaults.
fn convert_settings(s: &Bound<'_, PyDict>) -> PyResult<ConvertSettings> {
    let defaults = ConvertSettings::default();
    let harmony = HarmonyOptions::default();
    Ok(ConvertSettings {
        template: get(s, "template")?.unwrap_or(defaults.template),
        template_name: get(s, "template_name")?,
        tokenizer: get(s, "tokenizer")?,
        date: get(s, "date")?,
        input: input_settings(s)?,
        reasoning: choice::<ReasoningPolicy>(s, "reasoning", defaults.reasoning)?,
        train_empty_think: choice(s, "empty_think", TrainEmptyThink(defaults.train_empty_think))?.0,
        expand: choice::<Expand>(s, "expand", defaults.expand)?,
        harmony: HarmonyOptions {
            reasoning_effort: choice::<ReasoningEffort>(s, "reasoning_effort", harmony.reasoning_effort)?,
            model_identity: get(s, "model_identity")?.unwrap_or(harmony.model_identity),
            knowledge_cutoff: get(s, "knowledge_cutoff")?.unwrap_or(harmony.knowledge_cutoff),
            current_date: get(s, "current_date")?,
        },
    })
}

/// `threads` workers for one call; `None` (0 or 1): the calling thread only.
fn pool(threads: usize) -> PyResult<Option<rayon::ThreadPool>> {
    match threads {
        0 | 1 => Ok(None),
        n => Ok(Some(rayon::ThreadPoolBuilder::new().num_threads(n).build().map_err(value_error)?)),
    }
}

/// `work` over `items` in order, on the pool when there is one.
fn map_in_order<I: Send, O: Send>(
    pool: &Option<rayon::ThreadPool>,
    items: Vec<I>,
    work: impl Fn(I) -> O + Sync + Send,
) -> Vec<O> {
    match pool {
        Some(pool) => pool.install(|| {
            use rayon::prelude::*;
            items.into_par_iter().map(work).collect()
        }),
        None => items.into_iter().map(work).collect(),
    }
}

fn records(texts: Vec<String>, file: &str, lines: Vec<usize>) -> PyResult<Vec<RawRecord>> {
    if texts.len() != lines.len() {
        return Err(value_error(format!("{} texts but {} lines", texts.len(), lines.len())));
    }
    Ok(texts
        .into_iter()
        .zip(lines)
        .map(|(text, line)| RawRecord::from_text(file, line, line.saturating_sub(1), text))
        .collect())
}

/// A converter loaded once (template, tokenizer, tools) and used for any number of records.
#[pyclass(frozen, module = "trajkit._native")]
struct Engine {
    converter: Arc<Converter>,
    limit: Option<LengthLimit>,
    emit: EmitKind,
    pool: Option<rayon::ThreadPool>,
}

#[pymethods]
impl Engine {
    /// `settings`: `trajkit.Converter`'s keyword arguments (plus `emit`, `max_length`, `truncate`,
    /// `threads`).
    #[new]
    fn new(py: Python<'_>, settings: &Bound<'_, PyDict>) -> PyResult<Engine> {
        let convert = convert_settings(settings)?;
        let emit = choice(settings, "emit", EmitKind::Tokens)?;
        let max_length: Option<usize> = get(settings, "max_length")?;
        let truncate = choice(settings, "truncate", Truncate::Drop)?;
        let threads: usize = get(settings, "threads")?.unwrap_or(1);
        // As `trajkit convert`: a length limit needs the tokenizer even when no tokens are written.
        let with_tokenizer = emit == EmitKind::Tokens || max_length.is_some();
        // Loading a tokenizer takes a while; other Python threads may run meanwhile.
        let converter = py.detach(|| convert.converter(with_tokenizer)).map_err(settings_error)?;
        let limit = max_length.map(|max_tokens| LengthLimit {
            max_tokens,
            truncate,
            bytes_per_token: converter.tokenizer.as_ref().map(bytes_per_token),
        });
        Ok(Engine { converter: Arc::new(converter), limit, emit, pool: pool(threads)? })
    }

    /// Convert record texts. `lines` are the records' 1-based lines in `file` (they make the ids of
    /// records without one, `<file stem>:<line>`, and locate rejects). Returns, per record, its
    /// rows as JSON lines (without line ends) and its rejects. The GIL is released meanwhile.
    fn convert(&self, py: Python<'_>, texts: Vec<String>, file: &str, lines: Vec<usize>) -> PyResult<Vec<Converted>> {
        let records = records(texts, file, lines)?;
        Ok(py.detach(|| map_in_order(&self.pool, records, |record| self.convert_one(&record))))
    }

    /// The template's name as rows record it (`trajkit.template`).
    #[getter]
    fn template(&self) -> String {
        self.converter.template.name.clone()
    }
}

impl Engine {
    fn convert_one(&self, record: &RawRecord) -> Converted {
        let (file, line) = (record.location.file.to_string(), record.location.line);
        match self.converter.convert_within(record, self.limit) {
            Ok(done) => {
                let rows = done.rows.iter().map(|row: &Row| row.to_json_line(self.emit)).collect();
                let rejects = done
                    .too_long
                    .into_iter()
                    .map(|row| {
                        let p = row.problem;
                        ("row", file.clone(), line, Some(row.id), p.code.as_str(), p.path, p.message, Some(row.length))
                    })
                    .collect();
                (rows, rejects)
            }
            Err(e) => {
                let p = e.problem;
                let length = e.length.map(|n| n as usize);
                (Vec::new(), vec![("record", file, line, e.id, p.code.as_str(), p.path, p.message, length)])
            }
        }
    }
}

/// `trajkit validate --format json` on record texts: the findings about the `tools` file (located
/// in it, without a line), then each record's findings, as the CLI's JSON lines.
#[pyfunction]
#[pyo3(signature = (texts, file, lines, settings, threads=1))]
fn validate(
    py: Python<'_>,
    texts: Vec<String>,
    file: &str,
    lines: Vec<usize>,
    settings: &Bound<'_, PyDict>,
    threads: usize,
) -> PyResult<(Vec<String>, Vec<Vec<String>>)> {
    let input = input_settings(settings)?;
    let records = records(texts, file, lines)?;
    let pool = pool(threads)?;
    py.detach(|| {
        let ingest = input.ingest_options().map_err(settings_error)?;
        let written = input.read_tools().map_err(settings_error)?;
        let (validator, tool_findings) = Validator::new(ingest, written.as_deref());
        let tools_file = input.tools.as_deref().unwrap_or_default();
        let tool_lines = tool_findings
            .iter()
            .map(|diagnostic| LocatedDiagnostic { file: tools_file, line: None, id: None, diagnostic }.json_line())
            .collect();
        let per_record = map_in_order(&pool, records, |record| {
            let report = trajkit::pairs::validate_record(&validator, &record);
            let line = Some(record.location.line);
            let (file, id) = (&*record.location.file, report.id.as_deref());
            report
                .findings
                .iter()
                .map(|diagnostic| LocatedDiagnostic { file, line, id, diagnostic }.json_line())
                .collect()
        });
        Ok((tool_lines, per_record))
    })
}

/// What check-mask makes of one record: each row's report as a JSON object text, and why the
/// record could not be read (then there are no rows).
type MaskChecked = (Vec<String>, Option<String>);

/// `trajkit check-mask` for records or convert output rows, with its converter and tokenizers
/// loaded once.
#[pyclass(frozen, module = "trajkit._native")]
struct MaskCheck {
    checker: MaskChecker,
    pool: Option<rayon::ThreadPool>,
}

#[pymethods]
impl MaskCheck {
    #[new]
    fn new(py: Python<'_>, settings: &Bound<'_, PyDict>) -> PyResult<MaskCheck> {
        let convert = convert_settings(settings)?;
        let threads: usize = get(settings, "threads")?.unwrap_or(1);
        Ok(MaskCheck { checker: py.detach(|| MaskChecker::new(convert)), pool: pool(threads)? })
    }

    /// Per record: its rows' reports, or the reason it is unreadable (what the CLI prints as
    /// `error: FILE:LINE: …`). A tokenizer that cannot be loaded fails the call, as it ends the CLI.
    fn check(&self, py: Python<'_>, texts: Vec<String>, file: &str, lines: Vec<usize>) -> PyResult<Vec<MaskChecked>> {
        let records = records(texts, file, lines)?;
        let done: Vec<Result<MaskChecked, String>> = py.detach(|| {
            map_in_order(&self.pool, records, |record| {
                let rows = match self.checker.rows(&record) {
                    Ok(rows) => rows,
                    Err(message) => return Ok((Vec::new(), Some(message))),
                };
                let mut reports = Vec::with_capacity(rows.len());
                for row in rows {
                    let tokenizer = self.checker.tokenizer(&row.info)?;
                    reports.push(self.checker.check(&row, &tokenizer).to_json(&row).to_string());
                }
                Ok((reports, None))
            })
        });
        done.into_iter().collect::<Result<Vec<_>, _>>().map_err(value_error)
    }
}

/// `trajkit score`: requests in, the CLI's response lines out.
#[pyclass(frozen, module = "trajkit._native")]
struct Scorer {
    scorer: ScoreProtocol,
    pool: Option<rayon::ThreadPool>,
}

#[pymethods]
impl Scorer {
    /// `settings`: template, parser, tokenizer, date (as `score`'s flags), `weights` (a JSON object
    /// text), `weights_file` (as `--weights`), `gold` (as `--gold`), `threads`.
    #[new]
    fn new(py: Python<'_>, settings: &Bound<'_, PyDict>) -> PyResult<Scorer> {
        let output = OutputSettings {
            template: get(settings, "template")?.unwrap_or_else(|| "qwen3".into()),
            parser: get(settings, "parser")?,
            tokenizer: get(settings, "tokenizer")?,
            date: get(settings, "date")?,
        };
        let weights_json: Option<String> = get(settings, "weights")?;
        let weights_file: Option<String> = get(settings, "weights_file")?;
        let gold: Option<String> = get(settings, "gold")?;
        let threads: usize = get(settings, "threads")?.unwrap_or(1);
        let scorer = py.detach(|| -> PyResult<ScoreProtocol> {
            let reader = output.reader().map_err(settings_error)?;
            // Loaded now rather than in the first reward call (only completions given as ids need it).
            let _ = reader.tokenizer();
            let weights = match (weights_json, weights_file) {
                (Some(text), _) => {
                    let value: serde_json::Value =
                        serde_json::from_str(&text).map_err(|e| value_error(format!("weights: not JSON: {e}")))?;
                    Weights::from_json(&value).map_err(|e| value_error(format!("weights: {e}")))?
                }
                (None, Some(path)) => settings::read_weights(&path).map_err(settings_error)?,
                (None, None) => Weights::default(),
            };
            let cache = SchemaCache::default();
            let gold = match gold {
                Some(path) => Some(settings::read_gold(&path, &cache).map_err(settings_error)?),
                None => None,
            };
            Ok(ScoreProtocol::new(reader, weights, gold, cache))
        })?;
        Ok(Scorer { scorer, pool: pool(threads)? })
    }

    /// One response line per request line (a bad request is answered with `error`, as the CLI
    /// answers it).
    fn score_lines(&self, py: Python<'_>, lines: Vec<String>) -> Vec<String> {
        py.detach(|| map_in_order(&self.pool, lines, |line| self.scorer.score_line(&line).to_string()))
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Engine>()?;
    m.add_class::<MaskCheck>()?;
    m.add_class::<Scorer>()?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
