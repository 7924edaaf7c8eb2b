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

/// [`json_list`] of a record's tools, remembered per thread: records of one agent, and every row
/// of a record in `--expand per-turn`, offer the same tools, which then need not be converted again
/// (minijinja values are immutable, so one value can serve many renders).
pub fn tools_value(tools: &[Json]) -> Value {
    const KEPT: usize = 8;
    thread_local! {
        static TOOLS: std::cell::RefCell<Vec<(Vec<Json>, Value)>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    TOOLS.with(|cache| {
        let mut cache = cache.borrow_mut();
        let same = |kept: &[Json]| kept.len() == tools.len() && kept.iter().zip(tools).all(|(a, b)| same_json(a, b));
        if let Some(at) = cache.iter().position(|(kept, _)| same(kept)) {
            return cache[at].1.clone();
        }
        let value = json_list(tools);
        if cache.len() == KEPT {
            cache.remove(0);
        }
        cache.push((tools.to_vec(), value.clone()));
        value
    })
}

/// Equal JSON with keys in the same order (serde_json's `==` ignores the order, which `tojson` keeps).
pub fn same_json(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Array(x), Json::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b)),
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|((ka, va), (kb, vb))| ka == kb && same_json(va, vb))
        }
        _ => a == b,
    }
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
    fn tools_are_reused_only_when_equal_in_order() {
        let a = vec![json!({"type": "function", "function": {"name": "f", "parameters": {"a": 1, "b": 2}}})];
        let b = vec![json!({"type": "function", "function": {"name": "f", "parameters": {"b": 2, "a": 1}}})];
        let c = vec![json!({"type": "function", "function": {"name": "f", "parameters": {"a": 1.0, "b": 2}}})];
        for tools in [&a, &b, &c, &a] {
            same(&tools_value(tools), &json_list(tools));
        }
        assert_ne!(format!("{:?}", tools_value(&a)), format!("{:?}", tools_value(&b)));
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
