//! Harmony (GPT-OSS) output: one generation is several messages.
//!
//! ```text
//! <|channel|>analysis<|message|>REASONING<|end|>                      (the prompt gave <|start|>assistant)
//! <|start|>assistant<|channel|>commentary<|message|>PREAMBLE<|end|>
//! <|start|>assistant to=functions.NAME<|channel|>commentary <|constrain|>json<|message|>{…}<|call|>
//! <|start|>assistant<|channel|>final<|message|>ANSWER<|return|>
//! ```
//!
//! The recipient may also follow the channel (`<|channel|>commentary to=functions.NAME`), as GPT-OSS
//! models often write it. The messages fold into one canonical assistant message: `analysis` →
//! reasoning, `commentary` without a recipient (a preamble) and `final` → content, messages with a
//! recipient → tool calls (`functions.` removed from the name). The stop tokens `<|call|>` and
//! `<|return|>` may be missing at the very end, as generation scripts cut them; `<|end|>` is not a
//! stop token, so an `analysis` message that is not closed means the output was cut short.

use serde_json::Value;

use super::hermes::arguments_object;
use super::lex::{preview, Lexed, Piece};
use super::ParseError;
use crate::conversation::{Arguments, Message, Role, ToolCall};

/// Harmony's control tokens, as text.
pub const SPECIALS: &[&str] = &[
    "<|start|>",
    "<|channel|>",
    "<|constrain|>",
    "<|message|>",
    "<|end|>",
    "<|call|>",
    "<|return|>",
    "<|endoftext|>",
    "<|startoftext|>",
    "<|endofprompt|>",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Terminator {
    End,
    Call,
    Return,
    /// The output stopped (a stop token cut by the generation script).
    Eof,
}

impl Terminator {
    fn spelling(self) -> &'static str {
        match self {
            Terminator::End => "<|end|>",
            Terminator::Call => "<|call|>",
            Terminator::Return => "<|return|>",
            Terminator::Eof => "the end of the output",
        }
    }
}

/// One Harmony message of the generation.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Part {
    channel: String,
    recipient: Option<String>,
    content: String,
    terminator: Terminator,
}

/// Where the reader is.
enum State {
    /// Reading a header: the text before `<|channel|>`, after it, after `<|constrain|>`.
    Header {
        role: String,
        channel: Option<String>,
        constrain: Option<String>,
    },
    Content {
        header: (String, Option<String>),
        content: String,
    },
    /// Between messages, after a terminator.
    Between(Terminator),
}

pub(super) fn parse(lexed: &Lexed<'_>) -> Result<Message, ParseError> {
    let mut parts: Vec<Part> = Vec::new();
    // The prompt ends with `<|start|>assistant`: the first header starts right away.
    let mut state = State::Header { role: "assistant".into(), channel: None, constrain: None };
    for piece in lexed.pieces() {
        state = match (state, piece) {
            (State::Header { mut role, channel: None, constrain: None }, Piece::Text(t)) => {
                role.push_str(t);
                State::Header { role, channel: None, constrain: None }
            }
            (State::Header { role, channel: Some(mut c), constrain: None }, Piece::Text(t)) => {
                c.push_str(t);
                State::Header { role, channel: Some(c), constrain: None }
            }
            (State::Header { role, channel, constrain: Some(mut k) }, Piece::Text(t)) => {
                k.push_str(t);
                State::Header { role, channel, constrain: Some(k) }
            }
            (State::Header { role, channel: None, constrain: None }, Piece::Special("<|channel|>")) => {
                State::Header { role, channel: Some(String::new()), constrain: None }
            }
            (State::Header { role, channel, constrain: None }, Piece::Special("<|constrain|>")) => {
                State::Header { role, channel, constrain: Some(String::new()) }
            }
            (State::Header { role, channel, .. }, Piece::Special("<|message|>")) => {
                let header = header(parts.len(), &role, channel.as_deref())?;
                State::Content { header, content: String::new() }
            }
            (State::Header { .. }, Piece::Special(_)) => {
                return Err(ParseError::MissingMessage { index: parts.len() });
            }
            (State::Content { header, mut content }, Piece::Text(t)) => {
                content.push_str(t);
                State::Content { header, content }
            }
            (State::Content { header, content }, Piece::Special(s)) => {
                let terminator = match s {
                    "<|end|>" => Terminator::End,
                    "<|call|>" => Terminator::Call,
                    "<|return|>" => Terminator::Return,
                    other => {
                        return Err(ParseError::UnexpectedToken {
                            token: other.to_string(),
                            context: "inside a message",
                        })
                    }
                };
                parts.push(finish(parts.len(), header, content, terminator)?);
                State::Between(terminator)
            }
            (State::Between(Terminator::Return), Piece::Special("<|start|>")) => {
                return Err(ParseError::TrailingText { preview: "<|start|>".into() })
            }
            (State::Between(_), Piece::Special("<|start|>")) => {
                State::Header { role: String::new(), channel: None, constrain: None }
            }
            (State::Between(t), Piece::Text(text)) if text.trim().is_empty() => State::Between(t),
            (State::Between(_), Piece::Text(text)) => {
                return Err(ParseError::TrailingText { preview: preview(text, 40) })
            }
            (State::Between(t), Piece::Special("<|endoftext|>")) => State::Between(t),
            (State::Between(_), Piece::Special(s)) => {
                return Err(ParseError::UnexpectedToken { token: s.to_string(), context: "between messages" })
            }
        };
    }
    match state {
        State::Content { header, content } => parts.push(finish(parts.len(), header, content, Terminator::Eof)?),
        State::Header { role, channel, constrain } => {
            let nothing = parts.is_empty() && role.trim() == "assistant" && channel.is_none() && constrain.is_none();
            if !nothing {
                return Err(ParseError::MissingMessage { index: parts.len() });
            }
        }
        State::Between(_) => {}
    }
    if parts.is_empty() {
        return Err(ParseError::Empty);
    }
    calls(fold(parts))
}

/// Channel and recipient from a header's text: `ROLE[ to=R]` before `<|channel|>`, then
/// `CHANNEL[ to=R][ json]` after it.
fn header(index: usize, role: &str, channel: Option<&str>) -> Result<(String, Option<String>), ParseError> {
    let bad = || ParseError::Header { index, header: format!("{role}{}", channel.unwrap_or("")) };
    let mut words = role.split_whitespace();
    match words.next() {
        Some("assistant") => {}
        Some(other) if !other.starts_with("to=") => return Err(ParseError::Role { index, role: other.to_string() }),
        _ => return Err(bad()),
    }
    let mut recipient = None;
    for word in words {
        match word.strip_prefix("to=") {
            Some(r) if recipient.is_none() && !r.is_empty() => recipient = Some(r.to_string()),
            _ => return Err(bad()),
        }
    }
    let Some(channel) = channel else { return Err(ParseError::MissingChannel { index }) };
    let mut words = channel.split_whitespace();
    let name = words.next().ok_or(ParseError::MissingChannel { index })?;
    if !matches!(name, "analysis" | "commentary" | "final") {
        return Err(ParseError::UnknownChannel { index, channel: name.to_string() });
    }
    for word in words {
        match word.strip_prefix("to=") {
            Some(r) if recipient.is_none() && !r.is_empty() => recipient = Some(r.to_string()),
            Some(_) => return Err(bad()),
            // A content type (`json`, `code`) written without `<|constrain|>`.
            None => {}
        }
    }
    Ok((name.to_string(), recipient))
}

/// Check that a message ends the way its kind must.
fn finish(
    index: usize,
    (channel, recipient): (String, Option<String>),
    content: String,
    terminator: Terminator,
) -> Result<Part, ParseError> {
    let what = match (&recipient, channel.as_str()) {
        (Some(_), _) => "a tool call",
        (None, "final") => "a final answer",
        (None, "analysis") => "an analysis message",
        (None, _) => "a commentary message",
    };
    let fine = match (&recipient, channel.as_str(), terminator) {
        (Some(_), _, Terminator::Call | Terminator::Eof) => true,
        (Some(_), _, _) => false,
        (None, _, Terminator::Call) => false,
        (None, "final", _) => true,
        (None, _, Terminator::End) => true,
        (None, _, Terminator::Eof) => {
            return Err(ParseError::Truncated { what: if channel == "analysis" { "analysis" } else { "commentary" } })
        }
        (None, _, Terminator::Return) => false,
    };
    if !fine {
        return Err(ParseError::Terminator { index, what, terminator: terminator.spelling().to_string() });
    }
    Ok(Part { channel, recipient, content, terminator })
}

/// The messages of one generation as one canonical assistant message.
fn fold(parts: Vec<Part>) -> Message {
    let mut message = Message::new(Role::Assistant, "");
    let mut reasoning: Vec<String> = Vec::new();
    let mut content: Vec<String> = Vec::new();
    for part in parts {
        match (part.recipient, part.channel.as_str()) {
            (Some(recipient), _) => {
                let index = message.tool_calls.len();
                let name = recipient.strip_prefix("functions.").unwrap_or(&recipient).to_string();
                message.tool_calls.push(ToolCall {
                    id: None,
                    // Filled in by `calls` below, where errors can be returned.
                    arguments: Arguments::Text(part.content),
                    name,
                    origin: format!("tool_calls[{index}]"),
                });
            }
            (None, "analysis") => reasoning.push(part.content),
            (None, _) => content.push(part.content),
        }
    }
    message.reasoning = Some(reasoning.join("\n")).filter(|r| !r.is_empty());
    message.content = content.join("\n");
    message
}

/// Arguments of a Harmony call are its message content: a JSON object.
fn calls(mut message: Message) -> Result<Message, ParseError> {
    for (index, call) in message.tool_calls.iter_mut().enumerate() {
        if let Arguments::Text(text) = &call.arguments {
            let value: Value = serde_json::from_str(text).map_err(|e| ParseError::Arguments {
                index,
                name: call.name.clone(),
                message: e.to_string(),
            })?;
            call.arguments = Arguments::Json(arguments_object(value, index, &call.name)?);
        }
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::super::{parse_text, Format};
    use super::*;
    use serde_json::json;

    fn ok(text: &str) -> Message {
        parse_text(Format::Harmony, text).unwrap()
    }

    fn err(text: &str) -> &'static str {
        parse_text(Format::Harmony, text).unwrap_err().code()
    }

    #[test]
    fn analysis_preamble_and_calls() {
        let m = ok("<|channel|>analysis<|message|>Need the weather.<|end|><|start|>assistant<|channel|>commentary<|message|>Checking.<|end|><|start|>assistant to=functions.get_weather<|channel|>commentary <|constrain|>json<|message|>{\"city\":\"Lyon\"}<|call|>");
        assert_eq!(m.reasoning.as_deref(), Some("Need the weather."));
        assert_eq!(m.content, "Checking.");
        assert_eq!(m.tool_calls.len(), 1);
        assert_eq!(m.tool_calls[0].name, "get_weather");
        assert_eq!(m.tool_calls[0].arguments, Arguments::Json(json!({"city": "Lyon"})));
    }

    #[test]
    fn recipient_after_the_channel_and_cut_stop_tokens() {
        let m = ok("<|channel|>commentary to=functions.f <|constrain|>json<|message|>{}");
        assert_eq!(m.tool_calls[0].name, "f");
        let m = ok("<|channel|>analysis<|message|>r<|end|><|start|>assistant<|channel|>final<|message|>The answer.");
        assert_eq!((m.reasoning.as_deref(), m.content.as_str()), (Some("r"), "The answer."));
        let m = ok("<|channel|>final<|message|>x<|return|>");
        assert_eq!(m.content, "x");
    }

    #[test]
    fn malformed_output_is_a_typed_error() {
        assert_eq!(err(""), "empty");
        assert_eq!(err("Just text"), "missing_message");
        assert_eq!(err("<|message|>hi<|end|>"), "missing_channel");
        assert_eq!(err("<|channel|>thoughts<|message|>hi<|end|>"), "unknown_channel");
        assert_eq!(
            err(" to=functions.f<|channel|>commentary <|constrain|>json<|message|>{\"a\":<|call|>"),
            "arguments_not_object"
        );
        assert_eq!(err(" to=functions.f<|channel|>commentary<|message|>{}<|end|>"), "terminator");
        assert_eq!(err("<|channel|>final<|message|>x<|call|>"), "terminator");
        assert_eq!(err("<|channel|>analysis<|message|>thinking and then cut"), "truncated");
        assert_eq!(
            err("<|channel|>final<|message|>x<|return|><|start|>assistant<|channel|>final<|message|>y"),
            "trailing_text"
        );
        assert_eq!(err("<|channel|>final<|message|>x<|end|><|start|>user<|message|>more<|end|>"), "role");
        assert_eq!(err("<|channel|>final<|message|>x<|end|>oops"), "trailing_text");
    }
}
