//! Validate: step-level checks of a record before it becomes training data, and case classification.
//!
//! A trajectory can reach a right answer through a bad step (a tool that does not exist, a guessed
//! argument, a result the answer ignores); training on it teaches the bad step. Validation reads the
//! same [`Conversation`] that convert renders, so what it checks is exactly what would be trained, and
//! every [`Diagnostic`] points into the user's own file through the JSON path ingest recorded.
//!
//! ```text
//! schema     tool schemas: invalid ones, BFCL-style types normalized, compiled for arguments
//! checks     calls against schemas, message order, duplicates, control tokens, unfinished records
//! grounding  argument values nobody gave, answers that ignore their tool results
//! cases      what kind of example a record is (tool_required, clarification, …), for `stats`
//! ```

pub mod cases;
mod checks;
mod grounding;
mod locate;
mod schema;

use serde_json::Value;

use crate::conversation::{Conversation, Role};
pub use crate::diagnostic::Severity;
use crate::diagnostic::{Code, Diagnostic};
use crate::ingest::{self, IngestOptions, Ingested, Parsed};
use crate::source::RawRecord;

pub use schema::ToolSet;

/// A diagnostic as `trajkit validate --format json` writes it: located by file, line (none for a
/// finding about the `--tools` file) and the record's id.
#[derive(serde::Serialize)]
pub struct LocatedDiagnostic<'a> {
    pub file: &'a str,
    pub line: Option<usize>,
    pub id: Option<&'a str>,
    #[serde(flatten)]
    pub diagnostic: &'a Diagnostic,
}

impl LocatedDiagnostic<'_> {
    /// The JSON line `validate --format json` prints.
    pub fn json_line(&self) -> String {
        serde_json::to_string(self).expect("a diagnostic serializes")
    }
}

/// Ingest warnings that validation derives again with more knowledge (the tool's schema, the exact
/// path of the arguments, call ids), so they are not reported twice.
const REDERIVED: &[Code] = &[Code::UnknownTool, Code::CallWithoutTools, Code::ArgumentsNotJson, Code::RoleOrder];

/// What validation made of one record.
#[derive(Debug, Clone)]
pub struct RecordReport {
    /// The record's own `id`, when it has one.
    pub id: Option<String>,
    pub findings: Vec<Diagnostic>,
    /// The conversation, when the record converts (no structural problem).
    pub conversation: Option<Conversation>,
}

impl RecordReport {
    pub fn errors(&self) -> usize {
        self.findings.iter().filter(|f| f.is_error()).count()
    }
}

/// Validates records; shared read-only across threads.
pub struct Validator {
    ingest: IngestOptions,
    /// The `--tools` schemas, checked and compiled once for every record that carries no tools.
    default_tools: Option<ToolSet>,
}

impl Validator {
    /// A validator for records read with `ingest`, plus the findings about its `--tools` schemas
    /// (reported once, with paths into that file, rather than once per record). `tools_as_written`
    /// is that file's list before normalization, for paths; without it paths assume the OpenAI shape.
    pub fn new(ingest: IngestOptions, tools_as_written: Option<&[Value]>) -> (Validator, Vec<Diagnostic>) {
        let mut findings = Vec::new();
        let default_tools =
            ingest.default_tools.as_ref().map(|tools| ToolSet::build(tools, tools_as_written, "", &mut findings));
        (Validator { ingest, default_tools }, findings)
    }

    /// Check one input record, read as every command reads it ([`ingest::parse`]: UTF-8, the JSON
    /// checks, JSON). A record that cannot be read at all (not JSON, not an object, no known format,
    /// no list of turns or messages) is one error finding with its code and path; a record with
    /// structural problems gets each as an error finding, and every check runs on what ingest could
    /// read of it.
    ///
    /// This is what `trajkit validate` does with a trajectory; a preference-pair file goes through
    /// [`crate::pairs::validate_record`], which checks each side with this validator.
    pub fn validate_trajectory(&self, record: &RawRecord) -> RecordReport {
        match ingest::parse(record) {
            Ok(parsed) => self.validate_parsed(parsed),
            Err(rejected) => RecordReport { id: rejected.id, findings: vec![rejected.problem], conversation: None },
        }
    }

    /// [`validate_trajectory`](Validator::validate_trajectory) of a record already read as JSON; the JSON checks'
    /// warnings (`duplicate_key`) are findings like ingest's.
    pub fn validate_parsed(&self, parsed: Parsed) -> RecordReport {
        let id = parsed.own_id();
        match parsed.ingest_recovering(&self.ingest) {
            Err(rejected) => RecordReport { id, findings: vec![rejected.problem], conversation: None },
            Ok((ingest::Recovered { ingested, errors: structural }, record)) => {
                let mut checked = self.check(&record, &ingested);
                checked.retain(|f| !repeats_structural(f, &structural));
                let clean = structural.is_empty();
                let mut findings = structural;
                findings.extend(checked);
                findings.sort_by_key(|f| f.severity);
                let conversation = clean.then_some(ingested.conversation);
                RecordReport { id, findings, conversation }
            }
        }
    }

    /// Check an ingested record. `record` is the parsed source, used to turn origins into exact
    /// paths (`messages[3].tool_calls[0].function.arguments`).
    pub fn check(&self, record: &Value, ingested: &Ingested) -> Vec<Diagnostic> {
        let conversation = &ingested.conversation;
        let mut findings: Vec<Diagnostic> =
            ingested.warnings.iter().filter(|w| !REDERIVED.contains(&w.code)).cloned().collect();
        let own_tools = record_tools(record);
        let record_set;
        let tools = match (&own_tools, &self.default_tools) {
            (None, Some(defaults)) => defaults,
            _ => {
                record_set = ToolSet::build(&conversation.tools, own_tools.as_deref(), "tools", &mut findings);
                &record_set
            }
        };
        let paths = locate::Paths::new(record);
        checks::calls(conversation, tools, &paths, &mut findings);
        checks::order(conversation, &mut findings);
        checks::duplicates(conversation, &mut findings);
        checks::special_tokens(conversation, &paths, &mut findings);
        grounding::arguments(conversation, tools, &paths, &mut findings);
        grounding::results(conversation, &mut findings);
        findings.sort_by_key(|f| f.severity);
        findings
    }

    /// The check `convert --validate` runs on every record as ingest hands it over: refuse a record with
    /// errors, or (with `mask_bad_steps`) keep it with the loss taken off the steps that have them,
    /// so the context stays true and the bad action is not learned. Validation warnings replace
    /// ingest's, so convert reports each problem once.
    pub fn gate(&self, record: &Value, ingested: &mut Ingested, mask_bad_steps: bool) -> Result<(), Diagnostic> {
        let findings = self.check(record, ingested);
        let (errors, warnings): (Vec<Diagnostic>, Vec<Diagnostic>) =
            findings.into_iter().partition(Diagnostic::is_error);
        let maskable = mask_bad_steps
            && errors.iter().all(|f| {
                f.step().and_then(|i| ingested.conversation.messages.get(i)).is_some_and(|m| m.role == Role::Assistant)
            });
        if !errors.is_empty() && !maskable {
            let first = &errors[0];
            let more = match errors.len() {
                1 => String::new(),
                n => format!(" (and {} more error(s))", n - 1),
            };
            return Err(Diagnostic::error(first.code, first.path.clone(), format!("{}{more}", first.message)));
        }
        let mut kept = warnings;
        for error in errors {
            if let Some(i) = error.step() {
                ingested.conversation.messages[i].train = false;
            }
            let message = format!("step kept as context without loss: {}", error.message);
            kept.push(Diagnostic { message, ..error.as_warning() });
        }
        ingested.warnings = kept;
        Ok(())
    }
}

/// Whether a check finding says again what a structural problem already says: the same place, a
/// result count at the same step (ingest points at `tool_result`, the check at `assistant_tool`), a
/// message left empty because what was in it could not be read, or calls that find no tools because
/// the record's tools could not be read.
fn repeats_structural(finding: &Diagnostic, structural: &[Diagnostic]) -> bool {
    let parent = |path: &str| path.rfind('.').map(|i| path[..i].to_string());
    structural.iter().any(|s| {
        s.path == finding.path
            || (s.code == finding.code && parent(&s.path).is_some() && parent(&s.path) == parent(&finding.path))
            || (finding.code == Code::EmptyTurn && s.path.starts_with(&format!("{}.", finding.path)))
            || (finding.code == Code::CallWithoutTools
                && (s.path.starts_with("tools") || s.path.starts_with("functions")))
    })
}

/// The record's own tools as written (an array, or a JSON string holding one), for locating
/// findings; `None` when the record carries none.
fn record_tools(record: &Value) -> Option<Vec<Value>> {
    let tools = record.get("tools")?;
    let parsed;
    let tools = match tools {
        Value::String(s) => {
            parsed = serde_json::from_str::<Value>(s).ok()?;
            &parsed
        }
        other => other,
    };
    match tools {
        Value::Array(items) if !items.is_empty() => Some(items.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn validate(record: Value) -> Vec<(&'static str, String)> {
        let (validator, _) = Validator::new(IngestOptions::default(), None);
        let record = RawRecord::from_text("t.jsonl", 1, 0, record.to_string());
        validator.validate_trajectory(&record).findings.into_iter().map(|f| (f.code.as_str(), f.path)).collect()
    }

    #[test]
    fn a_record_that_cannot_be_read_is_one_finding() {
        assert_eq!(validate(json!({"dialog": []})), vec![("unknown_format", String::new())]);
        assert_eq!(validate(json!({"turns": {"user": "x"}})), vec![("wrong_type", "turns".to_string())]);
        assert_eq!(validate(json!([1])), vec![("not_an_object", String::new())]);
    }

    #[test]
    fn structural_problems_do_not_hide_step_findings() {
        let got = validate(json!({"tools": [{"name": "f", "parameters": {"type": "object",
                "properties": {"n": {"type": "integer"}}, "required": ["n"]}}],
            "turns": [
                {"user": 1, "assistant_answer": "x"},
                {"user": "y", "assistant_tool": [{"name": "g", "arguments": {}}, {"name": "f", "arguments": {"n": "two"}}],
                 "tool_result": ["r"], "assistant_answer": "z"},
                {"user": "w", "assistant_tool": {"name": "f", "arguments": [1]}, "tool_result": "r", "assistant_answer": "v"}]}));
        let want = [
            ("wrong_type", "turns[0].user"),
            ("result_count_mismatch", "turns[1].tool_result"),
            ("wrong_type", "turns[2].assistant_tool.arguments"),
            ("unknown_tool", "turns[1].assistant_tool[0]"),
            ("arguments_schema", "turns[1].assistant_tool[1].arguments.n"),
        ];
        let want: Vec<(&str, String)> = want.iter().map(|(c, p)| (*c, p.to_string())).collect();
        // Not repeated: the check's own result count (at `turns[1].assistant_tool`) and its
        // "arguments must be an object" at the place of the wrong_type.
        assert_eq!(got, want);
    }

    #[test]
    fn ingest_warnings_are_not_reported_twice() {
        let got = validate(json!({"tools": [{"name": "f", "parameters": {"type": "object"}}],
            "turns": [{"user": "x", "assistant_tool": {"name": "g", "arguments": {}}, "tool_result": "r", "assistant_answer": "a"}]}));
        assert_eq!(got, vec![("unknown_tool", "turns[0].assistant_tool".to_string())]);
    }

    #[test]
    fn gate_masks_bad_steps_or_rejects() {
        let (validator, _) = Validator::new(IngestOptions::default(), None);
        let record = json!({"tools": [{"name": "f", "parameters": {"type": "object"}}], "turns": [
            {"user": "x", "steps": [
                {"assistant_tool": {"name": "g", "arguments": {}}, "tool_result": "no such tool"},
                {"assistant_tool": {"name": "f", "arguments": {}}, "tool_result": "r"}],
             "assistant_answer": "r"}]});
        let mut ingested = ingest::ingest_value(record.clone(), "x", &IngestOptions::default()).unwrap();
        let err = validator.gate(&record, &mut ingested.clone(), false).unwrap_err();
        assert_eq!((err.code.as_str(), err.path.as_str()), ("unknown_tool", "turns[0].steps[0].assistant_tool"));
        validator.gate(&record, &mut ingested, true).unwrap();
        let train: Vec<bool> = ingested.conversation.messages.iter().map(|m| m.train).collect();
        assert_eq!(train, [true, false, true, true, true, true]);
    }

    #[test]
    fn turns_start_at_user_messages() {
        let mut c = Conversation::default();
        for role in [Role::System, Role::User, Role::Assistant, Role::User, Role::Assistant, Role::Tool] {
            c.messages.push(crate::conversation::Message::new(role, ""));
        }
        assert_eq!(c.user_turns(), vec![1..3, 3..6]);
    }
}
