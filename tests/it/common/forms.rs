//! One conversation, two input forms: OpenAI/TRL `messages` rewritten as the raw annotation format
//! (`system`, `tools`, `turns` of user / assistant_think / assistant_tool / tool_result /
//! assistant_answer / steps). Used to check that both forms give the same rows.
//!
//! Not every messages conversation has a raw form: [`messages_to_raw`] says why when it has none
//! (content next to calls, reasoning on an answer that follows calls, …). Where the raw format offers
//! two spellings of the same thing (a one-step turn with top-level `assistant_tool` or with `steps`, a
//! JSON tool result as a string or as a value), `variant` picks one, so both get exercised.

use serde_json::{Map, Value};

/// Message keys with a raw equivalent; any other key makes the conversation inexpressible.
const MESSAGE_KEYS: &[&str] = &["role", "content", "reasoning_content", "tool_calls", "name", "tool_call_id", "train"];

/// The raw form of a messages record, or why it has none.
pub fn messages_to_raw(record: &Value, variant: u64) -> Result<Value, String> {
    let messages = record["messages"].as_array().ok_or("no messages array")?;
    let mut raw = Map::new();
    if let Some(id) = record.get("id") {
        raw.insert("id".into(), id.clone());
    }
    let mut rest = messages.as_slice();
    if let Some((first, tail)) = rest.split_first() {
        if first["role"] == "system" {
            raw.insert("system".into(), Value::String(text(first)?));
            rest = tail;
        }
    }
    if let Some(tools) = record.get("tools") {
        raw.insert("tools".into(), tools.clone());
    }
    let mut turns = Vec::new();
    let mut i = 0;
    let mut bits = Bits(variant);
    while i < rest.len() {
        let m = &rest[i];
        check_keys(m)?;
        match m["role"].as_str() {
            Some("user") => {}
            Some("system") => return Err("a system message after the first message".into()),
            _ => return Err(format!("a {} message before any user message", m["role"])),
        }
        let mut turn = Map::new();
        turn.insert("user".into(), Value::String(text(m)?));
        i += 1;
        let mut steps: Vec<Value> = Vec::new();
        let mut step_trains: Vec<bool> = Vec::new();
        while i < rest.len() && rest[i]["role"] == "assistant" {
            let a = &rest[i];
            check_keys(a)?;
            let reasoning = a.get("reasoning_content").filter(|r| !r.is_null());
            let train = a.get("train").and_then(Value::as_bool).unwrap_or(true);
            let calls = a.get("tool_calls").and_then(Value::as_array).filter(|c| !c.is_empty());
            let Some(calls) = calls else {
                // The turn's answer: nothing may follow it but the next user message.
                let content = text(a)?;
                if reasoning.is_none() && content.contains("</think>") {
                    return Err("reasoning written inline in the content (`…</think>answer`)".into());
                }
                if let Some(r) = reasoning {
                    if !steps.is_empty() {
                        return Err("reasoning on an answer that follows tool calls in the same turn".into());
                    }
                    turn.insert("assistant_think".into(), r.clone());
                }
                turn.insert("assistant_answer".into(), Value::String(content));
                if !train {
                    turn.insert("train".into(), Value::Bool(false));
                }
                i += 1;
                if i < rest.len() && rest[i]["role"] != "user" {
                    return Err(format!("a {} message after the answer of a turn", rest[i]["role"]));
                }
                break;
            };
            if !text(a)?.is_empty() {
                return Err("content next to tool calls".into());
            }
            let mut step = Map::new();
            if let Some(r) = reasoning {
                step.insert("assistant_think".into(), r.clone());
            }
            let raw_calls: Vec<Value> = calls.iter().map(raw_call).collect::<Result<_, _>>()?;
            i += 1;
            let mut results = Vec::new();
            while i < rest.len() && rest[i]["role"] == "tool" && results.len() < raw_calls.len() {
                let t = &rest[i];
                check_keys(t)?;
                let call = &raw_calls[results.len()];
                if let Some(name) = t.get("name").and_then(Value::as_str) {
                    if name != call["name"] {
                        return Err("tool results not in the order of their calls".into());
                    }
                }
                if t.get("tool_call_id") != call.get("id") {
                    return Err("a tool_call_id that differs from its call's id".into());
                }
                results.push(result_value(&text(t)?, bits.next()));
                i += 1;
            }
            if i < rest.len() && rest[i]["role"] == "tool" {
                return Err("more tool results than calls".into());
            }
            if results.len() != raw_calls.len() && !(results.is_empty() && i == rest.len()) {
                return Err("calls without all their results, and the conversation goes on".into());
            }
            let parallel = raw_calls.len() > 1;
            step.insert(
                "assistant_tool".into(),
                if parallel { Value::Array(raw_calls) } else { raw_calls.into_iter().next().unwrap() },
            );
            if !results.is_empty() {
                step.insert(
                    "tool_result".into(),
                    if parallel { Value::Array(results) } else { results.into_iter().next().unwrap() },
                );
            }
            if !train {
                step.insert("train".into(), Value::Bool(false));
            }
            steps.push(Value::Object(step));
            step_trains.push(train);
        }
        if i < rest.len() && rest[i]["role"] == "tool" {
            return Err("a tool result that answers no call".into());
        }
        if !steps.is_empty() && !turn.contains_key("assistant_answer") && i < rest.len() {
            return Err("tool steps with no answer before the next user message".into());
        }
        let turn_train = turn.get("train").and_then(Value::as_bool).unwrap_or(true);
        // A one-step turn may put the step at the top of the turn (it then shares the turn's `train`).
        if steps.len() == 1 && step_trains[0] == turn_train && bits.next() {
            let Value::Object(step) = steps.pop().unwrap() else { unreachable!() };
            for (k, v) in step {
                if k != "train" {
                    turn.insert(k, v);
                }
            }
        } else if !steps.is_empty() {
            turn.insert("steps".into(), Value::Array(steps));
        }
        turns.push(Value::Object(turn));
    }
    raw.insert("turns".into(), Value::Array(turns));
    Ok(Value::Object(raw))
}

fn check_keys(m: &Value) -> Result<(), String> {
    let map = m.as_object().ok_or("a message that is not an object")?;
    match map.keys().find(|k| !MESSAGE_KEYS.contains(&k.as_str())) {
        Some(k) => Err(format!("message field `{k}` has no raw equivalent")),
        None => Ok(()),
    }
}

/// A message's content as text; `null` is empty. Lists of parts have no raw form.
fn text(m: &Value) -> Result<String, String> {
    match m.get("content") {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err("content given as a list of parts".into()),
    }
}

/// `{"type": "function", "function": {"name", "arguments"}, "id"?}` → `{"name", "arguments", "id"?}`.
fn raw_call(call: &Value) -> Result<Value, String> {
    let f = call.get("function").unwrap_or(call);
    let mut out = Map::new();
    out.insert("name".into(), f.get("name").cloned().ok_or("a call without a name")?);
    if let Some(args) = f.get("arguments") {
        out.insert("arguments".into(), args.clone());
    }
    if let Some(id) = call.get("id") {
        out.insert("id".into(), id.clone());
    }
    Ok(Value::Object(out))
}

/// A tool message's text as a raw `tool_result`: the string itself, or (when `as_value` and the text
/// is exactly the compact JSON of a structured value, which is what raw writes for a value) the value.
fn result_value(text: &str, as_value: bool) -> Value {
    if as_value {
        if let Ok(v @ (Value::Object(_) | Value::Array(_))) = serde_json::from_str::<Value>(text) {
            if serde_json::to_string(&v).ok().as_deref() == Some(text) {
                return v;
            }
        }
    }
    Value::String(text.to_string())
}

/// A stream of yes/no choices from one number, cycling.
struct Bits(u64);

impl Bits {
    fn next(&mut self) -> bool {
        let bit = self.0 & 1 == 1;
        self.0 = self.0.rotate_right(1);
        bit
    }
}

/// A row as written, without `id` and `meta`: what must be byte-identical across input forms.
pub fn comparable(row: &Value) -> String {
    let mut row = row.clone();
    if let Some(map) = row.as_object_mut() {
        map.remove("id");
        map.remove("meta");
    }
    row.to_string()
}
