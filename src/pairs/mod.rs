//! Pairs: preference data (DPO) for tool use.
//!
//! A [`Pair`] is a conversation prefix (the prompt) and two alternatives for what the assistant does
//! next (chosen, rejected). Pairs come from two places:
//!
//! ```text
//! input       pair records a team already has: {"prompt", "chosen", "rejected", "tools"} in raw or
//!             messages shape → Pair (docs/pairs.md)
//! synthesize  good trajectories → pairs whose rejected side makes one typical tool-use mistake
//!             (direct_answer, unnecessary_call, guessed_argument, …), each labelled with its kind
//! tokenize    prompt_ids / chosen_ids / rejected_ids exactly as TRL's DPOTrainer builds them, refusing
//!             a pair whose prompt is not a token prefix of prompt + answer
//! ```
//!
//! Rows are TRL's conversational preference format: `prompt`, `chosen`, `rejected` as message lists,
//! `tools` as a JSON string (TRL `json.loads` it), plus `kind` and `id`.

pub mod input;
pub mod synthesize;
pub mod tokenize;

use serde_json::{Map, Value};

use crate::conversation::{ArgumentsForm, Conversation, Message};
use crate::diagnostic::{Code, Diagnostic};
use crate::family::Family;

pub use synthesize::Kind;
pub use tokenize::PairTokens;

/// A prompt and two alternatives for the assistant's next move.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub id: String,
    /// What mistake the rejected side makes (synthesized pairs), or the record's own `kind`.
    pub kind: Option<String>,
    /// The conversation so far, with the tools offered; its last message is what the assistant answers.
    pub prompt: Conversation,
    pub chosen: Vec<Message>,
    pub rejected: Vec<Message>,
}

/// One of the two alternatives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Chosen,
    Rejected,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Chosen => "chosen",
            Side::Rejected => "rejected",
        }
    }
}

impl Pair {
    pub fn answer(&self, side: Side) -> &[Message] {
        match side {
            Side::Chosen => &self.chosen,
            Side::Rejected => &self.rejected,
        }
    }

    /// The prompt followed by one side: the whole conversation that side stands for.
    pub fn side(&self, side: Side) -> Conversation {
        let mut conversation = self.prompt.clone();
        conversation.messages.extend(self.answer(side).iter().cloned());
        conversation
    }

    /// The row in TRL's conversational preference format, plus the tokenized columns when given.
    pub fn to_row(&self, form: RowForm, tokens: Option<&PairTokens>) -> Value {
        let messages = |ms: &[Message]| crate::emit::messages_column(ms, form.arguments, form.split_reasoning);
        let mut row = Map::new();
        row.insert("id".into(), Value::String(self.id.clone()));
        row.insert("prompt".into(), messages(&self.prompt.messages));
        row.insert("chosen".into(), messages(&self.chosen));
        row.insert("rejected".into(), messages(&self.rejected));
        row.insert("tools".into(), Value::String(crate::emit::tools_column(&self.prompt.tools)));
        row.insert("kind".into(), self.kind.clone().map_or(Value::Null, Value::String));
        if let Some(t) = tokens {
            let ids = |ids: &[u32]| Value::Array(ids.iter().map(|&i| Value::from(i)).collect());
            row.insert("prompt_ids".into(), ids(&t.prompt_ids));
            row.insert("chosen_ids".into(), ids(&t.chosen_ids));
            row.insert("rejected_ids".into(), ids(&t.rejected_ids));
        }
        if let Some(template) = &form.template {
            let mut info = Map::new();
            info.insert("template".into(), Value::String(template.clone()));
            if let Some(t) = &form.tokenizer {
                info.insert("tokenizer".into(), Value::String(t.clone()));
            }
            row.insert("trajkit".into(), Value::Object(info));
        }
        Value::Object(row)
    }
}

/// How messages are written into a row.
#[derive(Debug, Clone)]
pub struct RowForm {
    pub arguments: ArgumentsForm,
    pub split_reasoning: bool,
    pub template: Option<String>,
    pub tokenizer: Option<String>,
}

impl RowForm {
    /// The form for a template (by name): arguments as strings, as `convert` writes them, except for
    /// templates that always run arguments through `tojson` (ChatML), which would quote a string
    /// again when TRL renders the row; they get the arguments as given.
    pub fn for_template(builtin: Option<Family>, split_reasoning: bool) -> RowForm {
        let arguments = match builtin.is_some_and(Family::encodes_string_arguments) {
            true => ArgumentsForm::AsGiven,
            false => ArgumentsForm::String,
        };
        RowForm { arguments, split_reasoning, template: None, tokenizer: None }
    }
}

/// Whether a parsed JSON record is a pair record (has `prompt`, `chosen` and `rejected`).
pub fn is_pair_record(record: &Value) -> bool {
    ["prompt", "chosen", "rejected"].iter().all(|k| record.get(k).is_some())
}

/// What `trajkit validate` does with any record: a preference-pair record is checked side by side
/// ([`validate_pair`]), with the JSON checks' warnings first; any other record is a trajectory
/// ([`crate::validate::Validator::validate_trajectory`]).
pub fn validate_record(
    validator: &crate::validate::Validator,
    record: &crate::source::RawRecord,
) -> crate::validate::RecordReport {
    let parsed = match crate::ingest::parse(record) {
        Ok(parsed) => parsed,
        Err(_) => return validator.validate_trajectory(record),
    };
    match validate_pair(validator, &parsed.value) {
        Some(mut report) => {
            report.findings.splice(0..0, parsed.warnings);
            report.findings.sort_by_key(|f| f.severity);
            report
        }
        None => validator.validate_parsed(parsed),
    }
}

/// `validate` on a pair record: both sides checked (the prompt's findings once, with the chosen
/// side), paths into the pair. `None` when the record is not a pair record.
pub fn validate_pair(validator: &crate::validate::Validator, record: &Value) -> Option<crate::validate::RecordReport> {
    use crate::validate::RecordReport;
    if !is_pair_record(record) {
        return None;
    }
    let id = match record.get("id") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let template = record.pointer("/trajkit/template").and_then(|t| t.as_str()).unwrap_or("qwen3");
    let format = crate::completion::Format::for_template(template);
    let pair = match input::read_pair(record, "", &Default::default()) {
        Ok(pair) => pair,
        Err(p) => return Some(RecordReport { id, findings: vec![p], conversation: None }),
    };
    let mut findings = check_side(validator, &pair, Side::Chosen, format);
    findings.extend(
        check_side(validator, &pair, Side::Rejected, format).into_iter().filter(|f| f.path.starts_with("rejected")),
    );
    findings.sort_by_key(|f| f.severity);
    Some(RecordReport { id, findings, conversation: None })
}

/// Validate's checks on one side of a pair (the prompt followed by that side), with paths into the
/// pair (`prompt[2]`, `rejected[0].tool_calls[0]`). A side that ends on a call is not `unfinished`:
/// the environment answers next. An answer that tries to call a tool in text the template's parser
/// cannot read is a `malformed_call` error.
pub fn check_side(
    validator: &crate::validate::Validator,
    pair: &Pair,
    side: Side,
    format: crate::completion::Format,
) -> Vec<crate::diagnostic::Diagnostic> {
    let conversation = pair.side(side);
    let messages: Vec<Value> = conversation.messages.iter().map(|m| m.to_json(ArgumentsForm::AsGiven, true)).collect();
    let mut record = Map::new();
    record.insert("messages".into(), Value::Array(messages));
    record.insert("tools".into(), Value::Array(conversation.tools.to_vec()));
    let record = Value::Object(record);
    let prompt_len = pair.prompt.messages.len();
    let relocate = |path: &str| input::into_pair(path, prompt_len, side.as_str());
    let mut findings = match crate::ingest::ingest_value(record.clone(), &pair.id, &Default::default()) {
        Ok(ingested) => validator.check(&record, &ingested),
        Err(e) => vec![e.0],
    };
    findings.retain(|f| f.code != Code::Unfinished);
    for f in &mut findings {
        f.path = relocate(&f.path);
    }
    for (j, m) in pair.answer(side).iter().enumerate() {
        if m.role == crate::conversation::Role::Assistant && m.tool_calls.is_empty() {
            if let Some(e) = synthesize::malformed_call(format, &m.content) {
                let path = format!("{}[{j}].content", side.as_str());
                findings.push(Diagnostic::error(
                    Code::MalformedCall,
                    path,
                    format!("a tool call the {} parser cannot read: {e}", format.name()),
                ));
            }
        }
    }
    findings
}
