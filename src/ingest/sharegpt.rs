//! ShareGPT / glaive rows as LLaMA-Factory stores them:
//! `{"conversations": [{"from": "human|gpt|function_call|observation|system", "value"}], "system"?, "tools": "<JSON>"}`.
//! A `function_call` value is one call `{"name", "arguments"}` or a list of them; consecutive
//! `function_call` entries form one assistant message with parallel calls, and each `observation`
//! answers the next pending call.

use serde_json::{Map, Value};

use super::messages::finish;
use super::{
    join, opt_id, opt_text, parse_call, result_text, tools_field, wrong_type, Context, IngestError, IngestResult,
};
use crate::conversation::{Conversation, Message, Role};
use crate::diagnostic::Code;

const RECORD_KEYS: &[&str] = &["id", "conversations", "tools", "system"];

/// Only a missing `conversations` array stops the conversion; an entry that cannot be read is
/// recorded in `cx` and skipped (a value of the wrong type is kept as its JSON text).
pub(super) fn convert(record: Map<String, Value>, cx: &mut Context) -> IngestResult<Conversation> {
    let items = match record.get("conversations") {
        Some(Value::Array(items)) => items,
        Some(other) => return Err(wrong_type("conversations", "an array of turns", other)),
        None => return Err(IngestError::new(Code::MissingField, "conversations", "missing")),
    };
    let mut conversation = Conversation {
        id: cx.ok(opt_id(&record, "id", "")).flatten().unwrap_or_default(),
        tools: tools_field(&record, "tools", cx).into(),
        ..Default::default()
    };
    if let Some(system) = opt_text(&record, "system", "", cx).filter(|s| !s.is_empty()) {
        conversation.messages.push(Message::new(Role::System, system).at("system"));
    }
    for (i, item) in items.iter().enumerate() {
        let path = format!("conversations[{i}]");
        let Value::Object(item) = item else {
            cx.fail(wrong_type(&path, "a turn object", item));
            continue;
        };
        let from = match item.get("from").or_else(|| item.get("role")) {
            Some(Value::String(s)) => s.as_str(),
            Some(other) => {
                cx.fail(wrong_type(&join(&path, "from"), "a string", other));
                continue;
            }
            None => {
                cx.fail(IngestError::new(Code::MissingField, join(&path, "from"), "missing"));
                continue;
            }
        };
        let value = match item.get("value").or_else(|| item.get("content")) {
            Some(Value::String(s)) => s.clone(),
            Some(other) => {
                cx.fail(wrong_type(&join(&path, "value"), "a string", other));
                other.to_string()
            }
            None => {
                cx.fail(IngestError::new(Code::MissingField, join(&path, "value"), "missing"));
                continue;
            }
        };
        match from {
            "system" => push(&mut conversation, i, Message::new(Role::System, value)),
            "human" | "user" => push(&mut conversation, i, Message::new(Role::User, value)),
            "gpt" | "assistant" | "model" => {
                let mut message = Message::new(Role::Assistant, value);
                message.split_inline_reasoning();
                push(&mut conversation, i, message)
            }
            "function_call" | "tool_call" => {
                let value_path = join(&path, "value");
                let parsed: Value = match serde_json::from_str(&value) {
                    Ok(v) => v,
                    Err(e) => {
                        cx.fail(IngestError::new(
                            Code::ArgumentsNotJson,
                            &value_path,
                            format!("function_call value is not JSON: {e}"),
                        ));
                        continue;
                    }
                };
                let calls = match parsed {
                    Value::Object(call) => vec![parse_call(&call, &value_path, cx)],
                    Value::Array(calls) => calls
                        .iter()
                        .enumerate()
                        .filter_map(|(k, c)| match c {
                            Value::Object(c) => Some(parse_call(c, &format!("{value_path}[{k}]"), cx)),
                            other => {
                                cx.fail(wrong_type(&format!("{value_path}[{k}]"), "a call object", other));
                                None
                            }
                        })
                        .collect(),
                    other => {
                        cx.fail(wrong_type(&value_path, "a call object or list", &other));
                        continue;
                    }
                };
                // Parallel calls written as consecutive entries join the previous call message.
                match conversation.messages.last_mut() {
                    Some(last) if last.role == Role::Assistant && !last.tool_calls.is_empty() => {
                        last.tool_calls.extend(calls)
                    }
                    _ if calls.is_empty() => {}
                    _ => {
                        let mut message = Message::new(Role::Assistant, "");
                        message.tool_calls = calls;
                        push(&mut conversation, i, message)
                    }
                }
            }
            "observation" | "tool" | "function" => {
                let content = match serde_json::from_str::<Value>(&value) {
                    // LLaMA-Factory writes parallel results as a JSON list of strings; keep other JSON as is.
                    Ok(Value::Array(results)) if is_result_list(&conversation, &results) => {
                        for r in results {
                            push(&mut conversation, i, Message::new(Role::Tool, result_text(&r)));
                        }
                        continue;
                    }
                    _ => value,
                };
                push(&mut conversation, i, Message::new(Role::Tool, content))
            }
            other => cx.fail(IngestError::new(
                Code::UnknownRole,
                join(&path, "from"),
                format!("unknown speaker `{other}` (expected system, human, gpt, function_call, observation)"),
            )),
        }
    }
    finish(&mut conversation, cx);
    conversation.meta = record.into_iter().filter(|(k, _)| !RECORD_KEYS.contains(&k.as_str())).collect();
    Ok(conversation)
}

fn push(conversation: &mut Conversation, index: usize, message: Message) {
    conversation.messages.push(message.at(format!("conversations[{index}]")));
}

/// An observation holding a list is a set of parallel results only when the previous assistant
/// message made exactly that many calls (more than one).
fn is_result_list(conversation: &Conversation, results: &[Value]) -> bool {
    let calls =
        conversation.messages.iter().rev().find(|m| m.role == Role::Assistant).map_or(0, |m| m.tool_calls.len());
    calls > 1 && calls == results.len()
}

#[cfg(test)]
mod tests {
    use crate::conversation::Role;
    use crate::ingest::{ingest, IngestOptions};
    use serde_json::json;

    #[test]
    fn glaive_row_converts() {
        let row = json!({"conversations": [
            {"from": "human", "value": "find a recipe"},
            {"from": "function_call", "value": "{\"name\": \"search\", \"arguments\": {\"q\": \"rice\"}}"},
            {"from": "observation", "value": "{\"hits\": 1}"},
            {"from": "gpt", "value": "Found one."}],
            "tools": "[{\"name\": \"search\", \"parameters\": {\"type\": \"object\"}}]"});
        let c = ingest(&row.to_string(), "x", &IngestOptions::default()).unwrap().conversation;
        let roles: Vec<Role> = c.messages.iter().map(|m| m.role).collect();
        assert_eq!(roles, [Role::User, Role::Assistant, Role::Tool, Role::Assistant]);
        assert_eq!(c.messages[2].name.as_deref(), Some("search"));
        assert_eq!(c.tools[0]["function"]["name"], "search");
    }

    #[test]
    fn recovery_skips_broken_entries_and_reads_the_rest() {
        let row = json!({"conversations": [
            {"from": "human", "value": 12},
            {"from": "function_call", "value": "{oops"},
            {"value": "no speaker"},
            {"from": "function_call", "value": "[{\"name\": \"f\"}, 3]"},
            {"from": "observation", "value": "r"},
            {"from": "critic", "value": "x"},
            {"from": "gpt", "value": "done"}], "tools": "[{\"name\": \"f\", \"parameters\": {}}]"});
        let got = crate::ingest::ingest_value_recovering(row, "x", &IngestOptions::default()).unwrap();
        let errors: Vec<(&str, &str)> = got.errors.iter().map(|e| (e.code.as_str(), e.path.as_str())).collect();
        assert_eq!(
            errors,
            [
                ("wrong_type", "conversations[0].value"),
                ("arguments_not_json", "conversations[1].value"),
                ("missing_field", "conversations[2].from"),
                ("wrong_type", "conversations[3].value[1]"),
                ("unknown_role", "conversations[5].from"),
            ]
        );
        let c = &got.ingested.conversation;
        let roles: Vec<Role> = c.messages.iter().map(|m| m.role).collect();
        assert_eq!(roles, [Role::User, Role::Assistant, Role::Tool, Role::Assistant]);
        assert_eq!(c.messages[0].content, "12", "a value of the wrong type is kept as its JSON text");
        assert_eq!(c.messages[2].name.as_deref(), Some("f"));
    }

    #[test]
    fn bad_function_call_is_located() {
        let row =
            json!({"conversations": [{"from": "human", "value": "x"}, {"from": "function_call", "value": "{oops"}]});
        let err = ingest(&row.to_string(), "x", &IngestOptions::default()).unwrap_err();
        assert_eq!(err.0.path, "conversations[1].value");
    }
}
