//! The one way a record of an input file becomes a conversation, for every command (convert,
//! validate, stats, pairs, eval, score's gold, check-mask): UTF-8, then what serde_json would read
//! differently from Python ([`scan`](super::scan): integers beyond 64 bits and non-finite numbers
//! reject the record, duplicate keys warn), then JSON, format detection and conversion, and the id
//! of a record that carries none: `FILE:LINE`, as README documents. Commands that read the same
//! record therefore name it, refuse it and warn about it alike.

use std::fmt;

use serde_json::Value;

use super::{ingest_value, ingest_value_recovering, scan, IngestOptions, Ingested, Recovered};
use crate::diagnostic::{Code, Diagnostic};
use crate::source::{Location, RawRecord};

/// A record that did not become a conversation: why, and its own `id` when the text shows one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub id: Option<String>,
    pub problem: Diagnostic,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.problem.fmt(f)
    }
}

/// The name of a record that carries no `id`: its file as given and its line.
pub fn default_id(location: &Location) -> String {
    location.to_string()
}

/// A record read as JSON and checked, not yet converted. Pair records stop here (they are not one
/// conversation); trajectories go on with [`Parsed::ingest`].
#[derive(Debug, Clone)]
pub struct Parsed {
    pub value: Value,
    /// What the JSON checks found that still reads (duplicate keys).
    pub warnings: Vec<Diagnostic>,
    pub location: Location,
}

/// Read one record's text as JSON, with the checks of [`scan`](super::scan).
pub fn parse(record: &RawRecord) -> Result<Parsed, Rejected> {
    let text = match &record.text {
        Ok(text) => text,
        Err(why) => return Err(Rejected { id: None, problem: Diagnostic::error(Code::InvalidUtf8, "", why.clone()) }),
    };
    let checked = scan::check_json(text);
    if let Some(problem) = checked.error {
        return Err(Rejected { id: checked.id, problem });
    }
    let value = serde_json::from_str(text).map_err(|e| Rejected {
        id: None,
        problem: Diagnostic::error(Code::InvalidJson, "", format!("not valid JSON: {e}")),
    })?;
    Ok(Parsed { value, warnings: checked.warnings, location: record.location.clone() })
}

/// [`parse`], then [`Parsed::ingest`]: one input record as a conversation.
pub fn read(record: &RawRecord, options: &IngestOptions) -> Result<Ingested, Rejected> {
    parse(record)?.ingest(options)
}

impl Parsed {
    /// The record's own `id` (a string or a number), if it has one.
    pub fn own_id(&self) -> Option<String> {
        match self.value.get("id")? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// The record's own `id`, else [`default_id`].
    pub fn id(&self) -> String {
        self.own_id().unwrap_or_else(|| default_id(&self.location))
    }

    /// Convert the record; the JSON checks' warnings come first among its warnings.
    pub fn ingest(self, options: &IngestOptions) -> Result<Ingested, Rejected> {
        let own_id = self.own_id();
        let fallback = default_id(&self.location);
        let mut ingested =
            ingest_value(self.value, &fallback, options).map_err(|e| Rejected { id: own_id, problem: e.0 })?;
        if !self.warnings.is_empty() {
            ingested.warnings.splice(0..0, self.warnings);
        }
        Ok(ingested)
    }

    /// Convert the record reading on past structural problems ([`ingest_value_recovering`]), keeping
    /// the record as written for a step that locates its findings in it (validation).
    pub fn ingest_recovering(self, options: &IngestOptions) -> Result<(Recovered, Value), Rejected> {
        let own_id = self.own_id();
        let fallback = default_id(&self.location);
        let record = self.value.clone();
        let mut recovered = ingest_value_recovering(self.value, &fallback, options)
            .map_err(|e| Rejected { id: own_id, problem: e.0 })?;
        if !self.warnings.is_empty() {
            recovered.ingested.warnings.splice(0..0, self.warnings);
        }
        Ok((recovered, record))
    }

    /// [`ingest`](Parsed::ingest), keeping the record as written (one copy) for a step that locates
    /// its findings in it (validation).
    pub fn ingest_keeping(self, options: &IngestOptions) -> Result<(Ingested, Value), Rejected> {
        let record = self.value.clone();
        self.ingest(options).map(|ingested| (ingested, record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(text: &str) -> RawRecord {
        RawRecord::from_text("data/in.jsonl", 3, 2, text.to_string())
    }

    #[test]
    fn a_record_without_id_is_named_by_file_and_line() {
        let got = read(
            &record(r#"{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}"#),
            &IngestOptions::default(),
        )
        .unwrap();
        assert_eq!(got.conversation.id, "data/in.jsonl:3");
        let got = read(
            &record(
                r#"{"id": 7, "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}"#,
            ),
            &IngestOptions::default(),
        )
        .unwrap();
        assert_eq!(got.conversation.id, "7");
    }

    #[test]
    fn json_checks_run_before_conversion() {
        let big =
            r#"{"id": "a", "messages": [{"role": "user", "content": "hi", "n": 123456789012345678901234567890}]}"#;
        let err = read(&record(big), &IngestOptions::default()).unwrap_err();
        assert_eq!((err.id.as_deref(), err.problem.code.as_str()), (Some("a"), "number_out_of_range"));
        let twice = r#"{"id": "b", "messages": [{"role": "user", "content": "x", "content": "hi"}, {"role": "assistant", "content": "yo"}]}"#;
        let got = read(&record(twice), &IngestOptions::default()).unwrap();
        assert_eq!(got.warnings[0].code.as_str(), "duplicate_key");
        assert_eq!(got.conversation.messages[0].content, "hi");
    }

    #[test]
    fn a_record_that_fails_conversion_keeps_its_own_id() {
        let err = read(&record(r#"{"id": "c", "turns": 3}"#), &IngestOptions::default()).unwrap_err();
        assert_eq!((err.id.as_deref(), err.problem.code.as_str()), (Some("c"), "wrong_type"));
        let err = read(&record("{\"id\": \"d\", "), &IngestOptions::default()).unwrap_err();
        assert_eq!((err.id, err.problem.code.as_str()), (None, "invalid_json"));
    }
}
