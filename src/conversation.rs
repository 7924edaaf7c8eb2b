//! The one canonical conversation model.
//!
//! Every input format is converted into a [`Conversation`]; every template renders from one. It mirrors
//! the TRL/OpenAI training format (system, user, assistant with `tool_calls` and `reasoning_content`,
//! `tool`), plus the two things that format cannot say: whether a message should carry loss, and
//! whether tool-call arguments were given as an object or as a verbatim string.

use std::sync::Arc;

use serde_json::{Map, Value};

/// Who speaks. The four roles of the training format; nothing else is ever invented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    System,
    User,
    Assistant,
    Tool,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

/// Tool-call arguments keep their original shape because templates treat them differently:
/// Qwen3 writes an object through `tojson` but a string verbatim.
#[derive(Debug, Clone, PartialEq)]
pub enum Arguments {
    /// A JSON value (almost always an object), rendered by the template's JSON filter.
    Json(Value),
    /// A string given by the source (usually JSON-encoded, sometimes raw code), rendered as is.
    Text(String),
}

impl Arguments {
    /// The arguments as a JSON value, parsing a string form when it is valid JSON.
    pub fn parsed(&self) -> Option<Value> {
        match self {
            Arguments::Json(v) => Some(v.clone()),
            Arguments::Text(s) => serde_json::from_str(s).ok(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub id: Option<String>,
    pub name: String,
    pub arguments: Arguments,
    /// JSON path of the call in the source record, for locating findings.
    pub origin: String,
}

/// One message in training order.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub role: Role,
    pub content: String,
    /// Assistant reasoning (`reasoning_content`); `None` when the message has none.
    pub reasoning: Option<String>,
    pub tool_calls: Vec<ToolCall>,
    /// Tool messages: the function that produced the result.
    pub name: Option<String>,
    /// Tool messages: the call this result answers.
    pub tool_call_id: Option<String>,
    /// Assistant messages: whether the loss covers this message (`"train": false` keeps it as context).
    pub train: bool,
    /// The content as written when the reasoning was given inline (`<think>…</think>answer`):
    /// templates that know nothing of `reasoning_content` must see it as the source wrote it.
    pub inline_original: Option<String>,
    /// JSON path of what produced this message in the source record (`turns[2].assistant_answer`,
    /// `messages[5]` …), so every finding can point into the user's own file.
    pub origin: String,
}

impl Message {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Message {
            role,
            content: content.into(),
            reasoning: None,
            tool_calls: Vec::new(),
            name: None,
            tool_call_id: None,
            train: true,
            inline_original: None,
            origin: String::new(),
        }
    }

    /// Builder-style origin, for ingest.
    pub fn at(mut self, origin: impl Into<String>) -> Self {
        self.origin = origin.into();
        self
    }

    /// Move reasoning written inline in the content into `reasoning`, keeping the original text.
    pub fn split_inline_reasoning(&mut self) {
        if self.reasoning.is_some() {
            return;
        }
        if let Some((reasoning, answer)) = split_inline_reasoning(&self.content) {
            self.reasoning = Some(reasoning);
            self.inline_original = Some(std::mem::replace(&mut self.content, answer));
        }
    }

    /// Forget reasoning entirely (`--reasoning drop`), including an inline copy.
    pub fn drop_reasoning(&mut self) {
        self.reasoning = None;
        self.inline_original = None;
    }
}

/// A whole record: the messages, the tools offered (OpenAI `{"type":"function","function":{…}}` shape),
/// and whatever else the record carried, passed through untouched.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Conversation {
    pub id: String,
    pub messages: Vec<Message>,
    pub tools: Arc<Vec<Value>>,
    pub meta: Map<String, Value>,
}

impl Conversation {
    /// Index of the last user message, where Qwen3 and Harmony start keeping reasoning.
    pub fn last_user_index(&self) -> Option<usize> {
        self.messages.iter().rposition(|m| m.role == Role::User)
    }

    /// The user turns: each runs from a user message to just before the next one. Messages before
    /// the first user message (the system prompt) belong to no turn. The one split used by
    /// per-turn expansion, validation, case inference and pair synthesis.
    pub fn user_turns(&self) -> Vec<std::ops::Range<usize>> {
        let users: Vec<usize> =
            self.messages.iter().enumerate().filter(|(_, m)| m.role == Role::User).map(|(i, _)| i).collect();
        users
            .iter()
            .enumerate()
            .map(|(k, &start)| start..users.get(k + 1).copied().unwrap_or(self.messages.len()))
            .collect()
    }

    /// Names of the tools offered.
    pub fn tool_names(&self) -> Vec<&str> {
        self.tools
            .iter()
            .filter_map(|t| t.get("function").and_then(|f| f.get("name")).and_then(Value::as_str))
            .collect()
    }

    /// The tool schema named `name`, in OpenAI shape.
    pub fn tool(&self, name: &str) -> Option<&Value> {
        self.tools.iter().find(|t| t.get("function").and_then(|f| f.get("name")).and_then(Value::as_str) == Some(name))
    }
}

/// How tool-call arguments are written when a message leaves the canonical model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgumentsForm {
    /// As given: objects stay objects (templates run them through `tojson`), strings stay strings.
    AsGiven,
    /// Always a string: objects become Python `json.dumps` text, which every template that writes a
    /// string verbatim renders exactly as it renders the object through `tojson`. This keeps the
    /// `messages` column loadable by `datasets` when argument types differ between rows (TRAPS 7).
    String,
}

impl Message {
    /// The message in TRL/OpenAI training format. With `split_reasoning` false, reasoning that was
    /// written inline stays in the content as written (for templates without `reasoning_content`).
    pub fn to_json(&self, form: ArgumentsForm, split_reasoning: bool) -> Value {
        let mut m = Map::new();
        m.insert("role".into(), Value::String(self.role.as_str().into()));
        match (&self.inline_original, split_reasoning) {
            (Some(original), false) => {
                m.insert("content".into(), Value::String(original.clone()));
            }
            _ => {
                m.insert("content".into(), Value::String(self.content.clone()));
                if let Some(r) = &self.reasoning {
                    m.insert("reasoning_content".into(), Value::String(r.clone()));
                }
            }
        }
        if !self.tool_calls.is_empty() {
            let calls = self.tool_calls.iter().map(|c| c.to_json(form)).collect();
            m.insert("tool_calls".into(), Value::Array(calls));
        }
        if let Some(name) = &self.name {
            m.insert("name".into(), Value::String(name.clone()));
        }
        if let Some(id) = &self.tool_call_id {
            m.insert("tool_call_id".into(), Value::String(id.clone()));
        }
        Value::Object(m)
    }
}

impl ToolCall {
    pub fn to_json(&self, form: ArgumentsForm) -> Value {
        let arguments = match (&self.arguments, form) {
            (Arguments::Text(s), _) => Value::String(s.clone()),
            (Arguments::Json(v), ArgumentsForm::AsGiven) => v.clone(),
            (Arguments::Json(v), ArgumentsForm::String) => Value::String(crate::pyjson::dumps(v)),
        };
        let mut function = Map::new();
        function.insert("name".into(), Value::String(self.name.clone()));
        function.insert("arguments".into(), arguments);
        let mut call = Map::new();
        if let Some(id) = &self.id {
            call.insert("id".into(), Value::String(id.clone()));
        }
        call.insert("type".into(), Value::String("function".into()));
        call.insert("function".into(), Value::Object(function));
        Value::Object(call)
    }
}

/// Put a bare tool schema (`{"name", "description", "parameters"}`) into the OpenAI shape that
/// templates expect; a schema already in that shape is returned unchanged.
pub fn normalize_tool(tool: Value) -> Value {
    match tool {
        Value::Object(ref map) if map.contains_key("function") => tool,
        Value::Object(map) if map.contains_key("name") => {
            let mut wrapped = Map::new();
            wrapped.insert("type".into(), Value::String("function".into()));
            wrapped.insert("function".into(), Value::Object(map));
            Value::Object(wrapped)
        }
        other => other,
    }
}

/// Split reasoning stored inline in content: `<think>R</think>A`, or only `R</think>A` when the opening
/// tag came from the generation prompt (TRAPS 4). Returns `(reasoning, answer)`.
pub fn split_inline_reasoning(content: &str) -> Option<(String, String)> {
    // The same cut as Qwen3's template: the answer follows the last `</think>`, the reasoning is
    // what precedes the first one, after its last `<think>`.
    let first_close = content.find("</think>")?;
    let last_close = content.rfind("</think>")?;
    let before = &content[..first_close];
    let after = &content[last_close + "</think>".len()..];
    let reasoning = match before.rfind("<think>") {
        Some(open) => &before[open + "<think>".len()..],
        None => before,
    };
    Some((
        reasoning.trim_end_matches('\n').trim_start_matches('\n').to_string(),
        after.trim_start_matches('\n').to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bare_tool_schemas_are_wrapped() {
        let bare = json!({"name": "f", "parameters": {"type": "object"}});
        let wrapped = normalize_tool(bare.clone());
        assert_eq!(wrapped, json!({"type": "function", "function": bare}));
        assert_eq!(normalize_tool(wrapped.clone()), wrapped);
    }

    #[test]
    fn inline_reasoning_with_and_without_opening_tag() {
        assert_eq!(split_inline_reasoning("<think>\nplan\n</think>\n\nanswer"), Some(("plan".into(), "answer".into())));
        assert_eq!(split_inline_reasoning("plan</think>answer"), Some(("plan".into(), "answer".into())));
        assert_eq!(split_inline_reasoning("no tags"), None);
    }
}

/// Equal JSON with keys in the same order (serde_json's `==` ignores the order, which `tojson` keeps).
pub fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|((ka, va), (kb, vb))| ka == kb && same_json(va, vb))
        }
        _ => a == b,
    }
}

/// Values derived from a tool set (its template value, its JSON text), remembered for the last few
/// sets: the records of one agent offer the same tools, and all rows of a record share them. A set
/// is found by pointer first (a record's rows share one), then by [`same_json`].
#[derive(Debug)]
pub struct ToolSetMemo<T> {
    entries: Vec<(Arc<Vec<Value>>, T)>,
}

impl<T: Clone> ToolSetMemo<T> {
    const KEPT: usize = 8;

    pub const fn new() -> Self {
        ToolSetMemo { entries: Vec::new() }
    }

    /// The remembered values, oldest first.
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.entries.iter().map(|(_, value)| value)
    }

    pub fn get_or_insert_with(&mut self, tools: &Arc<Vec<Value>>, make: impl FnOnce(&[Value]) -> T) -> T {
        if let Some((_, value)) = self.entries.iter().find(|(kept, _)| Arc::ptr_eq(kept, tools)) {
            return value.clone();
        }
        let equal =
            |kept: &[Value]| kept.len() == tools.len() && kept.iter().zip(tools.iter()).all(|(a, b)| same_json(a, b));
        if let Some((kept, value)) = self.entries.iter_mut().find(|(kept, _)| equal(kept)) {
            *kept = tools.clone(); // found by pointer from now on
            return value.clone();
        }
        let value = make(tools);
        if self.entries.len() == Self::KEPT {
            self.entries.remove(0);
        }
        self.entries.push((tools.clone(), value.clone()));
        value
    }
}

impl<T: Clone> Default for ToolSetMemo<T> {
    fn default() -> Self {
        Self::new()
    }
}
