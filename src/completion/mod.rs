//! Parse: what a model generated for one assistant turn → the canonical assistant [`Message`]
//! (`content`, `reasoning`, `tool_calls`).
//!
//! Evaluation and rewards compare what a model did (which tool, which arguments, what answer) with a
//! reference, so generated text has to be read back exactly the way its chat template writes an
//! assistant turn. There is one parser per output format: Qwen3 and ChatML share the Hermes layout
//! (`<think>…</think>`, `<tool_call>\n{json}\n</tool_call>` blocks) and differ only in what they
//! render; Harmony (GPT-OSS) has channels and recipients. A Hermes-style default covers other
//! templates. Output that breaks the format (broken JSON in a call, a tag that is never closed, a
//! call written in another model's wrapper) is a typed [`ParseError`], never a panic: for evaluation
//! it is a format failure, for a reward it is a zero.
//!
//! Input is what follows the generation prompt (`<|im_start|>assistant\n` for Qwen3 and ChatML,
//! `<|start|>assistant` for Harmony), as text with control tokens spelled out, or as token ids.
//! Ids are exact; text cannot tell a control token from the same characters typed as content
//! (see [`lex`]).

pub mod harmony;
pub mod hermes;
pub mod lex;

use crate::conversation::Message;
use crate::family::Family;
use crate::tokenize::TextTokenizer;
use lex::Lexed;

/// The layouts trajkit reads model output in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Qwen3: `<think>` reasoning (also with only `</think>` when the prompt opened it), Hermes
    /// `<tool_call>` blocks, `<|im_end|>`.
    Qwen3,
    /// ChatML / Qwen2.5 with Hermes tools: the same blocks; the template renders no reasoning, but
    /// a `<think>` block the model writes is still read as reasoning.
    ChatMl,
    /// GPT-OSS Harmony: `analysis` / `commentary` / `final` channels, calls addressed with
    /// `to=functions.NAME`, several messages in one generation.
    Harmony,
    /// Any other template: Hermes blocks, ended by any of the common end-of-turn tokens.
    Hermes,
}

impl Format {
    /// `qwen3`, `chatml`, `harmony` (or `gpt-oss`), `hermes`.
    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "hermes" => Some(Format::Hermes),
            _ => Family::parse(name).map(Format::of),
        }
    }

    /// The format of a `--template` value: a built-in's own, else the Hermes-style default.
    pub fn for_template(template: &str) -> Format {
        Family::named(template).map_or(Format::Hermes, Format::of)
    }

    /// The layout a family's models write their output in.
    pub fn of(family: Family) -> Format {
        match family {
            Family::Qwen3 => Format::Qwen3,
            Family::ChatMl => Format::ChatMl,
            Family::Harmony => Format::Harmony,
        }
    }

    /// The family whose models write this format (none for the Hermes-style default).
    pub fn family(self) -> Option<Family> {
        Family::ALL.into_iter().find(|&f| Format::of(f) == self)
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Qwen3 => "qwen3",
            Format::ChatMl => "chatml",
            Format::Harmony => "harmony",
            Format::Hermes => "hermes",
        }
    }

    /// The control tokens that structure this format's output, as text.
    fn specials(self) -> &'static [&'static str] {
        match self {
            Format::Qwen3 | Format::ChatMl => hermes::CHATML_SPECIALS,
            Format::Hermes => hermes::HERMES_SPECIALS,
            Format::Harmony => harmony::SPECIALS,
        }
    }

    /// Whether a token (by its text) is a control token of this format when reading ids.
    fn is_special_token(self, token: &str) -> bool {
        match self {
            // Hermes-style output may end with any model's end-of-turn token.
            Format::Hermes => {
                self.specials().contains(&token)
                    || (token.starts_with("<|") && token.ends_with("|>") && token.len() > 4)
            }
            _ => self.specials().contains(&token),
        }
    }
}

/// Why generated output is not a well-formed assistant turn. `code()` is stable, for counting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("empty output")]
    Empty,
    #[error("`<think>` is never closed")]
    UnclosedThink,
    #[error("tool call {index}: `<tool_call>` is never closed")]
    UnclosedToolCall { index: usize },
    #[error("`{tag}` without an opening tag")]
    StrayTag { tag: String },
    #[error("a tool call in another format's wrapper `{wrapper}`")]
    WrongWrapper { wrapper: String },
    #[error("tool call {index}: not valid JSON ({message})")]
    CallJson { index: usize, message: String },
    #[error("tool call {index}: {message}")]
    CallShape { index: usize, message: String },
    #[error("tool call {index} (`{name}`): arguments are not a JSON object ({message})")]
    Arguments { index: usize, name: String, message: String },
    #[error("text after the tool calls: {preview:?}")]
    TextAfterCalls { preview: String },
    #[error("text after the end of the turn: {preview:?}")]
    TrailingText { preview: String },
    #[error("unexpected control token `{token}` ({context})")]
    UnexpectedToken { token: String, context: &'static str },
    #[error("message {index}: the header has no `<|message|>`")]
    MissingMessage { index: usize },
    #[error("message {index}: role `{role}`, expected assistant")]
    Role { index: usize, role: String },
    #[error("message {index}: no channel")]
    MissingChannel { index: usize },
    #[error("message {index}: unknown channel `{channel}`")]
    UnknownChannel { index: usize, channel: String },
    #[error("message {index}: cannot read the header {header:?}")]
    Header { index: usize, header: String },
    #[error("message {index}: {what} ends with `{terminator}`")]
    Terminator { index: usize, what: &'static str, terminator: String },
    #[error("the output stops inside a {what} message (no `<|end|>`)")]
    Truncated { what: &'static str },
}

impl ParseError {
    /// A stable snake_case name for counting failures by kind.
    pub fn code(&self) -> &'static str {
        match self {
            ParseError::Empty => "empty",
            ParseError::UnclosedThink => "unclosed_think",
            ParseError::UnclosedToolCall { .. } => "unclosed_tool_call",
            ParseError::StrayTag { .. } => "stray_tag",
            ParseError::WrongWrapper { .. } => "wrong_wrapper",
            ParseError::CallJson { .. } => "call_json",
            ParseError::CallShape { .. } => "call_shape",
            ParseError::Arguments { .. } => "arguments_not_object",
            ParseError::TextAfterCalls { .. } => "text_after_calls",
            ParseError::TrailingText { .. } => "trailing_text",
            ParseError::UnexpectedToken { .. } => "unexpected_token",
            ParseError::MissingMessage { .. } => "missing_message",
            ParseError::Role { .. } => "role",
            ParseError::MissingChannel { .. } => "missing_channel",
            ParseError::UnknownChannel { .. } => "unknown_channel",
            ParseError::Header { .. } => "header",
            ParseError::Terminator { .. } => "terminator",
            ParseError::Truncated { .. } => "truncated",
        }
    }
}

/// Parse generated text (control tokens spelled out, as `decode(skip_special_tokens=False)` gives).
pub fn parse_text(format: Format, text: &str) -> Result<Message, ParseError> {
    parse_lexed(format, &Lexed::from_text(text, format.specials()))
}

/// Parse generated token ids, decoded with the template's tokenizer. Exact where text is not:
/// a control token is one only where the model generated its id.
pub fn parse_ids(format: Format, tokenizer: &TextTokenizer, ids: &[u32]) -> Result<Message, ParseError> {
    parse_lexed(format, &Lexed::from_ids(tokenizer, ids, |t| format.is_special_token(t)))
}

fn parse_lexed(format: Format, lexed: &Lexed<'_>) -> Result<Message, ParseError> {
    match format {
        Format::Qwen3 | Format::ChatMl => hermes::parse(lexed, hermes::CHATML_ENDS),
        Format::Hermes => hermes::parse(lexed, hermes::HERMES_ENDS),
        Format::Harmony => harmony::parse(lexed),
    }
}
