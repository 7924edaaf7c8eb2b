//! The Hermes layout, shared by Qwen3, ChatML and the default for other templates:
//!
//! ```text
//! [<think>]REASONING</think>\n\n      (optional; the opening tag may come from the prompt)
//! CONTENT
//! \n<tool_call>\n{"name": "NAME", "arguments": {…}}\n</tool_call>    (zero or more)
//! <|im_end|>                          (optional: generation scripts often cut the stop token)
//! ```
//!
//! The cuts are the ones the templates make, so that parsing what a template rendered gives back the
//! message it rendered: the answer follows the last `</think>`, one newline separates content from
//! the first call, calls are separated by one newline. Only whitespace may follow the calls.

use serde_json::{Map, Value};

use super::lex::{preview, Lexed, Piece};
use super::ParseError;
use crate::conversation::{split_inline_reasoning, Arguments, Message, Role, ToolCall};

/// Control tokens of ChatML output (Qwen3, Qwen2.5, ChatML).
pub const CHATML_SPECIALS: &[&str] = &["<|im_end|>", "<|im_start|>", "<|endoftext|>"];
/// The ones that may end a turn.
pub const CHATML_ENDS: &[&str] = &["<|im_end|>", "<|endoftext|>"];

/// End-of-turn and turn-start tokens of common templates, for the default parser.
pub const HERMES_SPECIALS: &[&str] = &[
    "<|im_end|>",
    "<|im_start|>",
    "<|endoftext|>",
    "<|eot_id|>",
    "<|eom_id|>",
    "<|end_of_text|>",
    "<|start_header_id|>",
    "<|end|>",
    "<|user|>",
    "<|assistant|>",
    "<end_of_turn>",
    "<start_of_turn>",
    "<eos>",
    "</s>",
];
pub const HERMES_ENDS: &[&str] = &[
    "<|im_end|>",
    "<|endoftext|>",
    "<|eot_id|>",
    "<|eom_id|>",
    "<|end_of_text|>",
    "<|end|>",
    "<end_of_turn>",
    "<eos>",
    "</s>",
];

const OPEN: &str = "<tool_call>";
const CLOSE: &str = "</tool_call>";

/// Tool-call wrappers of other formats: a model that writes one of these has not made a call this
/// template can read, and saying so is more useful than reading it as an answer.
const FOREIGN_WRAPPERS: &[&str] = &[
    "<function_call>",
    "<function=",
    "<tools>",
    "[TOOL_CALLS]",
    "<|python_tag|>",
    "<tool_use>",
    "<|tool_call|>",
    "<|tool_calls_section_begin|>",
    "<｜tool▁calls▁begin｜>",
    "<|channel|>",
];

pub(super) fn parse(lexed: &Lexed<'_>, ends: &[&str]) -> Result<Message, ParseError> {
    check_end(lexed, ends)?;
    parse_body(lexed.head())
}

/// The turn ends at the first control token, which must be an end-of-turn token; after it only
/// whitespace and more end tokens (`<|im_end|><|endoftext|>`) may follow.
fn check_end(lexed: &Lexed<'_>, ends: &[&str]) -> Result<(), ParseError> {
    let mut ended = false;
    for piece in lexed.pieces() {
        match piece {
            Piece::Text(t) if ended && !t.trim().is_empty() => {
                return Err(ParseError::TrailingText { preview: preview(t, 40) })
            }
            Piece::Text(_) => {}
            Piece::Special(s) if ends.contains(&s) => ended = true,
            Piece::Special(s) => {
                let context = if ended { "after the end of the turn" } else { "inside the turn" };
                return Err(ParseError::UnexpectedToken { token: s.to_string(), context });
            }
        }
    }
    Ok(())
}

/// Reasoning, content and calls of the text before the end-of-turn token.
pub fn parse_body(body: &str) -> Result<Message, ParseError> {
    let mut message = Message::new(Role::Assistant, "");
    let rest = match split_inline_reasoning(body) {
        Some((reasoning, answer)) => {
            message.reasoning = Some(reasoning).filter(|r| !r.is_empty());
            let answer_at = body.len() - answer.len();
            &body[answer_at..]
        }
        None if body.contains("<think>") => return Err(ParseError::UnclosedThink),
        None => body,
    };
    let first_call = rest.find(OPEN);
    let content = &rest[..first_call.unwrap_or(rest.len())];
    if content.contains(CLOSE) {
        return Err(ParseError::StrayTag { tag: CLOSE.into() });
    }
    if let Some(wrapper) = FOREIGN_WRAPPERS.iter().find(|w| content.contains(**w)) {
        return Err(ParseError::WrongWrapper { wrapper: wrapper.to_string() });
    }
    message.content = match first_call {
        // The template writes one newline between content and the first call.
        Some(_) => content.strip_suffix('\n').unwrap_or(content).to_string(),
        None => content.to_string(),
    };
    let Some(at) = first_call else { return Ok(message) };
    let mut calls = &rest[at..];
    loop {
        let trimmed = calls.trim_start();
        if trimmed.is_empty() {
            break;
        }
        let index = message.tool_calls.len();
        let Some(after_open) = trimmed.strip_prefix(OPEN) else {
            return Err(ParseError::TextAfterCalls { preview: preview(trimmed, 40) });
        };
        let end = match (after_open.find(CLOSE), after_open.find(OPEN)) {
            (Some(close), Some(open)) if open < close => return Err(ParseError::UnclosedToolCall { index }),
            (Some(close), _) => close,
            (None, _) => return Err(ParseError::UnclosedToolCall { index }),
        };
        message.tool_calls.push(parse_call(after_open[..end].trim(), index)?);
        calls = &after_open[end + CLOSE.len()..];
    }
    Ok(message)
}

/// `{"name": "NAME", "arguments": {…}}`. Arguments written as a string holding a JSON object are
/// accepted too: ChatML's template renders string arguments that way (`tojson` of the string).
fn parse_call(json: &str, index: usize) -> Result<ToolCall, ParseError> {
    let value: Value =
        serde_json::from_str(json).map_err(|e| ParseError::CallJson { index, message: e.to_string() })?;
    let Value::Object(mut call) = value else {
        return Err(ParseError::CallShape { index, message: "not a JSON object".into() });
    };
    let name = match call.remove("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => s,
        Some(_) => return Err(ParseError::CallShape { index, message: "`name` is not a non-empty string".into() }),
        None => return Err(ParseError::CallShape { index, message: "no `name`".into() }),
    };
    let arguments = match call.remove("arguments") {
        Some(v) => arguments_object(v, index, &name)?,
        None => return Err(ParseError::CallShape { index, message: format!("`{name}` has no `arguments`") }),
    };
    Ok(ToolCall { id: None, name, arguments: Arguments::Json(arguments), origin: format!("tool_calls[{index}]") })
}

/// Arguments must be a JSON object, given as one or as a string holding one.
pub fn arguments_object(value: Value, index: usize, name: &str) -> Result<Value, ParseError> {
    let error = |message: String| ParseError::Arguments { index, name: name.to_string(), message };
    match value {
        Value::Object(m) => Ok(Value::Object(m)),
        Value::String(s) => match serde_json::from_str::<Value>(&s) {
            Ok(Value::Object(m)) => Ok(Value::Object(m)),
            Ok(_) => Err(error("a string that is not an object".into())),
            Err(e) => Err(error(e.to_string())),
        },
        Value::Null => Ok(Value::Object(Map::new())),
        other => Err(error(format!("found {}", crate::ingest::type_name(&other)))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse_text, Format};
    use super::*;
    use serde_json::json;

    fn ok(text: &str) -> Message {
        parse_text(Format::Qwen3, text).unwrap()
    }

    fn err(text: &str) -> &'static str {
        parse_text(Format::Qwen3, text).unwrap_err().code()
    }

    #[test]
    fn think_content_and_calls() {
        let m = ok("<think>\nplan\n</think>\n\nSure.\n<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}}\n</tool_call>\n<tool_call>\n{\"name\": \"g\", \"arguments\": {}}\n</tool_call><|im_end|>");
        assert_eq!(m.reasoning.as_deref(), Some("plan"));
        assert_eq!(m.content, "Sure.");
        assert_eq!(m.tool_calls.len(), 2);
        assert_eq!(m.tool_calls[0].arguments, Arguments::Json(json!({"a": 1})));
        assert_eq!(m.tool_calls[1].name, "g");
    }

    #[test]
    fn closing_think_only_and_no_end_token() {
        let m = ok("plan</think>\n\nanswer");
        assert_eq!((m.reasoning.as_deref(), m.content.as_str()), (Some("plan"), "answer"));
        let m = ok("<think>\n\n</think>\n\nanswer<|im_end|>\n");
        assert_eq!((m.reasoning, m.content.as_str()), (None, "answer"));
    }

    #[test]
    fn malformed_output_is_a_typed_error() {
        assert_eq!(err("<think>\nnever closed"), "unclosed_think");
        assert_eq!(err("<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}\n</tool_call>"), "call_json");
        assert_eq!(err("<tool_call>\n{\"name\": \"f\", \"arguments\": {}}"), "unclosed_tool_call");
        assert_eq!(err("<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>\nDone!"), "text_after_calls");
        assert_eq!(err("x</tool_call>"), "stray_tag");
        assert_eq!(err("<function=f>{\"a\": 1}</function>"), "wrong_wrapper");
        assert_eq!(err("<tool_call>\n{\"arguments\": {}}\n</tool_call>"), "call_shape");
        assert_eq!(err("<tool_call>\n{\"name\": \"f\", \"arguments\": [1]}\n</tool_call>"), "arguments_not_object");
        assert_eq!(err("hi<|im_end|>\n<|im_start|>user\nmore"), "unexpected_token");
        assert_eq!(err("hi<|im_end|>more"), "trailing_text");
    }

    #[test]
    fn string_arguments_holding_an_object_are_read() {
        let m = ok("<tool_call>\n{\"name\": \"f\", \"arguments\": \"{\\\"a\\\": 1}\"}\n</tool_call>");
        assert_eq!(m.tool_calls[0].arguments, Arguments::Json(json!({"a": 1})));
    }
}
