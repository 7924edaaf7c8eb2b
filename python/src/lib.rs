//! `trajkit._native`: the library's conversion path for Python, one record text in, the CLI's JSON
//! lines out.
//!
//! The settings are mapped to a [`Converter`] as `trajkit convert` maps its flags, and each record
//! goes through [`Converter::convert_within`] and [`Row::write_json_line`], the calls the CLI makes,
//! so a row here is the CLI's row byte for byte. The Python half (python/trajkit) turns the lines
//! into dicts, rejects into `RecordError`s, and column batches into record texts.

use std::sync::Arc;

use anyhow::{bail, Context as _};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use trajkit::conversation::normalize_tool;
use trajkit::emit::{EmitKind, Row};
use trajkit::ingest::{IngestOptions, InputFormat};
use trajkit::pipeline::{bytes_per_token, Converter, Expand, LengthLimit, Truncate};
use trajkit::render::{load, Date, HarmonyOptions, ReasoningEffort, ReasoningPolicy, RenderOptions};
use trajkit::source::RawRecord;
use trajkit::tokenize::{TextTokenizer, TokenizerSource};

/// A rejected record or row: (kind, file, line, id, code, path, message, length). `kind` is
/// `record` (nothing of it was converted) or `row` (one per-turn row over `max_length`), as in the
/// CLI's `--rejects` lines.
type Reject = (&'static str, String, usize, Option<String>, &'static str, String, String, Option<usize>);

/// What became of one record: its rows as JSON lines, and its rejects.
type Converted = (Vec<String>, Vec<Reject>);

/// The settings of `trajkit convert`, as the Python `Converter` passes them (already checked there).
struct Settings {
    template: String,
    tokenizer: Option<String>,
    template_name: Option<String>,
    input_format: Option<String>,
    tools: Option<String>,
    reasoning: String,
    empty_think: String,
    expand: String,
    date: Option<String>,
    emit: String,
    max_length: Option<usize>,
    truncate: String,
    reasoning_effort: String,
    model_identity: String,
    knowledge_cutoff: String,
    current_date: Option<String>,
    drop_trailing_user: bool,
}

/// A converter loaded once (template, tokenizer, tools) and used for any number of records.
#[pyclass(frozen, module = "trajkit._native")]
struct Engine {
    converter: Arc<Converter>,
    limit: Option<LengthLimit>,
    emit: EmitKind,
    /// Worker threads for one call; `None`: the calling thread only.
    pool: Option<rayon::ThreadPool>,
}

#[pymethods]
impl Engine {
    #[new]
    #[pyo3(signature = (template, tokenizer, template_name, input_format, tools, reasoning, empty_think, expand,
        date, emit, max_length, truncate, reasoning_effort, model_identity, knowledge_cutoff, current_date, drop_trailing_user, threads))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        template: String,
        tokenizer: Option<String>,
        template_name: Option<String>,
        input_format: Option<String>,
        tools: Option<String>,
        reasoning: String,
        empty_think: String,
        expand: String,
        date: Option<String>,
        emit: String,
        max_length: Option<usize>,
        truncate: String,
        reasoning_effort: String,
        model_identity: String,
        knowledge_cutoff: String,
        current_date: Option<String>,
        drop_trailing_user: bool,
        threads: usize,
    ) -> PyResult<Engine> {
        let settings = Settings {
            template,
            tokenizer,
            template_name,
            input_format,
            tools,
            reasoning,
            empty_think,
            expand,
            date,
            emit,
            max_length,
            truncate,
            reasoning_effort,
            model_identity,
            knowledge_cutoff,
            current_date,
            drop_trailing_user,
        };
        // Loading a tokenizer takes a while; other Python threads may run meanwhile.
        py.detach(|| Engine::load(&settings, threads)).map_err(|e| PyValueError::new_err(format!("{e:#}")))
    }

    /// Convert record texts. `lines` are the records' 1-based lines in `file` (they make the ids of
    /// records without one, `<file stem>:<line>`, and locate rejects). Returns, per record, its
    /// rows as JSON lines (without line ends) and its rejects. The GIL is released meanwhile.
    fn convert(&self, py: Python<'_>, texts: Vec<String>, file: &str, lines: Vec<usize>) -> PyResult<Vec<Converted>> {
        if texts.len() != lines.len() {
            return Err(PyValueError::new_err(format!("{} texts but {} lines", texts.len(), lines.len())));
        }
        let work = |(text, line): (String, usize)| self.convert_one(file, line, text);
        Ok(py.detach(|| match &self.pool {
            Some(pool) => pool.install(|| {
                use rayon::prelude::*;
                texts.into_par_iter().zip(lines).map(work).collect()
            }),
            None => texts.into_iter().zip(lines).map(work).collect(),
        }))
    }

    /// The template's name as rows record it (`trajkit.template`).
    #[getter]
    fn template(&self) -> String {
        self.converter.template.name.clone()
    }
}

impl Engine {
    fn load(s: &Settings, threads: usize) -> anyhow::Result<Engine> {
        let emit = match s.emit.as_str() {
            "tokens" => EmitKind::Tokens,
            "messages" => EmitKind::Messages,
            "text" => EmitKind::Text,
            other => bail!("emit={other:?}: expected tokens, messages or text"),
        };
        // As `trajkit convert`: a length limit needs the tokenizer even when no tokens are written.
        let converter = converter(s, emit == EmitKind::Tokens || s.max_length.is_some())?;
        let limit = match s.max_length {
            Some(max_tokens) => Some(LengthLimit {
                max_tokens,
                truncate: match s.truncate.as_str() {
                    "drop" => Truncate::Drop,
                    "turns" => Truncate::Turns,
                    other => bail!("truncate={other:?}: expected drop or turns"),
                },
                bytes_per_token: converter.tokenizer.as_ref().map(bytes_per_token),
            }),
            None => None,
        };
        let pool = match threads {
            0 | 1 => None,
            n => Some(rayon::ThreadPoolBuilder::new().num_threads(n).build()?),
        };
        Ok(Engine { converter: Arc::new(converter), limit, emit, pool })
    }

    fn convert_one(&self, file: &str, line: usize, text: String) -> Converted {
        let record = RawRecord::from_text(file, line, line.saturating_sub(1), text);
        match self.converter.convert_within(&record, self.limit) {
            Ok(done) => {
                let rows = done.rows.iter().map(|row: &Row| row.to_json_line(self.emit)).collect();
                let rejects = done
                    .too_long
                    .into_iter()
                    .map(|row| {
                        let p = row.problem;
                        ("row", file.to_string(), line, Some(row.id), p.code, p.path, p.message, Some(row.length))
                    })
                    .collect();
                (rows, rejects)
            }
            Err(e) => {
                let p = e.problem;
                let length = e.length.map(|n| n as usize);
                (Vec::new(), vec![("record", file.to_string(), line, e.id, p.code, p.path, p.message, length)])
            }
        }
    }
}

/// The converter the settings describe, as `trajkit convert` builds it from its flags
/// (src/commands/settings.rs); tests/test_cli_equality.py holds the two to the same rows.
fn converter(s: &Settings, with_tokenizer: bool) -> anyhow::Result<Converter> {
    let date = match &s.date {
        Some(d) => Date::parse(d).with_context(|| format!("date={d:?}: expected YYYY-MM-DD"))?,
        None => Date::today(),
    };
    let options = load::LoadOptions { variant: s.template_name.as_deref(), tokenizer: s.tokenizer.as_deref(), date };
    let loaded = load::load_with(&s.template, options)?;
    let tokenizer = if with_tokenizer {
        let source = match (&s.tokenizer, &loaded.tokenizer) {
            (Some(spec), _) => TokenizerSource::parse(spec),
            (None, Some(source)) => source.clone(),
            (None, None) => {
                bail!("template={:?}: no tokenizer.json next to the template; pass tokenizer=PATH", s.template)
            }
        };
        Some(TextTokenizer::load(&source)?)
    } else {
        None
    };
    let default_tools = match &s.tools {
        Some(path) => Some(Arc::new(read_tools(path)?.into_iter().map(normalize_tool).collect())),
        None => None,
    };
    let format = match s.input_format.as_deref() {
        None => None,
        Some("raw") => Some(InputFormat::Raw),
        Some("messages") => Some(InputFormat::Messages),
        Some("sharegpt") => Some(InputFormat::ShareGpt),
        Some(other) => bail!("input_format={other:?}: expected raw, messages or sharegpt"),
    };
    Ok(Converter {
        template: loaded.template,
        tokenizer,
        ingest: IngestOptions { format, default_tools, drop_trailing_user: s.drop_trailing_user, ..Default::default() },
        validation: None,
        render: RenderOptions {
            reasoning: match s.reasoning.as_str() {
                "train" => ReasoningPolicy::Train,
                "context" => ReasoningPolicy::Context,
                "drop" => ReasoningPolicy::Drop,
                other => bail!("reasoning={other:?}: expected train, context or drop"),
            },
            train_empty_think: match s.empty_think.as_str() {
                "train" => true,
                "context" => false,
                other => bail!("empty_think={other:?}: expected train or context"),
            },
            date,
            harmony: HarmonyOptions {
                reasoning_effort: match s.reasoning_effort.as_str() {
                    "low" => ReasoningEffort::Low,
                    "medium" => ReasoningEffort::Medium,
                    "high" => ReasoningEffort::High,
                    other => bail!("reasoning_effort={other:?}: expected low, medium or high"),
                },
                model_identity: s.model_identity.clone(),
                knowledge_cutoff: s.knowledge_cutoff.clone(),
                current_date: s.current_date.clone(),
            },
        },
        expand: match s.expand.as_str() {
            "conversation" => Expand::Conversation,
            "per-turn" | "per_turn" => Expand::PerTurn,
            other => bail!("expand={other:?}: expected conversation or per-turn"),
        },
    })
}

/// A `tools` file: a JSON array of tool schemas, as `--tools` reads it.
fn read_tools(path: &str) -> anyhow::Result<Vec<serde_json::Value>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("tools={path:?}"))?;
    let value: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("tools={path:?}: not JSON"))?;
    let serde_json::Value::Array(items) = value else {
        bail!("tools={path:?}: expected a JSON array of tool schemas");
    };
    Ok(items)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Engine>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
