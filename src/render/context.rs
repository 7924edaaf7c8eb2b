//! The template context built directly as minijinja values.
//!
//! `Value::from(Serde(json))` walks a `serde_json::Value` through serde's serializer, and the JSON
//! itself was first built from the canonical messages; both steps allocate for every key and string.
//! These functions build the very same values (the same representations: `IndexMap<Value, Value>`
//! maps in insertion order, `Vec<Value>` lists, i64/u64/f64 numbers, `none` for null) without either
//! step, so templates cannot tell the difference. A test compares them with the serde conversion.

use minijinja::Value;
use serde_json::Value as Json;

use crate::conversation::{Arguments, Message, Role};

/// The map type minijinja builds for serialized maps (`preserve_order`).
pub(super) type ValueMap = indexmap::IndexMap<Value, Value>;

/// `Value::from(Serde(json))`, without serde.
pub fn json_value(json: &Json) -> Value {
    match json {
        Json::Null => Value::from(()),
        Json::Bool(b) => Value::from(*b),
        Json::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Value::from(u),
            (None, Some(i)) => Value::from(i),
            _ => Value::from(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::from(s.as_str()),
        Json::Array(items) => Value::from_object(items.iter().map(json_value).collect::<Vec<Value>>()),
        Json::Object(map) => {
            let mut out = ValueMap::with_capacity(map.len());
            for (k, v) in map {
                out.insert(Value::from(k.as_str()), json_value(v));
            }
            Value::from_object(out)
        }
    }
}

/// A list of JSON values, as `json_value` of the array.
pub fn json_list(items: &[Json]) -> Value {
    Value::from_object(items.iter().map(json_value).collect::<Vec<Value>>())
}

/// `json_value(&message.to_json(ArgumentsForm::AsGiven, split_reasoning))`, plus `trajkit_train`
/// on assistant messages when `mark_train` (the built-in templates read it).
pub fn message_value(m: &Message, split_reasoning: bool, mark_train: bool) -> Value {
    let mut map = ValueMap::with_capacity(6);
    let s = |text: &str| Value::from(text);
    map.insert(s("role"), s(m.role.as_str()));
    match (&m.inline_original, split_reasoning) {
        (Some(original), false) => {
            map.insert(s("content"), s(original));
        }
        _ => {
            map.insert(s("content"), s(&m.content));
            if let Some(r) = &m.reasoning {
                map.insert(s("reasoning_content"), s(r));
            }
        }
    }
    if !m.tool_calls.is_empty() {
        let calls: Vec<Value> = m
            .tool_calls
            .iter()
            .map(|c| {
                let mut function = ValueMap::with_capacity(2);
                function.insert(s("name"), s(&c.name));
                let arguments = match &c.arguments {
                    Arguments::Text(text) => s(text),
                    Arguments::Json(v) => json_value(v),
                };
                function.insert(s("arguments"), arguments);
                let mut call = ValueMap::with_capacity(3);
                if let Some(id) = &c.id {
                    call.insert(s("id"), s(id));
                }
                call.insert(s("type"), s("function"));
                call.insert(s("function"), Value::from_object(function));
                Value::from_object(call)
            })
            .collect();
        map.insert(s("tool_calls"), Value::from_object(calls));
    }
    if let Some(name) = &m.name {
        map.insert(s("name"), s(name));
    }
    if let Some(id) = &m.tool_call_id {
        map.insert(s("tool_call_id"), s(id));
    }
    if mark_train && m.role == Role::Assistant {
        map.insert(s("trajkit_train"), Value::from(m.train));
    }
    Value::from_object(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::{ArgumentsForm, ToolCall};
    use minijinja::value::Serde;
    use serde_json::json;

    /// Same value, same representation: compared through minijinja's own debug output, which
    /// names the kind of every value (`1` vs `1.0`, maps vs lists, key order).
    fn same(a: &Value, b: &Value) {
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert_eq!(a.kind(), b.kind());
    }

    #[test]
    fn json_values_equal_serde_conversion() {
        let v = json!({"b": [1, -2, 18446744073709551615u64, 2.5, 1e300, true, null, "é"], "a": {}, "c": {"z": 1, "y": []}});
        same(&json_value(&v), &Value::from(Serde(&v)));
        let Json::Object(map) = &v else { unreachable!() };
        for value in map.values() {
            same(&json_value(value), &Value::from(Serde(value)));
        }
    }

    #[test]
    fn messages_equal_serde_conversion() {
        let mut m = Message::new(Role::Assistant, "answer");
        m.reasoning = Some("think".into());
        m.tool_calls.push(ToolCall {
            id: Some("c1".into()),
            name: "f".into(),
            arguments: Arguments::Json(json!({"x": 1, "y": [1.0]})),
            origin: String::new(),
        });
        m.tool_calls.push(ToolCall {
            id: None,
            name: "g".into(),
            arguments: Arguments::Text("raw".into()),
            origin: String::new(),
        });
        m.train = false;
        let mut tool = Message::new(Role::Tool, "result");
        tool.name = Some("f".into());
        tool.tool_call_id = Some("c1".into());
        let mut inline = Message::new(Role::Assistant, "<think>r</think>a");
        inline.split_inline_reasoning();
        for message in [&m, &tool, &inline] {
            for split in [false, true] {
                for mark in [false, true] {
                    let mut json = message.to_json(ArgumentsForm::AsGiven, split);
                    if mark && message.role == Role::Assistant {
                        json.as_object_mut().unwrap().insert("trajkit_train".into(), Json::Bool(message.train));
                    }
                    same(&message_value(message, split, mark), &Value::from(Serde(&json)));
                }
            }
        }
    }
}
