//! TRL/OpenAI conversational rows: `{"messages": [...], "tools": [...]}`, including the legacy
//! `function_call` / `function` role shape and content given as a list of typed parts.

use serde_json::{Map, Value};

use super::{
    join, opt_bool, opt_id, opt_str, parse_call, resolve_tool_names, tools_field, wrong_type, Context, IngestError,
    IngestResult,
};
use crate::conversation::{Conversation, Message, Role, ToolCall};
use crate::diagnostic::Code;

const RECORD_KEYS: &[&str] = &["id", "messages", "tools", "functions"];

/// Only a missing `messages` array stops the conversion; a message that cannot be read (not an object,
/// no known role) is recorded in `cx` and skipped, and so is a content part or call that cannot be.
pub(super) fn convert(record: Map<String, Value>, cx: &mut Context) -> IngestResult<Conversation> {
    let items = match record.get("messages") {
        Some(Value::Array(items)) => items,
        Some(other) => return Err(wrong_type("messages", "an array of messages", other)),
        None => return Err(IngestError::new(Code::MissingField, "messages", "missing")),
    };
    let mut conversation = Conversation {
        id: cx.ok(opt_id(&record, "id", "")).flatten().unwrap_or_default(),
        // Legacy OpenAI rows list bare function schemas under `functions`.
        tools: match tools_field(&record, "tools", cx) {
            tools if tools.is_empty() => tools_field(&record, "functions", cx),
            tools => tools,
        }
        .into(),
        ..Default::default()
    };
    for (i, item) in items.iter().enumerate() {
        let path = format!("messages[{i}]");
        let Value::Object(item) = item else {
            cx.fail(wrong_type(&path, "a message object", item));
            continue;
        };
        if let Some(message) = convert_message(item, &path, cx) {
            conversation.messages.push(message);
        }
    }
    finish(&mut conversation, cx);
    conversation.meta = record.into_iter().filter(|(k, _)| !RECORD_KEYS.contains(&k.as_str())).collect();
    Ok(conversation)
}

/// Checks every message-shaped format shares: something to train on, tool results attributable.
pub(super) fn finish(conversation: &mut Conversation, cx: &mut Context) {
    if cx.clean() {
        if conversation.messages.is_empty() {
            cx.fail(IngestError::new(Code::EmptyTurns, "messages", "no messages: nothing to train on"));
        } else if !conversation.messages.iter().any(|m| m.role == Role::Assistant) {
            cx.fail(IngestError::new(Code::EmptyTurns, "messages", "no assistant message: nothing to train on"));
        }
    }
    resolve_tool_names(conversation, cx);
}

/// One message; `None` (with the problem recorded) when its role cannot be read, unless its shape
/// says it: calls make it the assistant's, a `tool_call_id` a tool result, so the steps around it
/// still pair.
fn convert_message(item: &Map<String, Value>, path: &str, cx: &mut Context) -> Option<Message> {
    let role = match item.get("role") {
        Some(Value::String(r)) => match r.as_str() {
            "system" | "developer" => Ok(Role::System),
            "user" | "human" => Ok(Role::User),
            "assistant" | "gpt" | "model" => Ok(Role::Assistant),
            "tool" | "function" | "ipython" => Ok(Role::Tool),
            other => Err(IngestError::new(
                Code::UnknownRole,
                join(path, "role"),
                format!("unknown role `{other}` (expected system, user, assistant or tool)"),
            )),
        },
        Some(other) => Err(wrong_type(&join(path, "role"), "a string", other)),
        None => Err(IngestError::new(Code::MissingField, join(path, "role"), "missing")),
    };
    let role = match role {
        Ok(role) => role,
        Err(e) => {
            cx.fail(e);
            let present = |key: &str| item.get(key).is_some_and(|v| !v.is_null());
            if present("tool_calls") || present("function_call") {
                Role::Assistant
            } else if present("tool_call_id") {
                Role::Tool
            } else {
                return None;
            }
        }
    };
    let parts = content_parts(item.get("content"), &join(path, "content"), cx);
    let mut message = Message::new(role, parts.text).at(path);
    message.train = message_train(item, path, cx);
    if role == Role::Tool {
        message.name = cx.ok(opt_str(item, "name", path)).flatten();
        message.tool_call_id = cx.ok(opt_id(item, "tool_call_id", path)).flatten();
        return Some(message);
    }
    if role != Role::Assistant {
        return Some(message);
    }
    // The first of these keys that is present; one of the wrong type counts as present but empty.
    let reasoning =
        ["reasoning_content", "reasoning", "thinking"].iter().find_map(|k| opt_str(item, k, path).transpose());
    message.reasoning = reasoning.and_then(|r| cx.ok(r)).or(parts.reasoning);
    message.split_inline_reasoning();
    message.tool_calls = parts.calls;
    match item.get("tool_calls") {
        None | Some(Value::Null) => {}
        Some(Value::Array(calls)) => {
            for (j, call) in calls.iter().enumerate() {
                let p = format!("{path}.tool_calls[{j}]");
                match call {
                    Value::Object(call) => message.tool_calls.push(parse_call(call, &p, cx)),
                    other => cx.fail(wrong_type(&p, "a tool call object", other)),
                }
            }
        }
        Some(other) => cx.fail(wrong_type(&join(path, "tool_calls"), "an array of tool calls", other)),
    }
    if let Some(call) = item.get("function_call").filter(|v| !v.is_null()) {
        let p = join(path, "function_call");
        match call {
            Value::Object(call) => message.tool_calls.push(parse_call(call, &p, cx)),
            other => cx.fail(wrong_type(&p, "a function call object", other)),
        }
    }
    Some(message)
}

/// `"train": false`, `"weight": 0` and functionary's `"metadata": {"masked": true}` all mean
/// "keep in context, no loss".
fn message_train(item: &Map<String, Value>, path: &str, cx: &mut Context) -> bool {
    if let Some(train) = cx.ok(opt_bool(item, "train", path)).flatten() {
        return train;
    }
    if let Some(w) = item.get("weight").and_then(Value::as_f64) {
        return w != 0.0;
    }
    let masked = item.get("metadata").and_then(|m| m.get("masked")).and_then(Value::as_bool);
    masked != Some(true)
}

/// What a message's `content` holds once typed parts are taken apart.
#[derive(Default)]
pub(super) struct Parts {
    pub text: String,
    pub reasoning: Option<String>,
    pub calls: Vec<ToolCall>,
}

/// Content is a string, null, or a list of typed parts (`text`, `reasoning`, `tool_call`); image,
/// audio and video parts are refused: the built-in templates are text-only. A part that cannot be
/// read is recorded and skipped.
pub(super) fn content_parts(content: Option<&Value>, path: &str, cx: &mut Context) -> Parts {
    let mut parts = Parts::default();
    let items = match content {
        None | Some(Value::Null) => return parts,
        Some(Value::String(s)) => {
            parts.text = s.clone();
            return parts;
        }
        Some(Value::Array(items)) => items,
        Some(other) => {
            cx.fail(wrong_type(path, "a string or a list of content parts", other));
            return parts;
        }
    };
    for (k, item) in items.iter().enumerate() {
        let p = format!("{path}[{k}]");
        let part = match item {
            Value::String(s) => {
                parts.text.push_str(s);
                continue;
            }
            Value::Object(part) => part,
            other => {
                cx.fail(wrong_type(&p, "a content part object", other));
                continue;
            }
        };
        let kind = part.get("type").and_then(Value::as_str).unwrap_or("text");
        let body = ["text", "value", "content"].iter().find_map(|k| part.get(*k).and_then(Value::as_str));
        match (kind, body) {
            ("text", Some(text)) => parts.text.push_str(text),
            ("reasoning" | "thinking", Some(text)) => parts.reasoning.get_or_insert_with(String::new).push_str(text),
            ("tool_call", Some(text)) => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(call)) => parts.calls.push(parse_call(&call, &p, cx)),
                Ok(_) => cx.fail(IngestError::new(Code::WrongType, &p, "tool_call part is not a JSON object")),
                Err(e) => {
                    cx.fail(IngestError::new(Code::ArgumentsNotJson, &p, format!("tool_call part is not JSON: {e}")))
                }
            },
            ("image" | "image_url" | "input_image" | "audio" | "input_audio" | "video" | "video_url", _) => {
                cx.fail(IngestError::new(
                    Code::ImageContent,
                    &p,
                    format!("`{kind}` content: the built-in templates are text-only"),
                ))
            }
            (_, None) => cx.fail(IngestError::new(Code::WrongType, &p, format!("`{kind}` part without text"))),
            (other, Some(_)) => {
                cx.fail(IngestError::new(Code::WrongType, &p, format!("unsupported content part type `{other}`")))
            }
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use crate::conversation::{Arguments, Role};
    use crate::ingest::{ingest, IngestOptions};
    use serde_json::json;

    fn convert(v: serde_json::Value) -> Result<crate::conversation::Conversation, crate::ingest::IngestError> {
        ingest(&v.to_string(), "x", &IngestOptions::default()).map(|i| i.conversation)
    }

    #[test]
    fn tool_calls_with_string_args_and_content_are_kept() {
        let c = convert(json!({"messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "Let me check.", "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"a\": 1}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "r"},
            {"role": "assistant", "content": "done"}]}))
        .unwrap();
        assert_eq!(c.messages[1].content, "Let me check.");
        assert_eq!(c.messages[1].tool_calls[0].arguments, Arguments::Text("{\"a\": 1}".into()));
        assert_eq!(c.messages[2].name.as_deref(), Some("f"));
    }

    #[test]
    fn legacy_function_call_and_function_role() {
        let c = convert(json!({"functions": [{"name": "f", "parameters": {"type": "object"}}], "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": null, "function_call": {"name": "f", "arguments": "{}"}},
            {"role": "function", "name": "f", "content": "r"},
            {"role": "assistant", "content": "done"}]}))
        .unwrap();
        assert_eq!(c.messages[1].tool_calls[0].name, "f");
        assert_eq!(c.messages[2].role, Role::Tool);
        assert_eq!(c.tools[0]["function"]["name"], "f", "legacy `functions` become tools");
    }

    #[test]
    fn inline_think_is_split_and_parts_are_read() {
        let c = convert(json!({"messages": [
            {"role": "user", "content": [{"type": "text", "text": "q"}]},
            {"role": "assistant", "content": "plan</think>\n\nanswer"},
            {"role": "user", "content": "again"},
            {"role": "assistant", "content": [{"type": "reasoning", "value": "r"}, {"type": "text", "value": "a"}]}]}))
        .unwrap();
        assert_eq!(c.messages[0].content, "q");
        assert_eq!((c.messages[1].reasoning.as_deref(), c.messages[1].content.as_str()), (Some("plan"), "answer"));
        assert_eq!((c.messages[3].reasoning.as_deref(), c.messages[3].content.as_str()), (Some("r"), "a"));
    }

    #[test]
    fn images_are_refused_with_a_path() {
        let err = convert(json!({"messages": [
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]},
            {"role": "assistant", "content": "a"}]}))
        .unwrap_err();
        assert_eq!((err.0.code.as_str(), err.0.path.as_str()), ("image_content", "messages[0].content[0]"));
    }

    #[test]
    fn recovery_skips_what_cannot_be_read_and_keeps_the_rest() {
        let row = json!({"messages": [
            {"role": "user", "content": [{"type": "text", "text": "q"}, {"type": "image_url"}, 5]},
            {"role": 7, "tool_calls": [{"id": "c1", "function": {"arguments": "{}"}}, "bad", {"id": "c2", "function": 3}]},
            {"tool_call_id": "c1", "content": "r1"},
            {"role": "narrator", "content": "x"},
            {"role": "tool", "tool_call_id": "c2", "content": "r2", "train": "yes"},
            {"role": "assistant", "content": {"text": "a"}},
            {"role": "assistant", "content": "done"}]});
        let got = crate::ingest::ingest_value_recovering(row.clone(), "x", &IngestOptions::default()).unwrap();
        let errors: Vec<(&str, &str)> = got.errors.iter().map(|e| (e.code.as_str(), e.path.as_str())).collect();
        assert_eq!(
            errors,
            [
                ("image_content", "messages[0].content[1]"),
                ("wrong_type", "messages[0].content[2]"),
                ("wrong_type", "messages[1].role"),
                ("missing_field", "messages[1].tool_calls[0].function.name"),
                ("wrong_type", "messages[1].tool_calls[1]"),
                ("wrong_type", "messages[1].tool_calls[2].function"),
                ("missing_field", "messages[2].role"),
                ("unknown_role", "messages[3].role"),
                ("wrong_type", "messages[4].train"),
                ("wrong_type", "messages[5].content"),
            ]
        );
        // The messages whose role is missing are read by their shape (calls, a tool_call_id); the
        // unknown role with neither is skipped.
        let c = &got.ingested.conversation;
        let roles: Vec<Role> = c.messages.iter().map(|m| m.role).collect();
        use Role::*;
        assert_eq!(roles, [User, Assistant, Tool, Tool, Assistant, Assistant]);
        assert_eq!(c.messages[0].content, "q");
        assert_eq!(
            c.messages[1].tool_calls.iter().map(|t| t.id.as_deref()).collect::<Vec<_>>(),
            [Some("c1"), Some("c2")]
        );
        let err = convert(row).unwrap_err();
        assert_eq!((err.0.code.as_str(), err.0.path.as_str()), ("image_content", "messages[0].content[1]"));
    }

    #[test]
    fn tool_result_without_a_call_is_a_role_order_warning() {
        let row = json!({"messages": [
            {"role": "user", "content": "q"}, {"role": "tool", "content": "r"}, {"role": "assistant", "content": "a"}]});
        let got = ingest(&row.to_string(), "x", &IngestOptions::default()).unwrap();
        assert_eq!((got.warnings[0].code.as_str(), got.warnings[0].path.as_str()), ("role_order", "messages[1]"));
        assert_eq!(got.conversation.messages[1].name, None);
    }
}
