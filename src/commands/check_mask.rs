//! `trajkit check-mask`: show people exactly what will be trained on, and lint it.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, IsTerminal, Write};
use std::sync::Mutex;

use anyhow::{Context as _, Result};
use serde::Deserialize;

use super::settings::{for_each_record, thread_pool};
use super::{Exit, Output};
use crate::cli::{CheckMaskArgs, ColorArg};
use trajkit::check::{lint, row_turns, supervised_runs, TextGrammar, Violation};
use trajkit::emit::RowInfo;
use trajkit::pipeline::Converter;
use trajkit::source::RawRecord;
use trajkit::tokenize::{TextTokenizer, TokenizerSource};

/// The columns of a convert output row that checking needs.
#[derive(Deserialize)]
struct TokenRow {
    id: Option<serde_json::Value>,
    input_ids: Vec<u32>,
    assistant_masks: Vec<u8>,
    #[serde(default)]
    trajkit: Option<RowInfo>,
}

/// A row ready to check: ids, mask, and how it was made.
pub(super) struct Checked {
    pub(super) id: String,
    pub(super) ids: Vec<u32>,
    pub(super) mask: Vec<u8>,
    pub(super) info: RowInfo,
    /// Tool calls and user messages in the row's messages (for `report`'s histograms).
    pub(super) calls: usize,
    pub(super) user_turns: usize,
}

/// Reads the rows of a record: a convert output row as it is, anything else converted with the
/// render flags (shared with `report`, so both see the same rows).
pub(super) struct RowReader<'a> {
    flags: &'a crate::cli::RenderFlags,
    /// Built on first need: rows that are already tokenized need no converter.
    converter: Mutex<Option<std::sync::Arc<Converter>>>,
}

impl<'a> RowReader<'a> {
    pub(super) fn new(flags: &'a crate::cli::RenderFlags) -> Self {
        RowReader { flags, converter: Mutex::new(None) }
    }

    pub(super) fn rows(&self, record: &RawRecord) -> Result<Vec<Checked>, String> {
        let text = record.text.as_ref().map_err(|e| e.clone())?;
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        if value.get("input_ids").is_some() {
            let (calls, user_turns) = value.get("messages").and_then(|m| m.as_array()).map_or((0, 0), |m| shape(m));
            let row: TokenRow = serde_json::from_value(value).map_err(|e| format!("not a trajkit row: {e}"))?;
            if row.input_ids.len() != row.assistant_masks.len() {
                return Err(format!(
                    "input_ids has {} tokens but assistant_masks has {}",
                    row.input_ids.len(),
                    row.assistant_masks.len()
                ));
            }
            let id = match row.id {
                Some(serde_json::Value::String(s)) => s,
                Some(other) => other.to_string(),
                None => record.location.to_string(),
            };
            return Ok(vec![Checked {
                id,
                ids: row.input_ids,
                mask: row.assistant_masks,
                info: row.trajkit.unwrap_or_default(),
                calls,
                user_turns,
            }]);
        }
        let conv = {
            let mut slot = self.converter.lock().expect("converter lock");
            if slot.is_none() {
                *slot = Some(std::sync::Arc::new(
                    super::settings::converter(self.flags, true).map_err(|e| format!("{e:#}"))?,
                ));
            }
            slot.clone().expect("just set")
        };
        let done = conv.convert(record).map_err(|e| e.problem.to_string())?;
        Ok(done
            .rows
            .into_iter()
            .map(|r| {
                let messages: Vec<serde_json::Value> =
                    r.messages.iter().filter_map(|m| serde_json::from_str(m).ok()).collect();
                let (calls, user_turns) = shape(&messages);
                Checked { id: r.id, ids: r.input_ids, mask: r.assistant_masks, info: r.info, calls, user_turns }
            })
            .collect())
    }
}

/// Tool calls and user messages in a row's messages.
fn shape(messages: &[serde_json::Value]) -> (usize, usize) {
    let calls = messages.iter().map(|m| m.get("tool_calls").and_then(|c| c.as_array()).map_or(0, Vec::len)).sum();
    let users = messages.iter().filter(|m| m.get("role").and_then(|r| r.as_str()) == Some("user")).count();
    (calls, users)
}

pub fn run(args: CheckMaskArgs) -> Result<Exit> {
    let pool = thread_pool(args.render.threads)?;
    let tokenizers: Mutex<HashMap<String, TextTokenizer>> = Mutex::new(HashMap::new());
    let color = match args.color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => io::stdout().is_terminal(),
    };
    let mut out = Output::open(None)?;
    let mut stats = Summary::default();
    // A user's template given with --template: its turn markers, probed, for rows whose markers are
    // not control tokens of a known family (docs/templates.md).
    let markers = template_markers(&args.render);

    let reader = RowReader::new(&args.render);
    let rows_of = |record: &RawRecord| reader.rows(record);

    for_each_record(&args.inputs, &pool, rows_of, |record, rows| {
        let rows = match rows {
            Ok(rows) => rows,
            Err(message) => {
                stats.unreadable += 1;
                eprintln!("error: {}: {message}", record.location);
                return Ok(true);
            }
        };
        for row in rows {
            let tokenizer = tokenizer_for(&row.info, &args.render.tokenizer, &tokenizers)?;
            let report = check_row(&row, &tokenizer, markers.as_ref());
            stats.add(&row, &report);
            if args.rows.is_none_or(|n| stats.rows <= n) {
                let text = render_report(&row, &report, &tokenizer, args.full, color);
                if !out.line(&text)? {
                    return Ok(false);
                }
            } else if !report.violations.is_empty() {
                for v in &report.violations {
                    eprintln!("violation: row {}: {} [{}]", row.id, v.message, v.code);
                }
            }
        }
        Ok(true)
    })?;
    let summary = stats.line();
    out.line(&summary)?;
    out.finish()?;
    Ok(if stats.violations.values().sum::<usize>() > 0 || stats.unreadable > 0 {
        Exit::Problems
    } else {
        Exit::Success
    })
}

pub(super) fn tokenizer_for(
    info: &RowInfo,
    flag: &Option<String>,
    cache: &Mutex<HashMap<String, TextTokenizer>>,
) -> Result<TextTokenizer> {
    let spec = flag.clone().or_else(|| info.tokenizer.clone()).unwrap_or_else(|| "qwen3".to_string());
    let mut cache = cache.lock().expect("tokenizer cache lock");
    if let Some(t) = cache.get(&spec) {
        return Ok(t.clone());
    }
    let tokenizer = TextTokenizer::load(&TokenizerSource::parse(&spec)).with_context(|| format!("tokenizer {spec}"))?;
    cache.insert(spec, tokenizer.clone());
    Ok(tokenizer)
}

pub(super) struct Report {
    pub(super) violations: Vec<Violation>,
    /// Supervised empty think blocks (`<think>\n\n</think>`): legal, but usually not wanted (TRAPS 3).
    pub(super) empty_think_supervised: usize,
}

/// The probed turn markers of `--template` when it is a user's template.
pub(super) fn template_markers(flags: &crate::cli::RenderFlags) -> Option<TextGrammar> {
    if trajkit::render::Builtin::parse(&flags.template).is_some() && !std::path::Path::new(&flags.template).exists() {
        return None;
    }
    let resolved = super::settings::resolve(
        &flags.template,
        flags.template_name.as_deref(),
        flags.tokenizer.as_deref(),
        flags.date.as_deref(),
    )
    .ok()?;
    Some(resolved.template.turn_markers().clone())
}

pub(super) fn check_row(row: &Checked, tok: &TextTokenizer, markers: Option<&TextGrammar>) -> Report {
    let Some(turns) = row_turns(&row.info.template, tok, &row.ids, markers) else {
        return Report {
            violations: vec![Violation {
                code: "unknown_grammar",
                message: "cannot find turn markers in this row".into(),
            }],
            empty_think_supervised: 0,
        };
    };
    let violations = lint(&row.mask, &turns, &row.info.no_loss_turns);
    let empty_think_supervised = supervised_runs(&row.mask)
        .iter()
        .filter(|r| tok.decode(&row.ids[(*r).clone()]).contains("<think>\n\n</think>"))
        .count();
    Report { violations, empty_think_supervised }
}

fn render_report(row: &Checked, report: &Report, tok: &TextTokenizer, full: bool, color: bool) -> String {
    let supervised = row.mask.iter().filter(|&&m| m == 1).count();
    let runs = supervised_runs(&row.mask);
    let mut s = format!(
        "━━ {} · {} tokens · {} supervised in {} span(s) · template {} ━━\n",
        row.id,
        row.ids.len(),
        supervised,
        runs.len(),
        if row.info.template.is_empty() { "?" } else { &row.info.template }
    );
    let (open, close) = if color { ("\x1b[1;32m", "\x1b[0m") } else { ("▶", "◀") };
    if full {
        let mut i = 0;
        for r in &runs {
            s.push_str(&tok.decode(&row.ids[i..r.start]));
            s.push_str(open);
            s.push_str(&tok.decode(&row.ids[r.clone()]));
            s.push_str(close);
            i = r.end;
        }
        s.push_str(&tok.decode(&row.ids[i..]));
        s.push('\n');
    } else {
        for (k, r) in runs.iter().enumerate() {
            s.push_str(&format!("── span {} · tokens {}..{} ({}) ──\n", k + 1, r.start, r.end, r.len()));
            s.push_str(open);
            s.push_str(&tok.decode(&row.ids[r.clone()]));
            s.push_str(close);
            s.push('\n');
        }
    }
    if report.empty_think_supervised > 0 {
        s.push_str(&format!(
            "note: {} supervised empty <think></think> block(s): the model learns to open and close thinking at once \
             (--empty-think context keeps them without loss)\n",
            report.empty_think_supervised
        ));
    }
    for v in &report.violations {
        s.push_str(&format!("VIOLATION [{}]: {}\n", v.code, v.message));
    }
    s
}

#[derive(Default)]
pub(super) struct Summary {
    pub(super) rows: usize,
    pub(super) tokens: usize,
    pub(super) supervised: usize,
    pub(super) unreadable: usize,
    pub(super) empty_think_rows: usize,
    pub(super) violations: BTreeMap<&'static str, usize>,
}

impl Summary {
    pub(super) fn add(&mut self, row: &Checked, report: &Report) {
        self.rows += 1;
        self.tokens += row.ids.len();
        self.supervised += row.mask.iter().filter(|&&m| m == 1).count();
        self.empty_think_rows += usize::from(report.empty_think_supervised > 0);
        for v in &report.violations {
            *self.violations.entry(v.code).or_default() += 1;
        }
    }

    fn line(&self) -> String {
        let total: usize = self.violations.values().sum();
        let detail = if total == 0 {
            String::new()
        } else {
            format!(" ({})", self.violations.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", "))
        };
        let mut s = format!(
            "checked {} rows: {} supervised of {} tokens; {} violations{}",
            self.rows, self.supervised, self.tokens, total, detail
        );
        if self.unreadable > 0 {
            s.push_str(&format!("; {} unreadable records", self.unreadable));
        }
        if self.empty_think_rows > 0 {
            s.push_str(&format!("; {} rows supervise an empty think block", self.empty_think_rows));
        }
        let _ = io::stderr().flush();
        s
    }
}
