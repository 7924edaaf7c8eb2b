//! Pair records as teams have them: `{"prompt", "chosen", "rejected", "tools"}` (docs/pairs.md).
//!
//! The prompt is a list of messages (TRL/OpenAI shape) or a list of raw turns (`{"user", …}`, the last
//! one possibly already holding a call and its result); each side is the assistant's next move in
//! the same shape: messages (a list, or one message object) or a raw turn fragment
//! (`{"assistant_think"?, "assistant_tool"?, "tool_result"?, "steps"?, "assistant_answer"?}`). Each
//! side is ingested together with the prompt by the ordinary ingest code, so a pair means exactly
//! what the same conversation means to `convert` and `validate`.

use serde_json::{Map, Value};

use super::Pair;
use crate::conversation::Conversation;
use crate::diagnostic::{Code, Diagnostic};
use crate::ingest::{self, IngestOptions, InputFormat};

/// The keys a raw side may carry (a turn without its `user`).
const RAW_SIDE_KEYS: &[&str] =
    &["assistant_think", "assistant_tool", "tool_result", "steps", "assistant_answer", "train"];

/// Read one pair record. Problems carry paths into the record (`prompt[2].content`, `chosen.assistant_tool`).
pub fn read_pair(record: &Value, fallback_id: &str, options: &IngestOptions) -> Result<Pair, Diagnostic> {
    let Value::Object(map) = record else {
        return Err(Diagnostic::error(Code::NotAnObject, "", "a pair record must be a JSON object"));
    };
    let id = match map.get("id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => fallback_id.to_string(),
    };
    let kind = match map.get("kind") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(Diagnostic::error(Code::WrongType, "kind", "expected a string")),
    };
    let prompt = match map.get("prompt") {
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(Value::Array(_)) => return Err(Diagnostic::error(Code::EmptyTurns, "prompt", "an empty prompt")),
        Some(_) => {
            return Err(Diagnostic::error(Code::WrongType, "prompt", "expected a list of messages or raw turns"))
        }
        None => return Err(Diagnostic::error(Code::MissingField, "prompt", "missing")),
    };
    let raw = prompt[0].get("user").is_some() && prompt[0].get("role").is_none();
    let mut sides = Vec::new();
    for key in ["chosen", "rejected"] {
        let side = map.get(key).ok_or_else(|| Diagnostic::error(Code::MissingField, key, "missing"))?;
        let (conversation, start) = match raw {
            true => ingest_raw(map, prompt, side, key, options)?,
            false => ingest_messages(map, prompt, side, key, options)?,
        };
        sides.push((conversation, start));
    }
    let (rejected, rejected_start) = sides.pop().expect("two sides");
    let (chosen, chosen_start) = sides.pop().expect("two sides");
    if chosen.messages[..chosen_start] != rejected.messages[..rejected_start] {
        return Err(Diagnostic::error(Code::PairPrompt, "prompt", "the prompt reads differently next to each side"));
    }
    let mut base = chosen.clone();
    base.id = id.clone();
    base.messages.truncate(chosen_start);
    base.meta = map
        .iter()
        .filter(|(k, _)| !["id", "prompt", "chosen", "rejected", "tools", "system", "kind"].contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(Pair {
        id,
        kind,
        prompt: base,
        chosen: chosen.messages[chosen_start..].to_vec(),
        rejected: rejected.messages[rejected_start..].to_vec(),
    })
}

fn ingest_messages(
    map: &Map<String, Value>,
    prompt: &[Value],
    side: &Value,
    key: &str,
    options: &IngestOptions,
) -> Result<(Conversation, usize), Diagnostic> {
    let answer: Vec<Value> = match side {
        Value::Array(items) if !items.is_empty() => items.clone(),
        Value::Object(m) if m.contains_key("role") => vec![side.clone()],
        _ => {
            return Err(Diagnostic::error(
                Code::WrongType,
                key,
                "expected a list of assistant-turn messages, or one message",
            ))
        }
    };
    let mut record = Map::new();
    let mut messages = prompt.to_vec();
    messages.extend(answer);
    record.insert("messages".into(), Value::Array(messages));
    if let Some(tools) = map.get("tools") {
        record.insert("tools".into(), tools.clone());
    }
    let options = IngestOptions { format: Some(InputFormat::Messages), ..options.clone() };
    let relocate = |path: &str| into_pair(path, prompt.len(), key);
    let from_side = |path: &str| message_index(path).is_some_and(|(i, _)| i >= prompt.len());
    ingest_side(record, &options, key, "no message", from_side, relocate)
}

/// A path into the joined `messages` of a prompt of `prompt_len` messages and one side, as a path
/// into the pair record: `messages[1]…` → `prompt[1]…`, `messages[5]…` → `chosen[2]…`.
pub(super) fn into_pair(path: &str, prompt_len: usize, side: &str) -> String {
    match message_index(path) {
        Some((i, rest)) if i >= prompt_len => format!("{side}[{}]{rest}", i - prompt_len),
        Some((i, rest)) => format!("prompt[{i}]{rest}"),
        None => path.to_string(),
    }
}

/// `messages[12].tool_calls[0]` → (12, ".tool_calls[0]").
fn message_index(path: &str) -> Option<(usize, &str)> {
    let rest = path.strip_prefix("messages[")?;
    let close = rest.find(']')?;
    Some((rest[..close].parse().ok()?, &rest[close + 1..]))
}

fn ingest_raw(
    map: &Map<String, Value>,
    prompt: &[Value],
    side: &Value,
    key: &str,
    options: &IngestOptions,
) -> Result<(Conversation, usize), Diagnostic> {
    let Value::Object(answer) = side else {
        return Err(Diagnostic::error(
            Code::WrongType,
            key,
            "expected a raw turn fragment (assistant_tool, assistant_answer, …)",
        ));
    };
    if let Some(unknown) = answer.keys().find(|k| !RAW_SIDE_KEYS.contains(&k.as_str())) {
        return Err(Diagnostic::error(
            Code::UnknownField,
            format!("{key}.{unknown}"),
            "not a field of an assistant turn",
        ));
    }
    let last = prompt.len() - 1;
    let Value::Object(last_turn) = &prompt[last] else {
        return Err(Diagnostic::error(Code::WrongType, format!("prompt[{last}]"), "expected a raw turn object"));
    };
    let mut merged = last_turn.clone();
    let prompt_steps = match last_turn.get("steps") {
        Some(Value::Array(s)) => s.len(),
        _ => 0,
    };
    for (k, v) in answer {
        match (k.as_str(), merged.get_mut(k)) {
            ("steps", Some(Value::Array(steps))) => steps.extend(v.as_array().cloned().unwrap_or_default()),
            (_, Some(_)) => {
                return Err(Diagnostic::error(
                    Code::PairConflict,
                    format!("{key}.{k}"),
                    format!("the prompt's last turn already has `{k}`"),
                ))
            }
            (_, None) => {
                merged.insert(k.clone(), v.clone());
            }
        }
    }
    let mut turns = prompt[..last].to_vec();
    turns.push(Value::Object(merged));
    let mut record = Map::new();
    for k in ["system", "tools"] {
        if let Some(v) = map.get(k) {
            record.insert(k.into(), v.clone());
        }
    }
    record.insert("turns".into(), Value::Array(turns));
    let options = IngestOptions { format: Some(InputFormat::Raw), ..options.clone() };
    let turn = format!("turns[{last}].");
    let from_side = |path: &str| -> bool {
        let Some(rest) = path.strip_prefix(&turn) else { return false };
        if let Some(steps) = rest.strip_prefix("steps[") {
            return steps.split(']').next().and_then(|n| n.parse::<usize>().ok()).is_some_and(|n| n >= prompt_steps);
        }
        answer.keys().any(|k| k != "steps" && rest.starts_with(k.as_str()))
    };
    let relocate = |path: &str| -> String {
        if from_side(path) {
            return format!("{key}.{}", &path[turn.len()..]);
        }
        match path.strip_prefix("turns") {
            Some(rest) => format!("prompt{rest}"),
            None => path.to_string(),
        }
    };
    ingest_side(record, &options, key, "no assistant message", from_side, relocate)
}

/// Ingest a prompt joined with one side, and where that side's messages start. `from_side` tells a
/// message of the side by its origin path in `record`; `relocate` turns such paths into paths of
/// the pair record (`chosen[0]…`, `prompt[2]…`), for errors and for every message's origin.
fn ingest_side(
    record: Map<String, Value>,
    options: &IngestOptions,
    key: &str,
    missing: &str,
    from_side: impl Fn(&str) -> bool,
    relocate: impl Fn(&str) -> String,
) -> Result<(Conversation, usize), Diagnostic> {
    let ingested = ingest::ingest_value(Value::Object(record), "", options)
        .map_err(|e| Diagnostic::error(e.0.code, relocate(&e.0.path), e.0.message))?;
    let mut conversation = ingested.conversation;
    let start = conversation
        .messages
        .iter()
        .position(|m| from_side(&m.origin))
        .ok_or_else(|| Diagnostic::error(Code::EmptyTurn, key, missing))?;
    for m in &mut conversation.messages {
        m.origin = relocate(&m.origin);
        for c in &mut m.tool_calls {
            c.origin = relocate(&c.origin);
        }
    }
    Ok((conversation, start))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::Role;
    use serde_json::json;

    #[test]
    fn messages_and_raw_pairs_read_alike() {
        let tools = json!([{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]);
        let messages = json!({"prompt": [{"role": "user", "content": "hi"}],
            "chosen": [{"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {}}}]}],
            "rejected": {"role": "assistant", "content": "hello"}, "tools": tools});
        let raw = json!({"prompt": [{"user": "hi"}], "chosen": {"assistant_tool": {"name": "f", "arguments": {}}},
            "rejected": {"assistant_answer": "hello"}, "tools": tools});
        let a = read_pair(&messages, "x", &IngestOptions::default()).unwrap();
        let b = read_pair(&raw, "x", &IngestOptions::default()).unwrap();
        for p in [&a, &b] {
            assert_eq!(p.prompt.messages.len(), 1);
            assert_eq!(p.chosen.len(), 1);
            assert_eq!(p.chosen[0].tool_calls[0].name, "f");
            assert_eq!(p.rejected[0].role, Role::Assistant);
            assert_eq!(p.rejected[0].content, "hello");
        }
        assert_eq!(a.rejected[0].origin, "rejected[0]");
        assert_eq!(b.chosen[0].origin, "chosen.assistant_tool");
    }

    #[test]
    fn a_raw_prompt_may_end_on_a_result() {
        let raw = json!({"prompt": [{"user": "hi", "assistant_tool": {"name": "f", "arguments": {}}, "tool_result": "42"}],
            "chosen": {"assistant_answer": "It is 42."}, "rejected": {"assistant_answer": "It is 7."},
            "tools": [{"name": "f", "parameters": {"type": "object"}}]});
        let p = read_pair(&raw, "x", &IngestOptions::default()).unwrap();
        assert_eq!(p.prompt.messages.len(), 3);
        assert_eq!(p.chosen[0].content, "It is 42.");
    }

    #[test]
    fn errors_point_into_the_pair() {
        let bad = json!({"prompt": [{"role": "user", "content": "hi"}], "chosen": [{"role": "wizard", "content": ""}],
            "rejected": {"role": "assistant", "content": "x"}});
        let e = read_pair(&bad, "x", &IngestOptions::default()).unwrap_err();
        assert_eq!(e.path, "chosen[0].role");
    }
}
