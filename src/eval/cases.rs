//! The case type of a gold record (tool_required, no_tool, clarification, unavailable_tool,
//! irrelevant_tool, failed_tool), for metrics per case and for knowing which turns should ask or
//! decline: an explicit `case` field wins, otherwise `trajkit stats`' classifier decides, so eval
//! and stats put a record in the same case.

use crate::conversation::Conversation;
use crate::validate::cases::classify;

/// Where a record's case came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseSource {
    Field,
    Inferred,
}

/// The record's case and where it came from.
pub fn case_of(c: &Conversation) -> (String, CaseSource) {
    let classification = classify(c);
    let source = if classification.explicit { CaseSource::Field } else { CaseSource::Inferred };
    (classification.case, source)
}
