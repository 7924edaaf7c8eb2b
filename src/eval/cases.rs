//! The case type of a gold record (tool_required, no_tool, clarification, unavailable_tool,
//! irrelevant_tool, failed_tool), for metrics per case and for knowing which turns should ask or
//! decline.
//!
//! An explicit `case` field wins. Otherwise a small rule set infers it from the record alone; it is
//! the stand-in until `trajkit stats`' classifier (src/validate/cases.rs) can be called here, and
//! it is only used when the gold file carries no labels.

use serde_json::Value;

use crate::conversation::{Conversation, Role};

/// Where a record's case came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseSource {
    Field,
    Inferred,
}

/// The record's case and where it came from.
pub fn case_of(c: &Conversation) -> (String, CaseSource) {
    match c.meta.get("case") {
        Some(Value::String(s)) if !s.trim().is_empty() => (s.trim().to_string(), CaseSource::Field),
        _ => (infer(c).to_string(), CaseSource::Inferred),
    }
}

/// Words with which assistants say a request is beyond their tools.
const DECLINES: &[&str] = &[
    "can't",
    "cannot",
    "can not",
    "unable",
    "not able",
    "don't have",
    "do not have",
    "no tool",
    "not possible",
    "isn't possible",
    "not available",
    "not supported",
];

fn infer(c: &Conversation) -> &'static str {
    let calls = c.messages.iter().any(|m| !m.tool_calls.is_empty());
    if calls {
        let failed = c.messages.iter().any(|m| m.role == Role::Tool && looks_failed(&m.content));
        return if failed { "failed_tool" } else { "tool_required" };
    }
    if c.tools.is_empty() {
        return "no_tool";
    }
    let answer = c.messages.iter().rev().find(|m| m.role == Role::Assistant).map(|m| m.content.to_lowercase());
    match answer {
        Some(a) if super::text::asks(&a) => "clarification",
        Some(a) if DECLINES.iter().any(|d| a.contains(d)) => "unavailable_tool",
        _ => "irrelevant_tool",
    }
}

/// A tool result that reports a failure: an `error` key, or text that starts with an error word.
pub(crate) fn looks_failed(result: &str) -> bool {
    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(result) {
        return map.contains_key("error") || map.get("status").and_then(Value::as_str).is_some_and(|s| s == "error");
    }
    let lower = result.trim_start().to_lowercase();
    ["error", "exception", "failed", "traceback"].iter().any(|w| lower.starts_with(w))
}
