//! Diagnostics: one located problem type for every stage, from a byte that is not UTF-8 to a
//! supervised token outside the assistant's turns.
//!
//! A record that cannot be read, a step validate warns about and a mask check-mask flags are all
//! a [`Code`] (an enum whose snake_case name is the stable string users filter on and reports
//! print), a [`Severity`], the JSON path into the user's record, and a message. Ingest, validate,
//! the pipeline, check and pairs build the same type, so a finding moves between them (an ingest
//! warning shown by validate, a validate error that rejects a record in `convert --validate`)
//! without being rebuilt, and every report serializes it the same way.

use std::fmt;

use serde::Serialize;

/// What went wrong, by name. The snake_case form (`as_str`, serde) is stable: users grep for it
/// and reports count by it (in its alphabetical order, which is `Code`'s order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    // Reading the record: bytes and JSON (ingest::read).
    InvalidUtf8,
    InvalidJson,
    NotAnObject,
    DuplicateKey,
    NumberOutOfRange,
    NonFiniteNumber,
    // The record's shape (ingest: raw, messages, ShareGPT, ADP).
    UnknownFormat,
    MissingField,
    WrongType,
    UnknownField,
    UnknownRole,
    UnknownEvent,
    EmptyTurn,
    EmptyTurns,
    StepsAndTool,
    ResultCountMismatch,
    RoleOrder,
    UnusedReasoning,
    TrailingUserTurn,
    Unfinished,
    ImageContent,
    InvalidTools,
    DerivedTools,
    AdpAfterFinish,
    AdpImage,
    AdpImageDropped,
    AdpNoAxtree,
    AdpThoughtDropped,
    // Steps against the tools (ingest finds them; validate with the schemas).
    UnknownTool,
    CallWithoutTools,
    ArgumentsNotJson,
    ArgumentsSchema,
    InvalidToolSchema,
    NonstandardSchema,
    DuplicateCall,
    SpecialTokenText,
    UngroundedArgument,
    UnusedResult,
    // Rendering and tokenizing (pipeline).
    TemplateRefused,
    TemplateError,
    ReservedCharacter,
    SpansNotFound,
    NothingToTrain,
    Tokenizer,
    TooLong,
    Truncated,
    // A row's mask read back (check, check-mask).
    NoSupervisedTokens,
    SupervisedOutsideAssistant,
    AssistantTurnUnsupervised,
    NoLossTurnSupervised,
    EndTokenUnsupervised,
    UnknownGrammar,
    // Preference pairs.
    PairPrompt,
    PairConflict,
    PromptNotPrefix,
    MalformedCall,
}

impl Code {
    pub const ALL: &'static [Code] = &[
        Code::InvalidUtf8,
        Code::InvalidJson,
        Code::NotAnObject,
        Code::DuplicateKey,
        Code::NumberOutOfRange,
        Code::NonFiniteNumber,
        Code::UnknownFormat,
        Code::MissingField,
        Code::WrongType,
        Code::UnknownField,
        Code::UnknownRole,
        Code::UnknownEvent,
        Code::EmptyTurn,
        Code::EmptyTurns,
        Code::StepsAndTool,
        Code::ResultCountMismatch,
        Code::RoleOrder,
        Code::UnusedReasoning,
        Code::TrailingUserTurn,
        Code::Unfinished,
        Code::ImageContent,
        Code::InvalidTools,
        Code::DerivedTools,
        Code::AdpAfterFinish,
        Code::AdpImage,
        Code::AdpImageDropped,
        Code::AdpNoAxtree,
        Code::AdpThoughtDropped,
        Code::UnknownTool,
        Code::CallWithoutTools,
        Code::ArgumentsNotJson,
        Code::ArgumentsSchema,
        Code::InvalidToolSchema,
        Code::NonstandardSchema,
        Code::DuplicateCall,
        Code::SpecialTokenText,
        Code::UngroundedArgument,
        Code::UnusedResult,
        Code::TemplateRefused,
        Code::TemplateError,
        Code::ReservedCharacter,
        Code::SpansNotFound,
        Code::NothingToTrain,
        Code::Tokenizer,
        Code::TooLong,
        Code::Truncated,
        Code::NoSupervisedTokens,
        Code::SupervisedOutsideAssistant,
        Code::AssistantTurnUnsupervised,
        Code::NoLossTurnSupervised,
        Code::EndTokenUnsupervised,
        Code::UnknownGrammar,
        Code::PairPrompt,
        Code::PairConflict,
        Code::PromptNotPrefix,
        Code::MalformedCall,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Code::InvalidUtf8 => "invalid_utf8",
            Code::InvalidJson => "invalid_json",
            Code::NotAnObject => "not_an_object",
            Code::DuplicateKey => "duplicate_key",
            Code::NumberOutOfRange => "number_out_of_range",
            Code::NonFiniteNumber => "non_finite_number",
            Code::UnknownFormat => "unknown_format",
            Code::MissingField => "missing_field",
            Code::WrongType => "wrong_type",
            Code::UnknownField => "unknown_field",
            Code::UnknownRole => "unknown_role",
            Code::UnknownEvent => "unknown_event",
            Code::EmptyTurn => "empty_turn",
            Code::EmptyTurns => "empty_turns",
            Code::StepsAndTool => "steps_and_tool",
            Code::ResultCountMismatch => "result_count_mismatch",
            Code::RoleOrder => "role_order",
            Code::UnusedReasoning => "unused_reasoning",
            Code::TrailingUserTurn => "trailing_user_turn",
            Code::Unfinished => "unfinished",
            Code::ImageContent => "image_content",
            Code::InvalidTools => "invalid_tools",
            Code::DerivedTools => "derived_tools",
            Code::AdpAfterFinish => "adp_after_finish",
            Code::AdpImage => "adp_image",
            Code::AdpImageDropped => "adp_image_dropped",
            Code::AdpNoAxtree => "adp_no_axtree",
            Code::AdpThoughtDropped => "adp_thought_dropped",
            Code::UnknownTool => "unknown_tool",
            Code::CallWithoutTools => "call_without_tools",
            Code::ArgumentsNotJson => "arguments_not_json",
            Code::ArgumentsSchema => "arguments_schema",
            Code::InvalidToolSchema => "invalid_tool_schema",
            Code::NonstandardSchema => "nonstandard_schema",
            Code::DuplicateCall => "duplicate_call",
            Code::SpecialTokenText => "special_token_text",
            Code::UngroundedArgument => "ungrounded_argument",
            Code::UnusedResult => "unused_result",
            Code::TemplateRefused => "template_refused",
            Code::TemplateError => "template_error",
            Code::ReservedCharacter => "reserved_character",
            Code::SpansNotFound => "spans_not_found",
            Code::NothingToTrain => "nothing_to_train",
            Code::Tokenizer => "tokenizer",
            Code::TooLong => "too_long",
            Code::Truncated => "truncated",
            Code::NoSupervisedTokens => "no_supervised_tokens",
            Code::SupervisedOutsideAssistant => "supervised_outside_assistant",
            Code::AssistantTurnUnsupervised => "assistant_turn_unsupervised",
            Code::NoLossTurnSupervised => "no_loss_turn_supervised",
            Code::EndTokenUnsupervised => "end_token_unsupervised",
            Code::UnknownGrammar => "unknown_grammar",
            Code::PairPrompt => "pair_prompt",
            Code::PairConflict => "pair_conflict",
            Code::PromptNotPrefix => "prompt_not_prefix",
            Code::MalformedCall => "malformed_call",
        }
    }
}

impl Ord for Code {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for Code {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Errors reject a record (or fail `validate`); warnings are reported and the record is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// One located problem: a stable code, how bad it is, the JSON path into the record, and what is
/// wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub path: String,
    pub message: String,
    /// The assistant message (index into the conversation's messages) the diagnostic is about,
    /// when it is about one step: what `--mask-bad-steps` takes the loss off. (`u32` keeps a
    /// diagnostic, and so every rejected record's error, as small as before this field.)
    #[serde(skip)]
    pub step: Option<u32>,
}

impl Diagnostic {
    pub fn error(code: Code, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic { code, severity: Severity::Error, path: path.into(), message: message.into(), step: None }
    }

    pub fn warning(code: Code, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic { code, severity: Severity::Warning, path: path.into(), message: message.into(), step: None }
    }

    /// Attach the diagnostic to one assistant message.
    pub fn at_step(mut self, index: usize) -> Self {
        self.step = u32::try_from(index).ok();
        self
    }

    /// The assistant message the diagnostic is about, if it is about one step.
    pub fn step(&self) -> Option<usize> {
        self.step.map(|i| i as usize)
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The same diagnostic as a warning (an ingest error that validate reports and goes on).
    pub fn as_warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }

    /// `error[code] path: message`, the form `validate` prints.
    pub fn labelled(&self) -> impl fmt::Display + '_ {
        Labelled(self)
    }
}

/// `path: message [code]`, the form of a reject reason.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{} [{}]", self.message, self.code)
        } else {
            write!(f, "{}: {} [{}]", self.path, self.message, self.code)
        }
    }
}

struct Labelled<'d>(&'d Diagnostic);

impl fmt::Display for Labelled<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if d.path.is_empty() {
            write!(f, "{}[{}]: {}", d.severity, d.code, d.message)
        } else {
            write!(f, "{}[{}] {}: {}", d.severity, d.code, d.path, d.message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_their_stable_names() {
        for code in Code::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), serde_json::Value::from(code.as_str()));
        }
        let names: std::collections::HashSet<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), Code::ALL.len(), "one name per code");
        let d = Diagnostic::warning(Code::UnusedResult, "turns[0]", "m");
        assert_eq!(d.to_string(), "turns[0]: m [unused_result]");
        assert_eq!(d.labelled().to_string(), "warning[unused_result] turns[0]: m");
        let mut sorted = Code::ALL.to_vec();
        sorted.sort();
        assert!(sorted.windows(2).all(|w| w[0].as_str() < w[1].as_str()), "codes sort by name");
    }
}
