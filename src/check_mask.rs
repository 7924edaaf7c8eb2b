//! `check-mask`'s per-row step: read a record as rows (a convert output row as it is, anything else
//! converted on the fly), read each row back as turns with [`crate::check`] and lint its mask.
//!
//! The binary's `check-mask` prints the reports as text; the Python package returns
//! [`RowReport::to_json`]. Both go through [`MaskChecker`], so they read, convert and check a record
//! the same way.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use serde::Deserialize;
use serde_json::{json, Value};

use crate::check::{lint, row_turns, supervised_runs};
use crate::diagnostic::{Code, Diagnostic};
use crate::emit::RowInfo;
use crate::pipeline::Converter;
use crate::render::probe::TextGrammar;
use crate::settings::{error_chain, ConvertSettings};
use crate::source::RawRecord;
use crate::tokenize::{TextTokenizer, TokenizerSource};

/// The columns of a convert output row that checking needs.
#[derive(Deserialize)]
struct TokenRow {
    id: Option<Value>,
    input_ids: Vec<u32>,
    assistant_masks: Vec<u8>,
    #[serde(default)]
    trajkit: Option<RowInfo>,
}

/// A row ready to check: ids, mask, and how it was made.
pub struct Checked {
    pub id: String,
    pub ids: Vec<u32>,
    pub mask: Vec<u8>,
    pub info: RowInfo,
    /// Tool calls and user messages in the row's messages (`report`'s histograms).
    pub calls: usize,
    pub user_turns: usize,
}

/// Tool calls and user messages in a row's messages.
fn shape(messages: &[Value]) -> (usize, usize) {
    let calls = messages.iter().map(|m| m.get("tool_calls").and_then(Value::as_array).map_or(0, Vec::len)).sum();
    let users = messages.iter().filter(|m| m.get("role").and_then(Value::as_str) == Some("user")).count();
    (calls, users)
}

/// What checking found in one row.
pub struct RowReport {
    pub violations: Vec<Diagnostic>,
    /// Supervised empty think blocks (`<think>\n\n</think>`): legal, but usually not wanted (TRAPS 3).
    pub empty_think_supervised: usize,
}

impl RowReport {
    /// The report as one JSON object: the row's id, token and supervised counts, supervised spans
    /// as `[start, end)` token ranges, violations, and supervised empty think blocks.
    pub fn to_json(&self, row: &Checked) -> Value {
        let spans: Vec<[usize; 2]> = supervised_runs(&row.mask).into_iter().map(|r| [r.start, r.end]).collect();
        let violations: Vec<Value> =
            self.violations.iter().map(|v| json!({"code": v.code, "message": v.message})).collect();
        json!({
            "id": row.id,
            "template": row.info.template,
            "tokens": row.ids.len(),
            "supervised": row.mask.iter().filter(|&&m| m == 1).count(),
            "spans": spans,
            "violations": violations,
            "empty_think_supervised": self.empty_think_supervised,
        })
    }
}

/// Reads records as rows and checks them; shared read-only across threads.
pub struct MaskChecker {
    settings: ConvertSettings,
    /// Built on first need: rows that are already tokenized need no converter.
    converter: OnceLock<Result<Arc<Converter>, String>>,
    /// A user's template's turn markers, probed, for rows whose markers are not control tokens of
    /// a known family (docs/templates.md).
    markers: Option<TextGrammar>,
    tokenizers: Mutex<HashMap<String, TextTokenizer>>,
}

impl MaskChecker {
    /// Records that are not convert output rows are converted with `settings`; `settings.tokenizer`
    /// also decodes every row (else the row's own tokenizer, else qwen3's).
    pub fn new(settings: ConvertSettings) -> MaskChecker {
        let markers = template_markers(&settings);
        MaskChecker { settings, converter: OnceLock::new(), markers, tokenizers: Mutex::new(HashMap::new()) }
    }

    /// The rows of a record; `Err` says why it cannot be read (or converted).
    pub fn rows(&self, record: &RawRecord) -> Result<Vec<Checked>, String> {
        let text = record.text.as_ref().map_err(|e| e.clone())?;
        let value: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        if value.get("input_ids").is_some() {
            let (calls, user_turns) = value.get("messages").and_then(Value::as_array).map_or((0, 0), |m| shape(m));
            let row: TokenRow = serde_json::from_value(value).map_err(|e| format!("not a trajkit row: {e}"))?;
            if row.input_ids.len() != row.assistant_masks.len() {
                return Err(format!(
                    "input_ids has {} tokens but assistant_masks has {}",
                    row.input_ids.len(),
                    row.assistant_masks.len()
                ));
            }
            let id = match row.id {
                Some(Value::String(s)) => s,
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
        let converter = self
            .converter
            .get_or_init(|| self.settings.converter(true).map(Arc::new).map_err(|e| error_chain(&e)))
            .as_ref()
            .map_err(Clone::clone)?;
        let done = converter.convert(record).map_err(|e| e.problem.to_string())?;
        Ok(done
            .rows
            .into_iter()
            .map(|r| {
                let messages: Vec<Value> = r.messages.iter().filter_map(|m| serde_json::from_str(m).ok()).collect();
                let (calls, user_turns) = shape(&messages);
                Checked { id: r.id, ids: r.input_ids, mask: r.assistant_masks, info: r.info, calls, user_turns }
            })
            .collect())
    }

    /// The tokenizer a row is decoded with: the settings' tokenizer, else the row's, else qwen3's.
    /// Loaded once per name.
    pub fn tokenizer(&self, info: &RowInfo) -> Result<TextTokenizer, String> {
        let spec = self.settings.tokenizer.clone().or_else(|| info.tokenizer.clone()).unwrap_or_else(|| "qwen3".into());
        let mut cache = self.tokenizers.lock().expect("tokenizer cache lock");
        if let Some(t) = cache.get(&spec) {
            return Ok(t.clone());
        }
        let tokenizer = TextTokenizer::load(&TokenizerSource::parse(&spec))
            .map_err(|e| format!("tokenizer {spec}: {}", error_chain(&e)))?;
        cache.insert(spec, tokenizer.clone());
        Ok(tokenizer)
    }

    /// The probed turn markers of a user's template (`None` for the built-in ones).
    pub fn markers(&self) -> Option<&TextGrammar> {
        self.markers.as_ref()
    }

    /// Read the row back as turns and lint its mask.
    pub fn check(&self, row: &Checked, tok: &TextTokenizer) -> RowReport {
        let Some(turns) = row_turns(&row.info.template, tok, &row.ids, self.markers.as_ref()) else {
            return RowReport {
                violations: vec![Diagnostic::error(Code::UnknownGrammar, "", "cannot find turn markers in this row")],
                empty_think_supervised: 0,
            };
        };
        let violations = lint(&row.mask, &turns, &row.info.no_loss_turns);
        let empty_think_supervised = supervised_runs(&row.mask)
            .iter()
            .filter(|r| tok.decode(&row.ids[(*r).clone()]).contains("<think>\n\n</think>"))
            .count();
        RowReport { violations, empty_think_supervised }
    }
}

/// The probed turn markers of the settings' template when it is a user's template.
fn template_markers(settings: &ConvertSettings) -> Option<TextGrammar> {
    let template = &settings.template;
    if crate::family::Family::named(template).is_some() {
        return None;
    }
    Some(settings.resolve().ok()?.template.turn_markers().clone())
}

/// What check-mask counts over a run (its last line), and what `report` shows in its summary.
#[derive(Default)]
pub struct CheckTotals {
    pub rows: usize,
    pub tokens: usize,
    pub supervised: usize,
    pub unreadable: usize,
    pub empty_think_rows: usize,
    /// Violations by code.
    pub violations: BTreeMap<Code, usize>,
}

impl CheckTotals {
    pub fn add(&mut self, row: &Checked, report: &RowReport) {
        self.rows += 1;
        self.tokens += row.ids.len();
        self.supervised += row.mask.iter().filter(|&&m| m == 1).count();
        self.empty_think_rows += usize::from(report.empty_think_supervised > 0);
        for v in &report.violations {
            *self.violations.entry(v.code).or_default() += 1;
        }
    }

    /// Whether anything went wrong: a violation or a record that could not be read.
    pub fn has_problems(&self) -> bool {
        self.violations.values().sum::<usize>() > 0 || self.unreadable > 0
    }

    /// The summary line check-mask prints last.
    pub fn line(&self) -> String {
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
        s
    }
}
