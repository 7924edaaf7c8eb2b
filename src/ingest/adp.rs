//! Agent Data Protocol (ADP) trajectories: `{"id", "content": [event, …], "details"}`, the common
//! schema `neulab/agent-data-protocol` converts dozens of public agent datasets into. Each event is
//! keyed by `class_`: `text_observation` (`source` user, environment or agent), `api_action`
//! (`function`, `kwargs`, `description` = the thought), `code_action` (`language`, `content`),
//! `message_action` (`content`; `<finish>…</finish>` marks the final answer), `web_observation`
//! (`axtree`, `html`, `url`, a screenshot), `image_observation` (and, in newer schema versions,
//! `json_observation`, `reasoning_content`, `reward` and `tool_call_id`).
//!
//! Pairing follows ADP's own rule (its `backfill_adjacent_tool_call_links`): the observations that
//! follow actions answer them in order, whatever their `source` (older datasets label tool output
//! `user`). An observation that answers no action is something the user (or the environment, outside
//! any call) shows the agent: a user message. ADP records carry no tool schemas; without `--tools`,
//! one is derived per function from the calls (see [`derive_tools`]). docs/adp.md has the whole
//! mapping and the choices made.

use std::collections::{HashSet, VecDeque};

use serde_json::{json, Map, Value};

use super::{join, opt_id, wrong_type, Context, IngestError, IngestOptions, IngestResult};
use crate::conversation::{Arguments, Conversation, Message, Role, ToolCall};
use crate::diagnostic::Code;

const RECORD_KEYS: &[&str] = &["id", "content"];
/// Fields every event may carry besides its own.
const COMMON_KEYS: &[&str] = &["class_", "reward", "tool_call_id"];

/// Where an action's `description` (the agent's thought, in ADP's words) goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AdpThought {
    /// Into the assistant message's reasoning (`reasoning_content`).
    #[default]
    Reasoning,
    /// Into its content, before the message text (as ADP's own OpenHands conversion writes it).
    Content,
    /// Nowhere (said once per record in a warning).
    Drop,
}

/// What happens to images (image observations, screenshots of web observations): the chat
/// templates trajkit renders are text-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AdpImages {
    /// The record is refused, with the image's path in it.
    #[default]
    Refuse,
    /// The image is left out, with a warning. An image that was an action's only result leaves that
    /// action unanswered.
    Drop,
}

/// The tool a code action of one language becomes: `{name}` called with `{argument: code}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeTool {
    pub language: String,
    pub name: String,
    pub argument: String,
}

impl CodeTool {
    /// `LANG=TOOL` or `LANG=TOOL:ARGUMENT` (argument `code` when not given).
    pub fn parse(spec: &str) -> Option<CodeTool> {
        let (language, tool) = spec.split_once('=')?;
        let (name, argument) = tool.split_once(':').unwrap_or((tool, "code"));
        let ok = |s: &str| !s.trim().is_empty();
        (ok(language) && ok(name) && ok(argument)).then(|| CodeTool {
            language: language.trim().to_string(),
            name: name.trim().to_string(),
            argument: argument.trim().to_string(),
        })
    }
}

/// How ADP records are read (`--adp-*` flags).
#[derive(Debug, Clone, Default)]
pub struct AdpOptions {
    pub thought: AdpThought,
    pub images: AdpImages,
    /// Use a web observation's HTML when it has no accessibility tree (`--adp-web-html`).
    pub web_html: bool,
    /// Code tools that replace the built-in ones, by language.
    pub code_tools: Vec<CodeTool>,
}

impl AdpOptions {
    /// The tool and argument for code in `language`: the user's mapping, else the names of ADP's
    /// OpenHands conversion (`execute_bash` with `command`, `execute_ipython_cell` with `code`), else
    /// `execute_<language>` with `code`.
    pub fn code_tool(&self, language: &str) -> (String, String) {
        if let Some(t) = self.code_tools.iter().find(|t| t.language == language) {
            return (t.name.clone(), t.argument.clone());
        }
        match language {
            "bash" | "sh" | "shell" | "console" | "commandline" => ("execute_bash".into(), "command".into()),
            "python" | "python3" | "py" | "ipython" => ("execute_ipython_cell".into(), "code".into()),
            other => (format!("execute_{other}"), "code".into()),
        }
    }
}

/// Whether a record looks like ADP: a `content` list holding an event object with `class_`.
pub(super) fn looks_like(record: &Map<String, Value>) -> bool {
    match record.get("content") {
        Some(Value::Array(events)) => events.iter().any(|e| e.get("class_").is_some()),
        _ => false,
    }
}

/// A call waiting for its observation.
struct Pending {
    id: String,
    name: String,
    origin: String,
}

/// What the previous event left, for pairing and merging.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Last {
    /// Nothing the next action joins: a user message, an image left out, the start.
    Other,
    /// An action: the next action is a parallel call in the same message.
    Action,
    /// An observation that answered a call: the next observation answers the next pending call.
    Result,
    /// A message from the agent: the next action joins it (content next to its call).
    Said,
}

struct Reader<'a> {
    options: &'a AdpOptions,
    messages: Vec<Message>,
    pending: VecDeque<Pending>,
    last: Last,
    /// Ids the record gives itself, which generated ones must not repeat.
    taken_ids: HashSet<String>,
    generated: usize,
    rewards: Vec<Value>,
    dropped_thoughts: usize,
    finish_at: Option<usize>,
    /// A standalone image left out while calls were waiting: it was (probably) their result.
    dropped_result: Option<String>,
}

/// Only a missing `content` list stops the conversion; an event that cannot be read is recorded in
/// `cx` and stepped over.
pub(super) fn convert(
    record: Map<String, Value>,
    options: &IngestOptions,
    cx: &mut Context,
) -> IngestResult<Conversation> {
    let events = match record.get("content") {
        Some(Value::Array(events)) => events,
        Some(other) => return Err(wrong_type("content", "an array of ADP events", other)),
        None => return Err(IngestError::new(Code::MissingField, "content", "missing")),
    };
    let mut conversation =
        Conversation { id: cx.ok(opt_id(&record, "id", "")).flatten().unwrap_or_default(), ..Default::default() };
    let taken_ids =
        events.iter().filter_map(|e| e.get("tool_call_id").and_then(Value::as_str).map(str::to_string)).collect();
    let mut reader = Reader {
        options: &options.adp,
        messages: Vec::new(),
        pending: VecDeque::new(),
        last: Last::Other,
        taken_ids,
        generated: 0,
        rewards: Vec::new(),
        dropped_thoughts: 0,
        finish_at: None,
        dropped_result: None,
    };
    for (i, event) in events.iter().enumerate() {
        let path = format!("content[{i}]");
        let Value::Object(event) = event else {
            cx.fail(wrong_type(&path, "an event object", event));
            continue;
        };
        reader.event(i, event, &path, cx);
    }
    // Calls still waiting at the end are no problem here: the record ends on a tool step, which
    // ingest warns about (`unfinished`) in every format alike.
    if let Some(at) = reader.finish_at.filter(|&at| at + 1 < events.len()) {
        cx.warn(
            Code::AdpAfterFinish,
            format!("content[{}]", at + 1),
            format!("{} event(s) after the <finish> answer at content[{at}] (kept)", events.len() - at - 1),
        );
    }
    if reader.dropped_thoughts > 0 {
        cx.warn(
            Code::AdpThoughtDropped,
            "content",
            format!("{} action thought(s) (`description`) dropped (--adp-thought drop)", reader.dropped_thoughts),
        );
    }
    if cx.clean() {
        if reader.messages.is_empty() {
            cx.fail(IngestError::new(Code::EmptyTurns, "content", "no events: nothing to train on"));
        } else if !reader.messages.iter().any(|m| m.role == Role::Assistant) {
            cx.fail(IngestError::new(Code::EmptyTurns, "content", "no action or agent message: nothing to train on"));
        }
    }
    conversation.messages = reader.messages;
    if let Some(tools) = &options.default_tools {
        if let Some(offered) = available_tools(&record, tools, &conversation) {
            conversation.tools = offered.into();
        }
    } else {
        let derived = derive_tools(&conversation);
        if !derived.is_empty() {
            cx.warn(
                Code::DerivedTools,
                "content",
                format!(
                    "ADP records carry no tool schemas: {} derived from the calls (argument names and JSON types; \
                     required = present in every call); --tools FILE gives the real ones",
                    derived.len()
                ),
            );
            conversation.tools = derived.into();
        }
    }
    if !reader.rewards.is_empty() {
        conversation.meta.insert("adp_rewards".into(), Value::Array(reader.rewards));
    }
    conversation.meta.extend(record.into_iter().filter(|(k, _)| !RECORD_KEYS.contains(&k.as_str())));
    Ok(conversation)
}

impl Reader<'_> {
    fn event(&mut self, index: usize, event: &Map<String, Value>, path: &str, cx: &mut Context) {
        let class = match event.get("class_") {
            Some(Value::String(s)) => s.as_str(),
            Some(other) => return cx.fail(wrong_type(&join(path, "class_"), "a string", other)),
            None => return cx.fail(IngestError::new(Code::MissingField, join(path, "class_"), "missing")),
        };
        let own: &[&str] = match class {
            "text_observation" | "json_observation" => &["content", "source", "name"],
            "image_observation" => &["content", "source", "annotations"],
            "web_observation" => &["html", "axtree", "url", "viewport_size", "image_observation"],
            "api_action" => &["function", "kwargs", "description", "reasoning_content"],
            "code_action" => &["language", "content", "description", "reasoning_content"],
            "message_action" => &["content", "description", "reasoning_content"],
            other => {
                return cx.fail(IngestError::new(
                    Code::UnknownEvent,
                    join(path, "class_"),
                    format!(
                        "unknown ADP event `{other}` (expected text_observation, api_action, code_action, \
                         message_action, web_observation, image_observation or json_observation)"
                    ),
                ))
            }
        };
        for key in event.keys().filter(|k| !COMMON_KEYS.contains(&k.as_str()) && !own.contains(&k.as_str())) {
            cx.warn(Code::UnknownField, join(path, key), format!("not a field of an ADP {class} (ignored)"));
        }
        match event.get("reward") {
            None | Some(Value::Null) => {}
            Some(reward @ Value::Number(_)) => self.rewards.push(json!({"event": index, "reward": reward})),
            Some(other) => cx.fail(wrong_type(&join(path, "reward"), "a number", other)),
        }
        match class {
            "text_observation" | "json_observation" => self.text_observation(class, event, path, cx),
            "image_observation" => {
                self.image(&event_str(event, "content", path, cx).unwrap_or_default(), path, cx);
                // Whatever it answered stays unanswered: the next action finds its calls waiting.
                if !self.pending.is_empty() {
                    self.dropped_result = Some(path.to_string());
                }
                self.last = Last::Other;
            }
            "web_observation" => self.web_observation(event, path, cx),
            "api_action" => self.api_action(event, path, cx),
            "code_action" => self.code_action(event, path, cx),
            _ => self.message_action(index, event, path, cx),
        }
    }

    fn text_observation(&mut self, class: &str, event: &Map<String, Value>, path: &str, cx: &mut Context) {
        let content = if class == "json_observation" {
            match event.get("content") {
                Some(v @ Value::Object(_)) => Some(v.to_string()),
                Some(other) => {
                    cx.fail(wrong_type(&join(path, "content"), "a JSON object", other));
                    Some(other.to_string())
                }
                None => {
                    cx.fail(IngestError::new(Code::MissingField, join(path, "content"), "missing"));
                    None
                }
            }
        } else {
            event_str(event, "content", path, cx)
        };
        let Some(content) = content else { return };
        let source_path = join(path, "source");
        let source = match event.get("source") {
            Some(Value::String(s)) => s.as_str(),
            Some(other) => return cx.fail(wrong_type(&source_path, "a string", other)),
            None => return cx.fail(IngestError::new(Code::MissingField, source_path, "missing")),
        };
        match source {
            // `user_msg`, `assistant` and `system`: sources of older schema versions.
            "user" | "user_msg" | "environment" => self.observation(content, event, path, cx),
            "agent" | "assistant" => {
                self.unanswered(path, cx);
                self.messages.push(Message::new(Role::Assistant, content).at(path));
                self.last = Last::Said;
            }
            "system" => {
                self.unanswered(path, cx);
                self.messages.push(Message::new(Role::System, content).at(path));
                self.last = Last::Other;
            }
            other => cx.fail(IngestError::new(
                Code::UnknownRole,
                source_path,
                format!("unknown source `{other}` (expected user, environment or agent)"),
            )),
        }
    }

    /// Text the agent is shown: the result of the oldest pending call (or of the call its
    /// `tool_call_id` names), else a user message.
    fn observation(&mut self, content: String, event: &Map<String, Value>, path: &str, cx: &mut Context) {
        let linked = match event.get("tool_call_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) => match self.pending.iter().position(|p| &p.id == id) {
                Some(at) => Some(at),
                None => {
                    return cx.fail(IngestError::new(
                        Code::RoleOrder,
                        join(path, "tool_call_id"),
                        format!("`{id}` names no action still waiting for its result"),
                    ))
                }
            },
            Some(other) => return cx.fail(wrong_type(&join(path, "tool_call_id"), "a string", other)),
        };
        let answered = match linked {
            Some(at) => self.pending.remove(at),
            None => self.pending.pop_front(),
        };
        self.dropped_result = None;
        match answered {
            Some(call) => {
                let mut tool = Message::new(Role::Tool, content).at(path);
                tool.name = Some(call.name);
                tool.tool_call_id = Some(call.id);
                self.messages.push(tool);
                self.last = Last::Result;
            }
            None => {
                self.messages.push(Message::new(Role::User, content).at(path));
                self.last = Last::Other;
            }
        }
    }

    fn image(&mut self, what: &str, path: &str, cx: &mut Context) {
        let shown: String = match what.char_indices().nth(80) {
            Some((cut, _)) => format!("{}…", &what[..cut]),
            None => what.into(),
        };
        match self.options.images {
            AdpImages::Refuse => cx.fail(IngestError::new(
                Code::AdpImage,
                path,
                format!(
                    "an image ({shown}): the chat templates are text-only; --adp-images drop leaves images out \
                     with a warning"
                ),
            )),
            AdpImages::Drop => {
                cx.warn(Code::AdpImageDropped, path, format!("image left out ({shown})"));
            }
        }
    }

    fn web_observation(&mut self, event: &Map<String, Value>, path: &str, cx: &mut Context) {
        match event.get("image_observation") {
            None | Some(Value::Null) => {}
            Some(Value::Object(image)) => {
                let shown = image.get("content").and_then(Value::as_str).unwrap_or("screenshot").to_string();
                self.image(&shown, &join(path, "image_observation"), cx);
            }
            Some(other) => cx.fail(wrong_type(&join(path, "image_observation"), "an image observation", other)),
        }
        let axtree = event_opt_str(event, "axtree", path, cx).filter(|s| !s.is_empty());
        let html = event_opt_str(event, "html", path, cx).filter(|s| !s.is_empty());
        let url = event_opt_str(event, "url", path, cx).filter(|s| !s.is_empty());
        let page = match (axtree, html) {
            (Some(axtree), _) => axtree,
            (None, Some(html)) if self.options.web_html => html,
            (None, Some(_)) => {
                return cx.fail(IngestError::new(
                    Code::AdpNoAxtree,
                    join(path, "axtree"),
                    "a web page given only as HTML; --adp-web-html uses the HTML as the observation",
                ))
            }
            (None, None) => {
                return cx.fail(IngestError::new(
                    Code::AdpNoAxtree,
                    join(path, "axtree"),
                    "a web observation with neither an accessibility tree nor HTML",
                ))
            }
        };
        let text = match url {
            Some(url) => format!("URL: {url}\n\n{page}"),
            None => page,
        };
        self.observation(text, event, path, cx);
    }

    fn api_action(&mut self, event: &Map<String, Value>, path: &str, cx: &mut Context) {
        let name_path = join(path, "function");
        let name = match event.get("function") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::String(_)) => {
                return cx.fail(IngestError::new(Code::WrongType, name_path, "empty function name"))
            }
            Some(other) => return cx.fail(wrong_type(&name_path, "a string", other)),
            None => return cx.fail(IngestError::new(Code::MissingField, name_path, "missing")),
        };
        let arguments = match event.get("kwargs") {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(v @ Value::Object(_)) => v.clone(),
            Some(other) => return cx.fail(wrong_type(&join(path, "kwargs"), "an object of arguments", other)),
        };
        self.call(name, Arguments::Json(arguments), event, path, cx);
    }

    fn code_action(&mut self, event: &Map<String, Value>, path: &str, cx: &mut Context) {
        let language = match event.get("language") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(other) => return cx.fail(wrong_type(&join(path, "language"), "a language name", other)),
            None => return cx.fail(IngestError::new(Code::MissingField, join(path, "language"), "missing")),
        };
        let Some(code) = event_str(event, "content", path, cx) else { return };
        let (name, argument) = self.options.code_tool(&language);
        let mut arguments = Map::new();
        arguments.insert(argument, Value::String(code));
        self.call(name, Arguments::Json(Value::Object(arguments)), event, path, cx);
    }

    /// One call: a parallel call of the message the previous action opened, the call of the agent
    /// message just before it, or a new assistant message.
    fn call(&mut self, name: String, arguments: Arguments, event: &Map<String, Value>, path: &str, cx: &mut Context) {
        let id = match event.get("tool_call_id") {
            Some(Value::String(id)) => id.clone(),
            None | Some(Value::Null) => self.generate_id(),
            Some(other) => {
                cx.fail(wrong_type(&join(path, "tool_call_id"), "a string", other));
                self.generate_id()
            }
        };
        let (reasoning, content) = self.thought(event, path, cx);
        if self.last != Last::Action {
            self.unanswered(path, cx);
        }
        let joins = matches!(self.last, Last::Action | Last::Said);
        if !joins {
            self.messages.push(Message::new(Role::Assistant, "").at(path));
        }
        let message = self.messages.last_mut().expect("an assistant message was just pushed or is joined");
        append(&mut message.reasoning, reasoning);
        if let Some(content) = content {
            let mut text = Some(std::mem::take(&mut message.content)).filter(|c| !c.is_empty());
            append(&mut text, Some(content));
            message.content = text.unwrap_or_default();
        }
        message.tool_calls.push(ToolCall { id: Some(id.clone()), name: name.clone(), arguments, origin: path.into() });
        self.pending.push_back(Pending { id, name, origin: path.into() });
        self.last = Last::Action;
    }

    fn message_action(&mut self, index: usize, event: &Map<String, Value>, path: &str, cx: &mut Context) {
        let Some(text) = event_str(event, "content", path, cx) else { return };
        self.unanswered(path, cx);
        let text = match finish_answer(&text) {
            Some(answer) => {
                self.finish_at = Some(index);
                answer
            }
            None => text,
        };
        let (reasoning, thought_text) = self.thought(event, path, cx);
        let mut content = thought_text;
        append(&mut content, Some(text).filter(|t| !t.is_empty()));
        let mut message = Message::new(Role::Assistant, content.unwrap_or_default()).at(path);
        message.reasoning = reasoning;
        self.messages.push(message);
        self.last = Last::Said;
    }

    /// An action's `reasoning_content` and `description`, as (reasoning, text for the content) under
    /// `--adp-thought`. `reasoning_content` is always reasoning: the schema says it is.
    fn thought(
        &mut self,
        event: &Map<String, Value>,
        path: &str,
        cx: &mut Context,
    ) -> (Option<String>, Option<String>) {
        let reasoning = event_opt_str(event, "reasoning_content", path, cx).filter(|s| !s.trim().is_empty());
        let description = event_opt_str(event, "description", path, cx).filter(|s| !s.trim().is_empty());
        match (self.options.thought, description) {
            (_, None) => (reasoning, None),
            (AdpThought::Reasoning, Some(d)) => {
                let mut r = reasoning;
                append(&mut r, Some(d));
                (r, None)
            }
            (AdpThought::Content, Some(d)) => (reasoning, Some(d)),
            (AdpThought::Drop, Some(_)) => {
                self.dropped_thoughts += 1;
                (reasoning, None)
            }
        }
    }

    /// Calls still waiting when something other than their results comes: a structural problem
    /// (raw input's `result_count_mismatch`), located at the call.
    fn unanswered(&mut self, at: &str, cx: &mut Context) {
        let why = match self.dropped_result.take() {
            Some(image) => format!(" (the image at {image}, left out by --adp-images drop, was its only result)"),
            None => String::new(),
        };
        for call in self.pending.drain(..) {
            cx.fail(IngestError::new(
                Code::ResultCountMismatch,
                call.origin,
                format!("no observation answers this `{}` action before {at}{why}", call.name),
            ));
        }
    }

    fn generate_id(&mut self) -> String {
        loop {
            self.generated += 1;
            let id = format!("call_{:06}", self.generated);
            if !self.taken_ids.contains(&id) {
                return id;
            }
        }
    }
}

/// The `--tools` schemas this record offers, when it lists its own (`available_custom_tools`, or
/// `available_apis` in schema 1.2): those named there and those it calls (code tools are not
/// listed), in the file's order. `None` when the record lists nothing: every tool is offered.
fn available_tools(record: &Map<String, Value>, tools: &[Value], conversation: &Conversation) -> Option<Vec<Value>> {
    let listed = ["available_custom_tools", "available_apis"].iter().find_map(|k| record.get(*k)?.as_array())?;
    let mut names: HashSet<&str> = listed.iter().filter_map(Value::as_str).collect();
    names.extend(conversation.messages.iter().flat_map(|m| &m.tool_calls).map(|c| c.name.as_str()));
    let name = |t: &Value| t.get("function").and_then(|f| f.get("name")).and_then(Value::as_str).map(str::to_string);
    Some(tools.iter().filter(|t| name(t).is_some_and(|n| names.contains(n.as_str()))).cloned().collect())
}

/// ADP's final-answer convention: `<finish> answer </finish>` (the convention of its OpenHands
/// conversion, which turns it into a `finish` call). The answer is the text between the tags,
/// trimmed, with any text around them kept.
fn finish_answer(text: &str) -> Option<String> {
    let open = text.find("<finish>")?;
    let close = open + text[open..].find("</finish>")?;
    let inner = text[open + "<finish>".len()..close].trim();
    let before = text[..open].trim();
    let after = text[close + "</finish>".len()..].trim();
    Some([before, inner, after].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join("\n\n"))
}

fn append(to: &mut Option<String>, more: Option<String>) {
    match (to.as_mut(), more) {
        (_, None) => {}
        (None, Some(more)) => *to = Some(more),
        (Some(text), Some(more)) => {
            text.push_str("\n\n");
            text.push_str(&more);
        }
    }
}

/// A required string field of an event; `None` with the problem recorded otherwise.
fn event_str(event: &Map<String, Value>, key: &str, path: &str, cx: &mut Context) -> Option<String> {
    match event.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            cx.fail(wrong_type(&join(path, key), "a string", other));
            None
        }
        None => {
            cx.fail(IngestError::new(Code::MissingField, join(path, key), "missing"));
            None
        }
    }
}

fn event_opt_str(event: &Map<String, Value>, key: &str, path: &str, cx: &mut Context) -> Option<String> {
    cx.ok(super::opt_str(event, key, path)).flatten()
}

/// One schema per function called in the record, in order of first call: each argument seen, typed
/// by the JSON types of its values (a list when they differ), required when every call passes it.
/// What the calls cannot show (descriptions, enums, nested shapes) is not invented.
pub fn derive_tools(conversation: &Conversation) -> Vec<Value> {
    let mut order: Vec<&str> = Vec::new();
    let mut calls: std::collections::HashMap<&str, Vec<&Map<String, Value>>> = Default::default();
    let empty = Map::new();
    for call in conversation.messages.iter().flat_map(|m| &m.tool_calls) {
        let arguments = match &call.arguments {
            Arguments::Json(Value::Object(a)) => a,
            _ => &empty,
        };
        if !calls.contains_key(call.name.as_str()) {
            order.push(&call.name);
        }
        calls.entry(&call.name).or_default().push(arguments);
    }
    order
        .into_iter()
        .map(|name| {
            let seen = &calls[name];
            let mut properties = Map::new();
            for arguments in seen {
                for (key, value) in arguments.iter() {
                    let entry = properties.entry(key.clone()).or_insert_with(|| json!({"type": []}));
                    let types = entry["type"].as_array_mut().expect("built as an array above");
                    let t = Value::String(json_type(value).into());
                    if !types.contains(&t) {
                        types.push(t);
                    }
                }
            }
            for schema in properties.values_mut() {
                if let Some([one]) = schema["type"].as_array().map(Vec::as_slice) {
                    schema["type"] = one.clone();
                }
            }
            let required: Vec<Value> = properties
                .keys()
                .filter(|k| seen.iter().all(|a| a.contains_key(k.as_str())))
                .map(|k| Value::String(k.clone()))
                .collect();
            json!({"type": "function", "function": {"name": name, "parameters": {
                "type": "object", "properties": properties, "required": required}}})
        })
        .collect()
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{ingest, ingest_value_recovering, Ingested, InputFormat};
    use serde_json::json;

    fn user(text: &str) -> Value {
        json!({"class_": "text_observation", "source": "user", "content": text, "name": null})
    }
    fn env(text: &str) -> Value {
        json!({"class_": "text_observation", "source": "environment", "content": text})
    }
    fn api(function: &str, kwargs: Value, thought: &str) -> Value {
        json!({"class_": "api_action", "function": function, "kwargs": kwargs, "description": thought})
    }
    fn code(language: &str, code: &str) -> Value {
        json!({"class_": "code_action", "language": language, "content": code, "description": null})
    }
    fn say(text: &str) -> Value {
        json!({"class_": "message_action", "content": text, "description": null})
    }
    fn record(events: Vec<Value>) -> Value {
        json!({"id": "t", "content": events, "details": {"source": "unit"}})
    }

    fn convert_with(v: Value, options: &IngestOptions) -> Result<Ingested, IngestError> {
        ingest(&v.to_string(), "x", options)
    }
    fn convert(v: Value) -> Result<Ingested, IngestError> {
        convert_with(v, &IngestOptions::default())
    }
    fn roles(c: &Conversation) -> Vec<Role> {
        c.messages.iter().map(|m| m.role).collect()
    }
    fn codes(got: &Ingested) -> Vec<&str> {
        got.warnings.iter().map(|w| w.code.as_str()).collect()
    }
    fn adp(adp: AdpOptions) -> IngestOptions {
        IngestOptions { adp, ..Default::default() }
    }

    #[test]
    fn api_agent_pairs_actions_with_the_observations_after_them() {
        let got = convert(record(vec![
            user("Put the mug on the shelf."),
            api("go", json!({"location": "shelf 1"}), "Find the shelf first."),
            // Older datasets label tool output `user`: adjacency decides, as in ADP's own linker.
            user("You arrive at shelf 1."),
            api("put", json!({"item": "mug 1", "target": "shelf 1"}), ""),
            env("You put the mug on the shelf."),
            json!({"class_": "message_action", "content": "<finish> Done: the mug is on shelf 1. </finish>",
                   "description": "The task is complete."}),
        ]))
        .unwrap();
        let c = &got.conversation;
        use Role::*;
        assert_eq!(roles(c), [User, Assistant, Tool, Assistant, Tool, Assistant]);
        assert_eq!(c.messages[1].reasoning.as_deref(), Some("Find the shelf first."));
        assert_eq!(c.messages[1].tool_calls[0].arguments, Arguments::Json(json!({"location": "shelf 1"})));
        assert_eq!(c.messages[1].tool_calls[0].id.as_deref(), Some("call_000001"));
        assert_eq!(c.messages[2].tool_call_id.as_deref(), Some("call_000001"));
        assert_eq!(c.messages[2].name.as_deref(), Some("go"));
        assert_eq!(c.messages[3].reasoning, None, "an empty description is no reasoning");
        assert_eq!(c.messages[4].tool_call_id.as_deref(), Some("call_000002"));
        assert_eq!(c.messages[5].content, "Done: the mug is on shelf 1.");
        assert_eq!(c.messages[5].reasoning.as_deref(), Some("The task is complete."));
        assert_eq!(c.messages[2].origin, "content[2]");
        assert_eq!(c.meta["details"], json!({"source": "unit"}));
        assert_eq!(codes(&got), ["derived_tools"]);
    }

    #[test]
    fn derived_tools_have_argument_types_and_what_every_call_passes() {
        let got = convert(record(vec![
            user("q"),
            api("search", json!({"q": "a", "limit": 3}), ""),
            env("r1"),
            api("search", json!({"q": "b", "limit": 2.5, "lang": null}), ""),
            env("r2"),
            code("bash", "ls"),
            env("r3"),
            say("done"),
        ]))
        .unwrap();
        let tools = &got.conversation.tools;
        assert_eq!(
            tools[0],
            json!({"type": "function", "function": {"name": "search", "parameters": {"type": "object",
                "properties": {"q": {"type": "string"}, "limit": {"type": ["integer", "number"]},
                               "lang": {"type": "null"}},
                "required": ["q", "limit"]}}})
        );
        assert_eq!(tools[1]["function"]["name"], "execute_bash");
        assert_eq!(tools[1]["function"]["parameters"]["required"], json!(["command"]));
        // With --tools, nothing is derived and nothing said.
        let given = IngestOptions {
            default_tools: Some(std::sync::Arc::new(vec![json!({"type": "function", "function": {"name": "x"}})])),
            ..Default::default()
        };
        let got = convert_with(record(vec![user("q"), api("x", json!({}), ""), env("r"), say("ok")]), &given).unwrap();
        assert_eq!(got.conversation.tools[0]["function"]["name"], "x");
        assert!(got.warnings.is_empty(), "{:?}", got.warnings);
    }

    #[test]
    fn a_record_listing_its_tools_is_offered_those_of_the_tools_file() {
        let tool = |name: &str| json!({"type": "function", "function": {"name": name, "parameters": {}}});
        let given = IngestOptions {
            default_tools: Some(std::sync::Arc::new(vec![tool("a"), tool("b"), tool("c"), tool("execute_bash")])),
            ..Default::default()
        };
        let events = vec![user("q"), api("b", json!({}), ""), env("r"), code("bash", "ls"), env("x"), say("ok")];
        let mut listed = record(events.clone());
        listed["available_custom_tools"] = json!(["c", "b"]);
        let got = convert_with(listed, &given).unwrap();
        assert_eq!(got.conversation.tool_names(), ["b", "c", "execute_bash"]);
        assert!(got.warnings.is_empty(), "{:?}", got.warnings);
        let got = convert_with(record(events), &given).unwrap();
        assert_eq!(got.conversation.tool_names(), ["a", "b", "c", "execute_bash"], "nothing listed: all of them");
    }

    #[test]
    fn code_actions_call_a_tool_named_after_the_language() {
        let events = vec![
            user("q"),
            code("bash", "ls -la"),
            env("a.txt"),
            code("python", "print(1)"),
            env("1"),
            code("go", "package main"),
            env("ok"),
            say("done"),
        ];
        let got = convert(record(events.clone())).unwrap().conversation;
        let calls: Vec<(String, Value)> = got
            .messages
            .iter()
            .flat_map(|m| &m.tool_calls)
            .map(|c| (c.name.clone(), c.arguments.parsed().unwrap()))
            .collect();
        assert_eq!(
            calls,
            [
                ("execute_bash".into(), json!({"command": "ls -la"})),
                ("execute_ipython_cell".into(), json!({"code": "print(1)"})),
                ("execute_go".into(), json!({"code": "package main"})),
            ]
        );
        let mapped =
            adp(AdpOptions { code_tools: vec![CodeTool::parse("bash=shell:cmd").unwrap()], ..Default::default() });
        let got = convert_with(record(events), &mapped).unwrap().conversation;
        assert_eq!(got.messages[1].tool_calls[0].name, "shell");
        assert_eq!(got.messages[1].tool_calls[0].arguments, Arguments::Json(json!({"cmd": "ls -la"})));
        assert_eq!(CodeTool::parse("python=run").unwrap().argument, "code");
        assert_eq!(CodeTool::parse("python"), None);
    }

    #[test]
    fn thought_policy_reasoning_content_or_drop() {
        let events = vec![
            user("q"),
            json!({"class_": "message_action", "content": "Let me look.", "description": "plan"}),
            api("f", json!({}), "why f"),
            env("r"),
            json!({"class_": "message_action", "content": "answer", "description": "because r"}),
        ];
        let c = convert(record(events.clone())).unwrap().conversation;
        // The message just before an action is the content next to its call (TRAPS 8).
        assert_eq!(roles(&c), [Role::User, Role::Assistant, Role::Tool, Role::Assistant]);
        assert_eq!(c.messages[1].content, "Let me look.");
        assert_eq!(c.messages[1].reasoning.as_deref(), Some("plan\n\nwhy f"));
        assert_eq!(c.messages[3].reasoning.as_deref(), Some("because r"));
        let content = convert_with(
            record(events.clone()),
            &adp(AdpOptions { thought: AdpThought::Content, ..Default::default() }),
        )
        .unwrap()
        .conversation;
        assert_eq!(content.messages[1].content, "plan\n\nLet me look.\n\nwhy f");
        assert_eq!(content.messages[1].reasoning, None);
        assert_eq!(content.messages[3].content, "because r\n\nanswer");
        let dropped =
            convert_with(record(events), &adp(AdpOptions { thought: AdpThought::Drop, ..Default::default() })).unwrap();
        assert!(dropped.conversation.messages.iter().all(|m| m.reasoning.is_none()));
        assert_eq!(dropped.conversation.messages[1].content, "Let me look.");
        let w = dropped.warnings.iter().find(|w| w.code.as_str() == "adp_thought_dropped").unwrap();
        assert!(w.message.starts_with("3 action thought(s)"), "{}", w.message);
    }

    #[test]
    fn newer_schema_fields_reasoning_content_reward_and_tool_call_ids() {
        let got = convert(json!({"schema_version": "1.2.0", "id": "n", "available_apis": ["f", "g"], "content": [
            user("q"),
            {"class_": "api_action", "function": "f", "kwargs": {}, "description": "d",
             "reasoning_content": "long thinking", "tool_call_id": "A", "reward": null},
            {"class_": "api_action", "function": "g", "kwargs": {}, "description": null, "tool_call_id": "B"},
            // Results may come in any order when they name their call.
            {"class_": "text_observation", "source": "environment", "content": "for g", "tool_call_id": "B"},
            {"class_": "text_observation", "source": "environment", "content": "for f", "tool_call_id": "A",
             "reward": 0.5},
            {"class_": "message_action", "content": "ok", "description": null, "reward": 1.0}]}))
        .unwrap()
        .conversation;
        assert_eq!(got.messages[1].tool_calls.len(), 2, "consecutive actions are parallel calls");
        assert_eq!(got.messages[1].reasoning.as_deref(), Some("long thinking\n\nd"));
        assert_eq!((got.messages[2].name.as_deref(), got.messages[2].tool_call_id.as_deref()), (Some("g"), Some("B")));
        assert_eq!((got.messages[3].name.as_deref(), got.messages[3].content.as_str()), (Some("f"), "for f"));
        assert_eq!(got.meta["adp_rewards"], json!([{"event": 4, "reward": 0.5}, {"event": 5, "reward": 1.0}]));
        assert_eq!(got.meta["schema_version"], "1.2.0");
        assert_eq!(got.meta["available_apis"], json!(["f", "g"]));
    }

    #[test]
    fn generated_ids_skip_the_ids_the_record_uses() {
        let got = convert(record(vec![
            user("q"),
            json!({"class_": "api_action", "function": "f", "kwargs": {}, "tool_call_id": "call_000001"}),
            env("r"),
            api("f", json!({}), ""),
            env("r"),
            say("ok"),
        ]))
        .unwrap()
        .conversation;
        assert_eq!(got.messages[3].tool_calls[0].id.as_deref(), Some("call_000002"));
    }

    #[test]
    fn web_observations_give_the_accessibility_tree() {
        let page = |axtree: Option<&str>, html: Option<&str>, shot: bool| {
            json!({"class_": "web_observation", "axtree": axtree, "html": html, "url": "http://shop.test/",
                   "viewport_size": [1280, 720],
                   "image_observation": if shot { json!({"class_": "image_observation", "content": "shots/1.png",
                                                          "source": "environment", "annotations": null}) }
                                        else { Value::Null }})
        };
        let events = vec![
            user("Buy socks."),
            page(Some("[1] link 'Socks'"), Some("<a>Socks</a>"), false),
            api("click", json!({"bid": "1"}), "Open the socks page."),
            page(Some("[2] button 'Buy'"), None, false),
            say("<finish> Bought. </finish>"),
        ];
        let c = convert(record(events.clone())).unwrap().conversation;
        // The page before any action is what the user shows; the one after answers the click.
        assert_eq!(roles(&c), [Role::User, Role::User, Role::Assistant, Role::Tool, Role::Assistant]);
        assert_eq!(c.messages[1].content, "URL: http://shop.test/\n\n[1] link 'Socks'");
        assert_eq!(c.messages[3].content, "URL: http://shop.test/\n\n[2] button 'Buy'");

        let mut html_only = events.clone();
        html_only[3] = page(None, Some("<button>Buy</button>"), false);
        let err = convert(record(html_only.clone())).unwrap_err();
        assert_eq!((err.0.code.as_str(), err.0.path.as_str()), ("adp_no_axtree", "content[3].axtree"));
        let c = convert_with(record(html_only), &adp(AdpOptions { web_html: true, ..Default::default() }))
            .unwrap()
            .conversation;
        assert_eq!(c.messages[3].content, "URL: http://shop.test/\n\n<button>Buy</button>");

        let mut shot = events;
        shot[3] = page(Some("[2] button 'Buy'"), None, true);
        let err = convert(record(shot.clone())).unwrap_err();
        assert_eq!((err.0.code.as_str(), err.0.path.as_str()), ("adp_image", "content[3].image_observation"));
        assert!(err.0.message.contains("shots/1.png"), "{}", err.0.message);
        let got =
            convert_with(record(shot), &adp(AdpOptions { images: AdpImages::Drop, ..Default::default() })).unwrap();
        assert_eq!(got.conversation.messages[3].content, "URL: http://shop.test/\n\n[2] button 'Buy'");
        assert!(got
            .warnings
            .iter()
            .any(|w| w.code.as_str() == "adp_image_dropped" && w.path == "content[3].image_observation"));
    }

    #[test]
    fn images_are_refused_where_they_are_or_dropped_when_asked() {
        let image =
            json!({"class_": "image_observation", "content": "img/cat.jpg", "source": "user", "annotations": null});
        let events = vec![image.clone(), user("What is this?"), say("A cat.")];
        let err = convert(record(events.clone())).unwrap_err();
        assert_eq!((err.0.code.as_str(), err.0.path.as_str()), ("adp_image", "content[0]"));
        let drop = adp(AdpOptions { images: AdpImages::Drop, ..Default::default() });
        let got = convert_with(record(events), &drop).unwrap();
        assert_eq!(roles(&got.conversation), [Role::User, Role::Assistant]);
        assert_eq!(codes(&got), ["adp_image_dropped"]);
        // An image that was an action's only result leaves the action unanswered.
        let events = vec![
            user("tap it"),
            api("tap", json!({"x": 1}), ""),
            image,
            api("tap", json!({"x": 2}), ""),
            env("ok"),
            say("done"),
        ];
        let err = convert_with(record(events), &drop).unwrap_err();
        assert_eq!((err.0.code.as_str(), err.0.path.as_str()), ("result_count_mismatch", "content[1]"));
        assert!(err.0.message.contains("the image at content[2]"), "{}", err.0.message);
    }

    #[test]
    fn agent_text_system_text_and_json_observations() {
        let c = convert(record(vec![
            json!({"class_": "text_observation", "source": "system", "content": "Be brief."}),
            user("Instructions…"),
            json!({"class_": "text_observation", "source": "agent", "content": "Understood."}),
            user("q"),
            api("lookup", json!({"k": 1}), ""),
            json!({"class_": "json_observation", "source": "environment", "content": {"v": [1, 2]}}),
            say("1 and 2"),
        ]))
        .unwrap()
        .conversation;
        use Role::*;
        assert_eq!(roles(&c), [System, User, Assistant, User, Assistant, Tool, Assistant]);
        assert_eq!(c.messages[5].content, r#"{"v":[1,2]}"#);
    }

    #[test]
    fn an_action_nobody_answered_mid_record_is_located_and_one_at_the_end_is_unfinished() {
        let err = convert(record(vec![user("q"), api("f", json!({}), ""), say("guess")])).unwrap_err();
        assert_eq!((err.0.code.as_str(), err.0.path.as_str()), ("result_count_mismatch", "content[1]"));
        assert!(err.0.message.contains("before content[2]"), "{}", err.0.message);
        let got = convert(record(vec![user("q"), api("f", json!({}), "")])).unwrap();
        assert_eq!(codes(&got), ["derived_tools", "unfinished"]);
    }

    #[test]
    fn finish_keeps_surrounding_text_and_warns_about_events_after_it() {
        assert_eq!(
            finish_answer("<finish> <solution> 3 </solution> </finish>").as_deref(),
            Some("<solution> 3 </solution>")
        );
        assert_eq!(finish_answer("Done.\n<finish>42</finish>").as_deref(), Some("Done.\n\n42"));
        assert_eq!(finish_answer("<finish> </finish>").as_deref(), Some(""));
        assert_eq!(finish_answer("no tags"), None);
        assert_eq!(finish_answer("<finish> unclosed"), None);
        let got =
            convert(record(vec![user("q"), say("<finish> a </finish>"), user("thanks"), say("welcome")])).unwrap();
        let w = got.warnings.iter().find(|w| w.code.as_str() == "adp_after_finish").unwrap();
        assert_eq!(w.path, "content[2]");
    }

    #[test]
    fn every_problem_is_located_and_recovery_reads_on() {
        let got = ingest_value_recovering(
            record(vec![
                user("q"),
                json!({"class_": "video_observation", "content": "v.mp4"}),
                json!({"source": "user", "content": "no class"}),
                json!({"class_": "text_observation", "source": "critic", "content": "x"}),
                json!({"class_": "api_action", "function": "f", "kwargs": "a=1"}),
                json!({"class_": "code_action", "content": "ls"}),
                json!({"class_": "message_action", "content": "ok", "extra": 1}),
                json!("not an event"),
            ]),
            "x",
            &IngestOptions::default(),
        )
        .unwrap();
        let errors: Vec<(&str, &str)> = got.errors.iter().map(|e| (e.code.as_str(), e.path.as_str())).collect();
        assert_eq!(
            errors,
            [
                ("unknown_event", "content[1].class_"),
                ("missing_field", "content[2].class_"),
                ("unknown_role", "content[3].source"),
                ("wrong_type", "content[4].kwargs"),
                ("missing_field", "content[5].language"),
                ("wrong_type", "content[7]"),
            ]
        );
        assert!(got
            .ingested
            .warnings
            .iter()
            .any(|w| w.code.as_str() == "unknown_field" && w.path == "content[6].extra"));
        assert_eq!(roles(&got.ingested.conversation), [Role::User, Role::Assistant]);
    }

    #[test]
    fn detection_and_empty_records() {
        assert_eq!(InputFormat::parse("adp"), Some(InputFormat::Adp));
        let mut r = Map::new();
        r.insert("content".into(), json!([{"class_": "text_observation"}]));
        assert!(looks_like(&r));
        r.insert("content".into(), json!("text"));
        assert!(!looks_like(&r));
        let err = convert(json!({"content": "text"})).unwrap_err();
        assert_eq!(err.0.code.as_str(), "unknown_format");
        let forced = IngestOptions { format: Some(InputFormat::Adp), ..Default::default() };
        let err = convert_with(json!({"id": "e", "content": []}), &forced).unwrap_err();
        assert_eq!((err.0.code.as_str(), err.0.path.as_str()), ("empty_turns", "content"));
        let err = convert(record(vec![user("hello?")])).unwrap_err();
        assert_eq!(err.0.code.as_str(), "empty_turns");
    }
}
