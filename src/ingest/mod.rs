//! Ingest: every supported input shape → one [`Conversation`].
//!
//! The format is detected per record from its keys (`turns` → raw annotation, `messages` →
//! TRL/OpenAI, `conversations` → ShareGPT, a `content` list of `class_` events → Agent Data
//! Protocol), or forced with `--input-format`. Anything that cannot
//! become a training conversation is an [`IngestError`] naming the JSON path; things that convert but
//! look wrong (a call to a tool that is not offered, arguments that are not JSON) are warnings.
//!
//! The converters do not stop at the first structural problem: they record it, step over the broken
//! piece and read on, so that `validate` can report every problem of a record and still check what
//! was read ([`ingest_value_recovering`]). Convert rejects a record with the first problem met, which
//! is the one a converter that stopped there would have reported.

mod adp;
mod messages;
mod raw;
mod read;
mod scan;
mod sharegpt;

pub use adp::{derive_tools, AdpImages, AdpOptions, AdpThought, CodeTool};
pub use read::{default_id, parse, read, Parsed, Rejected};
pub use scan::{check_json, JsonCheck};

use serde_json::{Map, Value};

use crate::conversation::{normalize_tool, Arguments, Conversation, Role, ToolCall};
use crate::diagnostic::{Code, Diagnostic};

/// The input shapes trajkit reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    Raw,
    Messages,
    ShareGpt,
    /// Agent Data Protocol trajectories (`neulab/agent-data-protocol`).
    Adp,
}

impl InputFormat {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "raw" => Some(InputFormat::Raw),
            "messages" | "openai" | "trl" => Some(InputFormat::Messages),
            "sharegpt" => Some(InputFormat::ShareGpt),
            "adp" => Some(InputFormat::Adp),
            _ => None,
        }
    }

    fn detect(record: &Map<String, Value>) -> Option<Self> {
        if record.contains_key("turns") {
            Some(InputFormat::Raw)
        } else if record.contains_key("messages") {
            Some(InputFormat::Messages)
        } else if record.contains_key("conversations") {
            Some(InputFormat::ShareGpt)
        } else if adp::looks_like(record) {
            Some(InputFormat::Adp)
        } else {
            None
        }
    }
}

/// A record that cannot become a conversation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IngestError(pub Diagnostic);

impl IngestError {
    pub fn new(code: Code, path: impl Into<String>, message: impl Into<String>) -> Self {
        IngestError(Diagnostic::error(code, path, message))
    }
}

pub type IngestResult<T> = Result<T, IngestError>;

/// What ingest needs besides the record itself.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Force one input format instead of detecting it per record.
    pub format: Option<InputFormat>,
    /// Tools for records that carry none (`--tools FILE`), already normalized.
    pub default_tools: Option<std::sync::Arc<Vec<Value>>>,
    /// Remove user messages that follow the last assistant output (`--drop-trailing-user`).
    pub drop_trailing_user: bool,
    /// How Agent Data Protocol records are read (`--adp-*`).
    pub adp: AdpOptions,
}

/// A converted record plus the warnings found on the way.
#[derive(Debug, Clone)]
pub struct Ingested {
    pub conversation: Conversation,
    pub warnings: Vec<Diagnostic>,
}

/// Parse one record's text and convert it, without the JSON checks of [`read`] (tests, and text
/// that is not an input record). `fallback_id` names records that carry no `id`.
pub fn ingest(text: &str, fallback_id: &str, options: &IngestOptions) -> IngestResult<Ingested> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| IngestError::new(Code::InvalidJson, "", format!("not valid JSON: {e}")))?;
    ingest_value(value, fallback_id, options)
}

/// Convert an already parsed record (a record built in memory, such as a score request; input
/// records go through [`read`]). A record with any structural problem is refused with the first.
pub fn ingest_value(value: Value, fallback_id: &str, options: &IngestOptions) -> IngestResult<Ingested> {
    let Recovered { ingested, errors } = ingest_value_recovering(value, fallback_id, options)?;
    if let Some(first) = errors.into_iter().next() {
        return Err(IngestError(first));
    }
    Ok(ingested)
}

/// What could be read of a record with structural problems: the conversation with the broken pieces
/// stepped over, and every problem in the order met.
#[derive(Debug, Clone)]
pub struct Recovered {
    pub ingested: Ingested,
    /// Structural problems (empty when the record converts); the first is convert's rejection.
    pub errors: Vec<Diagnostic>,
}

/// Convert an already parsed record, reading on past structural problems (for `validate`). Only a
/// record that is not an object or has no known format is an error; one without a list of turns or
/// messages comes back empty with that problem (after any met before it). `options.check` is not
/// run: it is for records that convert.
pub fn ingest_value_recovering(value: Value, fallback_id: &str, options: &IngestOptions) -> IngestResult<Recovered> {
    let Value::Object(record) = value else {
        return Err(IngestError::new(
            Code::NotAnObject,
            "",
            format!("a record must be a JSON object, found {}", type_name(&value)),
        ));
    };
    let format = match options.format.or_else(|| InputFormat::detect(&record)) {
        Some(f) => f,
        None => {
            return Err(IngestError::new(
                Code::UnknownFormat,
                "",
                "no `turns` (raw), `messages`, `conversations` (ShareGPT) or `content` events (ADP) field",
            ))
        }
    };
    let mut cx = Context { warnings: Vec::new(), errors: Vec::new() };
    let converted = match format {
        InputFormat::Raw => raw::convert(record, &mut cx),
        InputFormat::Messages => messages::convert(record, &mut cx),
        InputFormat::ShareGpt => sharegpt::convert(record, &mut cx),
        InputFormat::Adp => adp::convert(record, options, &mut cx),
    };
    // No list of turns or messages: nothing more can be read, but problems met before it (an `id`
    // of the wrong type) come first, as they did when ingest stopped at the first problem.
    let mut conversation = converted.unwrap_or_else(|e| {
        cx.fail(e);
        Conversation::default()
    });
    if conversation.id.is_empty() {
        conversation.id = fallback_id.to_string();
    }
    if conversation.tools.is_empty() {
        if let Some(tools) = &options.default_tools {
            conversation.tools = tools.clone();
        }
    }
    unfinished(&conversation, &mut cx);
    trailing_user_messages(&mut conversation, options.drop_trailing_user, &mut cx);
    check_calls(&conversation, &mut cx);
    Ok(Recovered { ingested: Ingested { conversation, warnings: cx.warnings }, errors: cx.errors })
}

/// A record whose last assistant move is a tool step (trailing user messages aside) teaches the
/// model to stop after a call or a result; it converts, with a warning, in every input format alike.
fn unfinished(conversation: &Conversation, cx: &mut Context) {
    let Some(last) = conversation.messages.iter().rev().find(|m| m.role != Role::User) else { return };
    let what = match last.role {
        Role::Tool => "a tool result",
        Role::Assistant if !last.tool_calls.is_empty() => "a tool call",
        _ => return,
    };
    cx.warn(
        Code::Unfinished,
        last.origin.clone(),
        format!("the record ends on {what} with no final answer: the model learns to stop there"),
    );
}

/// Real logs often end on a user message nobody answered ("Thank you so much!"). Kept, the row is
/// exactly what `apply_chat_template` gives for those messages, in every input format alike; the one
/// warning says what that costs and how to drop them instead.
fn trailing_user_messages(conversation: &mut Conversation, drop: bool, cx: &mut Context) {
    let messages = &mut conversation.messages;
    let Some(last_assistant) = messages.iter().rposition(|m| m.role == Role::Assistant) else { return };
    let first_trailing =
        messages.iter().rposition(|m| m.role != Role::User).map_or(0, |i| i + 1).max(last_assistant + 1);
    let count = messages.len() - first_trailing;
    if count == 0 {
        return;
    }
    let path = messages[first_trailing].origin.clone();
    if drop {
        messages.truncate(first_trailing);
        cx.warn(
            Code::TrailingUserTurn,
            path,
            format!("{count} user message(s) after the last assistant output dropped (--drop-trailing-user)"),
        );
    } else {
        cx.warn(
            Code::TrailingUserTurn,
            path,
            format!(
                "{count} user message(s) after the last assistant output, kept as context as apply_chat_template \
                 renders them; templates that drop reasoning before the last user message (Qwen3, Harmony) drop \
                 the final assistant turn's reasoning; --drop-trailing-user removes them"
            ),
        );
    }
}

/// Warnings shared by every format: calls that name no offered tool, arguments that are not JSON.
fn check_calls(conversation: &Conversation, cx: &mut Context) {
    let names = conversation.tool_names();
    for (i, message) in conversation.messages.iter().enumerate() {
        for (j, call) in message.tool_calls.iter().enumerate() {
            let path =
                if call.origin.is_empty() { format!("messages[{i}].tool_calls[{j}]") } else { call.origin.clone() };
            if names.is_empty() {
                cx.warn(
                    Code::CallWithoutTools,
                    &path,
                    format!("call to `{}` but the record offers no tools", call.name),
                );
            } else if !names.contains(&call.name.as_str()) {
                cx.warn(
                    Code::UnknownTool,
                    &path,
                    format!("call to `{}`, which is not among the record's tools", call.name),
                );
            }
            if let Arguments::Text(s) = &call.arguments {
                if serde_json::from_str::<Value>(s).is_err() {
                    cx.warn(
                        Code::ArgumentsNotJson,
                        format!("{path}.arguments"),
                        "string arguments are not JSON (kept verbatim)",
                    );
                }
            }
        }
    }
}

/// Per-record state while converting: the warnings and structural problems collected so far.
pub(crate) struct Context {
    warnings: Vec<Diagnostic>,
    errors: Vec<Diagnostic>,
}

impl Context {
    pub(crate) fn warn(&mut self, code: Code, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Diagnostic::warning(code, path, message));
    }

    /// Record a structural problem; the converter then steps over the broken piece and reads on.
    pub(crate) fn fail(&mut self, error: IngestError) {
        self.errors.push(error.0);
    }

    /// The value, or `None` with the problem recorded.
    pub(crate) fn ok<T>(&mut self, result: IngestResult<T>) -> Option<T> {
        result.map_err(|e| self.fail(e)).ok()
    }

    /// No structural problem so far: record-level verdicts ("nothing to train on") are only given
    /// then, since after a skipped piece they would mostly repeat it.
    pub(crate) fn clean(&self) -> bool {
        self.errors.is_empty()
    }
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(crate) fn wrong_type(path: &str, expected: &str, found: &Value) -> IngestError {
    IngestError::new(Code::WrongType, path, format!("expected {expected}, found {}", type_name(found)))
}

/// An optional string field; `null` counts as absent.
pub(crate) fn opt_str(map: &Map<String, Value>, key: &str, path: &str) -> IngestResult<Option<String>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(wrong_type(&join(path, key), "a string", other)),
    }
}

/// An id may be written as a string or a number.
pub(crate) fn opt_id(map: &Map<String, Value>, key: &str, path: &str) -> IngestResult<Option<String>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(wrong_type(&join(path, key), "a string or number", other)),
    }
}

/// A text field that recovery keeps even when it has the wrong type: the problem is recorded and the
/// value's JSON text stands in, so the message (and what the checks read in it) is not lost.
pub(crate) fn opt_text(map: &Map<String, Value>, key: &str, path: &str, cx: &mut Context) -> Option<String> {
    match map.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            cx.fail(wrong_type(&join(path, key), "a string", other));
            Some(other.to_string())
        }
    }
}

pub(crate) fn opt_bool(map: &Map<String, Value>, key: &str, path: &str) -> IngestResult<Option<bool>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(wrong_type(&join(path, key), "a boolean", other)),
    }
}

pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The record's tools: an array of schemas, or (as ShareGPT and some exports store it) a JSON string
/// holding that array. Bare schemas are wrapped into the OpenAI shape. An item that is not an object
/// is recorded and kept as it is, so the list stays aligned with the record for validation's paths.
pub(crate) fn tools_field(map: &Map<String, Value>, key: &str, cx: &mut Context) -> Vec<Value> {
    let value = match map.get(key) {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::String(s)) if s.trim().is_empty() => return Vec::new(),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(v) => v,
            Err(e) => {
                cx.fail(IngestError::new(Code::InvalidTools, key, format!("tools string is not JSON: {e}")));
                return Vec::new();
            }
        },
        Some(v) => v.clone(),
    };
    let Value::Array(items) = value else {
        cx.fail(wrong_type(key, "an array of tool schemas", &value));
        return Vec::new();
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, tool)| {
            if !tool.is_object() {
                cx.fail(wrong_type(&format!("{key}[{i}]"), "a tool schema object", &tool));
                return tool;
            }
            normalize_tool(tool)
        })
        .collect()
}

/// Tool-call arguments: an object is kept as JSON, a string verbatim; absent or null means no
/// arguments. Any other value is recorded and kept as JSON (validation reads it, convert refuses it).
pub(crate) fn arguments_field(map: &Map<String, Value>, path: &str, cx: &mut Context) -> Arguments {
    match map.get("arguments") {
        None | Some(Value::Null) => Arguments::Json(Value::Object(Map::new())),
        Some(Value::String(s)) => Arguments::Text(s.clone()),
        Some(v @ Value::Object(_)) => Arguments::Json(v.clone()),
        Some(other) => {
            cx.fail(wrong_type(&join(path, "arguments"), "an object or a JSON string", other));
            Arguments::Json(other.clone())
        }
    }
}

/// One tool call: `{"name", "arguments", "id"?}`, or the OpenAI shape with the name and arguments
/// inside `function`. A call whose name is broken is recorded and kept with an empty name, so its
/// result still pairs with it and its arguments are still checked.
pub(crate) fn parse_call(call: &Map<String, Value>, path: &str, cx: &mut Context) -> ToolCall {
    let inner = match call.get("function") {
        Some(Value::Object(f)) => Some((f, join(path, "function"))),
        Some(other) => {
            cx.fail(wrong_type(&join(path, "function"), "an object", other));
            None
        }
        None => Some((call, path.to_string())),
    };
    let name = match &inner {
        Some((inner, inner_path)) => call_name(inner, inner_path, cx),
        None => String::new(),
    };
    let id = cx.ok(opt_id(call, "id", path)).flatten();
    let arguments = match &inner {
        Some((inner, inner_path)) => arguments_field(inner, inner_path, cx),
        None => Arguments::Json(Value::Object(Map::new())),
    };
    ToolCall { id, name, arguments, origin: path.to_string() }
}

/// A call's tool name; empty, with the problem recorded, when it is missing or not a non-empty string.
fn call_name(inner: &Map<String, Value>, inner_path: &str, cx: &mut Context) -> String {
    let path = join(inner_path, "name");
    match inner.get("name") {
        Some(Value::String(s)) if !s.is_empty() => return s.clone(),
        Some(Value::String(_)) => cx.fail(IngestError::new(Code::WrongType, path, "empty tool name")),
        Some(other) => cx.fail(wrong_type(&path, "a string", other)),
        None => cx.fail(IngestError::new(Code::MissingField, path, "missing")),
    }
    String::new()
}

/// A tool result as tool-message text: strings as they are, anything else as compact JSON.
pub(crate) fn result_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Fill in the `name` of tool messages that lack one, from their `tool_call_id` or, failing that,
/// from the calls still waiting for a result, in order. A result that answers no call is kept (real
/// datasets have them, and HF templates render them) with a `role_order` warning; templates that
/// need the name, such as Harmony, refuse it when rendering.
pub(crate) fn resolve_tool_names(conversation: &mut Conversation, cx: &mut Context) {
    let mut pending: std::collections::VecDeque<(Option<String>, String)> = Default::default();
    for message in &mut conversation.messages {
        match message.role {
            Role::Assistant if !message.tool_calls.is_empty() => {
                pending = message.tool_calls.iter().map(|c| (c.id.clone(), c.name.clone())).collect();
            }
            Role::Tool => {
                let by_id = message
                    .tool_call_id
                    .as_ref()
                    .and_then(|id| pending.iter().position(|(cid, _)| cid.as_deref() == Some(id.as_str())));
                let by_name = message.name.as_ref().and_then(|name| pending.iter().position(|(_, n)| n == name));
                let taken = match (by_id, by_name, &message.name) {
                    (Some(pos), _, _) | (None, Some(pos), _) => pending.remove(pos),
                    (None, None, None) => pending.pop_front(),
                    (None, None, Some(_)) => None,
                };
                if taken.is_none() {
                    cx.warn(Code::RoleOrder, message.origin.clone(), "tool result that answers no pending tool call");
                }
                if message.name.is_none() {
                    message.name = taken.map(|(_, name)| name);
                }
            }
            _ => {}
        }
    }
}
