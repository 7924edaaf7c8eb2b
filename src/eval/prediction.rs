//! Predictions: one model output per gold turn, in the shapes generation scripts write.
//!
//! A prediction names its gold turn by `id` and `turn` (also as `custom_id: "ID#TURN"`, the OpenAI
//! Batch API's field, or inside `metadata`), or carries the exact `prompt` text it was generated
//! from. Its output is read from, in this order:
//!
//! - token ids: `output_ids`, `completion_ids`, `token_ids` (exact; decoded with the template's
//!   tokenizer, control tokens included);
//! - vLLM `RequestOutput` dumps: `outputs[0].token_ids`, else `outputs[0].text`;
//! - OpenAI chat completions: `choices[0].message` (already parsed by the server: `content`,
//!   `reasoning_content`, `tool_calls`), or `choices[0].text` (completions API); a Batch API line's
//!   `response.body` is read the same way;
//! - text: `output`, `completion`, `generated_text`, `text`, `prediction`, `response` (a string; a
//!   list takes its first element; a list of messages, as transformers' chat pipeline writes, its
//!   last one);
//! - a message object: `message`.

use serde_json::Value;

use crate::completion::{self, hermes, Format, ParseError};
use crate::conversation::{Arguments, Message, Role, ToolCall};
use crate::tokenize::TextTokenizer;

/// Which gold turn a prediction answers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Turn {
        id: String,
        turn: usize,
    },
    /// The rendered prompt it was generated from.
    Prompt(String),
}

/// What the model produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Generated text, control tokens spelled out.
    Text(String),
    /// Generated token ids.
    Ids(Vec<u32>),
    /// A message a server already parsed (OpenAI shape).
    Message(Value),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub key: Option<Key>,
    pub output: Output,
}

const TEXT_FIELDS: &[&str] = &["output", "completion", "generated_text", "text", "prediction", "response"];
const ID_FIELDS: &[&str] = &["output_ids", "completion_ids", "token_ids"];

/// Read one prediction record.
pub fn read(record: &Value) -> Result<Prediction, String> {
    let Value::Object(_) = record else { return Err("a prediction must be a JSON object".into()) };
    Ok(Prediction { key: key(record)?, output: output(record)?.ok_or_else(no_output)? })
}

fn no_output() -> String {
    format!(
        "no model output: expected one of {}, {}, `outputs`, `choices`, `message`",
        ID_FIELDS.join(", "),
        TEXT_FIELDS.join(", ")
    )
}

/// The gold turn a record names; `None` when it names none (score requests that carry their own
/// reference).
pub fn key(record: &Value) -> Result<Option<Key>, String> {
    let id = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let turn = |v: &Value| match v {
        Value::Number(n) => n.as_u64().map(|n| n as usize),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    for source in [Some(record), record.get("metadata")].into_iter().flatten() {
        if let (Some(i), Some(t)) = (source.get("id"), source.get("turn")) {
            let turn = turn(t).ok_or_else(|| format!("`turn` must be a non-negative integer, found {t}"))?;
            let id = id(i).ok_or_else(|| format!("`id` must be a string or number, found {i}"))?;
            return Ok(Some(Key::Turn { id, turn }));
        }
    }
    if let Some(Value::String(custom)) = record.get("custom_id") {
        let (id, t) = custom.rsplit_once('#').ok_or_else(|| format!("custom_id {custom:?}: expected \"ID#TURN\""))?;
        let turn = t.parse().map_err(|_| format!("custom_id {custom:?}: expected \"ID#TURN\""))?;
        return Ok(Some(Key::Turn { id: id.to_string(), turn }));
    }
    if let Some(Value::String(prompt)) = record.get("prompt") {
        return Ok(Some(Key::Prompt(prompt.clone())));
    }
    Ok(None)
}

/// The model output of a record, if it has one.
pub fn output(record: &Value) -> Result<Option<Output>, String> {
    for field in ID_FIELDS {
        if let Some(v) = record.get(*field) {
            return ids(v)
                .map(|i| Some(Output::Ids(i)))
                .ok_or_else(|| format!("`{field}` must be a list of token ids"));
        }
    }
    if let Some(Value::Array(outputs)) = record.get("outputs") {
        let first = outputs.first().ok_or("`outputs` is empty")?;
        if let Some(i) = first.get("token_ids").and_then(ids) {
            return Ok(Some(Output::Ids(i)));
        }
        return output(first);
    }
    if let Some(Value::Array(choices)) = record.get("choices") {
        let first = choices.first().ok_or("`choices` is empty")?;
        if let Some(m @ Value::Object(_)) = first.get("message") {
            return Ok(Some(Output::Message(m.clone())));
        }
        return output(first);
    }
    if let Some(Value::Object(body)) = record.get("response").and_then(|r| r.get("body")) {
        return output(&Value::Object(body.clone()));
    }
    for field in TEXT_FIELDS {
        match record.get(*field) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => return Ok(Some(Output::Text(s.clone()))),
            Some(Value::Array(items)) => {
                if let Some(i) = ids(&Value::Array(items.clone())).filter(|i| !i.is_empty()) {
                    return Ok(Some(Output::Ids(i)));
                }
                if items.iter().all(|x| x.get("role").is_some()) {
                    let last = items.iter().rev().find(|m| m.get("role").and_then(Value::as_str) == Some("assistant"));
                    return last
                        .map(|m| Some(Output::Message(m.clone())))
                        .ok_or_else(|| format!("`{field}` holds messages but no assistant message"));
                }
                return match items.first() {
                    Some(Value::String(s)) => Ok(Some(Output::Text(s.clone()))),
                    Some(other) => output(&serde_json::json!({ "output": other })),
                    None => Err(format!("`{field}` is empty")),
                };
            }
            Some(obj @ Value::Object(map)) => {
                if map.contains_key("role") || map.contains_key("tool_calls") {
                    return Ok(Some(Output::Message(obj.clone())));
                }
                if let Some(found) = output(obj)? {
                    return Ok(Some(found));
                }
            }
            Some(other) => return Err(format!("`{field}` must be text, token ids or a message, found {other}")),
        }
    }
    if let Some(m @ Value::Object(_)) = record.get("message") {
        return Ok(Some(Output::Message(m.clone())));
    }
    Ok(None)
}

fn ids(v: &Value) -> Option<Vec<u32>> {
    v.as_array()?.iter().map(|x| x.as_u64().and_then(|n| u32::try_from(n).ok())).collect()
}

impl Output {
    /// Parse the output in `format`. Ids need the tokenizer; `tokenizer` is asked for it only then.
    pub fn parse<'t>(
        &self,
        format: Format,
        tokenizer: impl FnOnce() -> Result<&'t TextTokenizer, String>,
    ) -> Result<Result<Message, ParseError>, String> {
        Ok(match self {
            Output::Text(t) => completion::parse_text(format, t),
            Output::Ids(ids) => completion::parse_ids(format, tokenizer()?, ids),
            Output::Message(m) => parse_message(m),
        })
    }
}

/// A message a server already parsed. Calls it left in the content (no tool parser, or one that
/// failed) are read from the content, so a malformed call is still a format failure.
pub fn parse_message(m: &Value) -> Result<Message, ParseError> {
    let content = match m.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => {
            parts.iter().filter_map(|p| p.as_str().or_else(|| p.get("text").and_then(Value::as_str))).collect()
        }
        _ => String::new(),
    };
    let reasoning = ["reasoning_content", "reasoning"]
        .iter()
        .find_map(|k| m.get(*k).and_then(Value::as_str))
        .map(str::to_string)
        .filter(|r| !r.is_empty());
    let calls = m.get("tool_calls").and_then(Value::as_array).filter(|c| !c.is_empty());
    let Some(calls) = calls else {
        let mut parsed = if content.contains("<|channel|>") {
            completion::parse_text(Format::Harmony, &content)?
        } else {
            hermes::parse_body(&content)?
        };
        if parsed.reasoning.is_none() {
            parsed.reasoning = reasoning;
        }
        return Ok(parsed);
    };
    let mut message = Message::new(Role::Assistant, content);
    message.reasoning = reasoning;
    for (index, call) in calls.iter().enumerate() {
        let f = call.get("function").unwrap_or(call);
        let name = match f.get("name") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            _ => return Err(ParseError::CallShape { index, message: "no tool name".into() }),
        };
        let arguments = hermes::arguments_object(f.get("arguments").cloned().unwrap_or(Value::Null), index, &name)?;
        message.tool_calls.push(ToolCall {
            id: call.get("id").and_then(Value::as_str).map(str::to_string),
            name,
            arguments: Arguments::Json(arguments),
            origin: format!("tool_calls[{index}]"),
        });
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pred(v: Value) -> Prediction {
        read(&v).unwrap()
    }

    #[test]
    fn generation_script_shapes() {
        let k = Some(Key::Turn { id: "a".into(), turn: 2 });
        assert_eq!(
            pred(json!({"id": "a", "turn": 2, "output": "x"})),
            Prediction { key: k.clone(), output: Output::Text("x".into()) }
        );
        assert_eq!(pred(json!({"custom_id": "a#2", "response": {"body": {"choices": [{"text": "x"}]}}})).key, k);
        assert_eq!(pred(json!({"metadata": {"id": "a", "turn": "2"}, "completion": "x"})).key, k);
        let p = pred(json!({"prompt": "P", "outputs": [{"text": "x", "token_ids": [1, 2]}]}));
        assert_eq!(p, Prediction { key: Some(Key::Prompt("P".into())), output: Output::Ids(vec![1, 2]) });
        let p = pred(json!({"prompt": "P", "generated_text": "x"}));
        assert_eq!(p.output, Output::Text("x".into()));
        let m = json!({"role": "assistant", "content": null, "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": "{\"a\": 1}"}}]});
        assert_eq!(
            pred(json!({"id": 1, "turn": 0, "choices": [{"message": m.clone()}]})).output,
            Output::Message(m.clone())
        );
        assert_eq!(
            pred(json!({"id": 1, "turn": 0, "generated_text": [{"role": "user", "content": "q"}, m.clone()]})).output,
            Output::Message(m)
        );
        assert!(read(&json!({"id": "a", "turn": 0})).is_err());
    }

    #[test]
    fn server_parsed_messages() {
        let m = parse_message(&json!({"content": null, "reasoning_content": "r", "tool_calls": [{"function": {"name": "f", "arguments": "{\"a\": 1}"}}]})).unwrap();
        assert_eq!(
            (m.reasoning.as_deref(), m.tool_calls[0].arguments.clone()),
            (Some("r"), Arguments::Json(json!({"a": 1})))
        );
        let bad = parse_message(&json!({"tool_calls": [{"function": {"name": "f", "arguments": "{\"a\": "}}]}));
        assert_eq!(bad.unwrap_err().code(), "arguments_not_object");
        let left_in_content =
            parse_message(&json!({"content": "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>"}));
        assert_eq!(left_in_content.unwrap().tool_calls.len(), 1);
    }
}
