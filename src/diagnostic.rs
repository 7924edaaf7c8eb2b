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

/// Declares [`Code`] from one list: each variant with its stable name, in the order of the stages.
macro_rules! codes {
    ($($variant:ident = $name:literal,)*) => {
        /// What went wrong, by name. The snake_case name (`as_str`, and how it serializes) is stable:
        /// users grep for it and reports count by it (in its alphabetical order, which is `Code`'s order).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)*
                }
            }
        }
    };
}

codes! {
    // Reading the record: bytes and JSON (ingest::read).
    InvalidUtf8 = "invalid_utf8",
    InvalidJson = "invalid_json",
    NotAnObject = "not_an_object",
    DuplicateKey = "duplicate_key",
    NumberOutOfRange = "number_out_of_range",
    NonFiniteNumber = "non_finite_number",
    // The record's shape (ingest: raw, messages, ShareGPT, ADP).
    UnknownFormat = "unknown_format",
    MissingField = "missing_field",
    WrongType = "wrong_type",
    UnknownField = "unknown_field",
    UnknownRole = "unknown_role",
    UnknownEvent = "unknown_event",
    EmptyTurn = "empty_turn",
    EmptyTurns = "empty_turns",
    StepsAndTool = "steps_and_tool",
    ResultCountMismatch = "result_count_mismatch",
    RoleOrder = "role_order",
    UnusedReasoning = "unused_reasoning",
    TrailingUserTurn = "trailing_user_turn",
    Unfinished = "unfinished",
    ImageContent = "image_content",
    InvalidTools = "invalid_tools",
    DerivedTools = "derived_tools",
    AdpAfterFinish = "adp_after_finish",
    AdpImage = "adp_image",
    AdpImageDropped = "adp_image_dropped",
    AdpNoAxtree = "adp_no_axtree",
    AdpThoughtDropped = "adp_thought_dropped",
    // Steps against the tools (ingest finds them; validate with the schemas).
    UnknownTool = "unknown_tool",
    CallWithoutTools = "call_without_tools",
    ArgumentsNotJson = "arguments_not_json",
    ArgumentsSchema = "arguments_schema",
    InvalidToolSchema = "invalid_tool_schema",
    NonstandardSchema = "nonstandard_schema",
    DuplicateCall = "duplicate_call",
    SpecialTokenText = "special_token_text",
    UngroundedArgument = "ungrounded_argument",
    UnusedResult = "unused_result",
    // Rendering and tokenizing (pipeline).
    TemplateRefused = "template_refused",
    TemplateError = "template_error",
    ReservedCharacter = "reserved_character",
    SpansNotFound = "spans_not_found",
    NothingToTrain = "nothing_to_train",
    Tokenizer = "tokenizer",
    TooLong = "too_long",
    Truncated = "truncated",
    // A row's mask read back (check, check-mask).
    NoSupervisedTokens = "no_supervised_tokens",
    SupervisedOutsideAssistant = "supervised_outside_assistant",
    AssistantTurnUnsupervised = "assistant_turn_unsupervised",
    NoLossTurnSupervised = "no_loss_turn_supervised",
    EndTokenUnsupervised = "end_token_unsupervised",
    UnknownGrammar = "unknown_grammar",
    // Preference pairs.
    PairPrompt = "pair_prompt",
    PairConflict = "pair_conflict",
    PromptNotPrefix = "prompt_not_prefix",
    MalformedCall = "malformed_call",
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
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
