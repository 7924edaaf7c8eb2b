//! The template context built directly as minijinja values.
//!
//! `Value::from(Serde(json))` walks a `serde_json::Value` through serde's serializer, and the JSON
//! itself was first built from the canonical messages; both steps allocate for every key and string.
//! These functions build the very same values (the same representations: `IndexMap<Value, Value>`
//! maps in insertion order, `Vec<Value>` lists, i64/u64/f64 numbers, `none` for null) without either
//! step, so templates cannot tell the difference. A test compares them with the serde conversion.

use std::cell::{OnceCell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use minijinja::Value;
use serde_json::Value as Json;

use crate::conversation::{Arguments, Message, Role, ToolSetMemo};

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

/// A tool set as templates see it, and each tool's `tojson` text, made on first use: templates
/// such as Qwen3's dump every tool into the system prompt of every row.
#[derive(Clone)]
struct TemplateTools {
    list: Value,
    dumped: Rc<[OnceCell<Rc<str>>]>,
}

thread_local! {
    static TOOLS: RefCell<ToolSetMemo<TemplateTools>> = const { RefCell::new(ToolSetMemo::new()) };
}

/// [`json_list`] of a record's tools, remembered per thread (minijinja values are immutable, so
/// one value can serve many renders).
pub fn tools_value(tools: &Arc<Vec<Json>>) -> Value {
    let make = |tools: &[Json]| TemplateTools {
        list: json_list(tools),
        dumped: tools.iter().map(|_| OnceCell::new()).collect(),
    };
    TOOLS.with(|memo| memo.borrow_mut().get_or_insert_with(tools, make).list)
}

/// `tojson` of `value` with default options when it is one of the tools of a remembered tool set
/// (found by identity), made once per tool set and thread.
pub fn dumped_tool(value: &Value) -> Option<Rc<str>> {
    let map: *const ValueMap = value.downcast_object_ref::<ValueMap>()?;
    TOOLS.with(|memo| {
        let memo = memo.borrow();
        for tools in memo.values() {
            let Some(items) = tools.list.downcast_object_ref::<Vec<Value>>() else { continue };
            let same = |item: &Value| item.downcast_object_ref::<ValueMap>().is_some_and(|m| std::ptr::eq(m, map));
            if let Some(at) = items.iter().position(same) {
                let text = tools.dumped[at].get_or_init(|| {
                    crate::pyjson::dumps_template_value(value, &Default::default()).unwrap_or_default().into()
                });
                return Some(text.clone()).filter(|t| !t.is_empty());
            }
        }
        None
    })
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
        let a = Arc::new(vec![json!({"type": "function", "function": {"name": "f", "parameters": {"a": 1, "b": 2}}})]);
        let b = Arc::new(vec![json!({"type": "function", "function": {"name": "f", "parameters": {"b": 2, "a": 1}}})]);
        let c =
            Arc::new(vec![json!({"type": "function", "function": {"name": "f", "parameters": {"a": 1.0, "b": 2}}})]);
        let a_again = Arc::new(a.to_vec());
        for tools in [&a, &b, &c, &a, &a_again, &a_again] {
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
