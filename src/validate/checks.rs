//! Structural checks of one conversation: calls against the offered tools and their schemas, the
//! order of calls and results, repeated calls, and control-token text.
//!
//! These are the mistakes that make a trajectory teach the wrong action (a call to a tool that does
//! not exist, arguments the tool would refuse) or that make the rendered row not mean what the data
//! says (a result paired with the wrong call, text that turns into a control token).

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde_json::Value;

use super::locate::{preview, Paths};
use super::schema::ToolSet;
use crate::conversation::{Arguments, Conversation, Role, ToolCall};
use crate::diagnostic::{Code, Diagnostic};

/// Where a call came from; ingest always records it, the fallback is for hand-built conversations.
pub(super) fn call_origin(call: &ToolCall, message: usize, index: usize) -> String {
    if call.origin.is_empty() {
        format!("messages[{message}].tool_calls[{index}]")
    } else {
        call.origin.clone()
    }
}

/// Append a path below the arguments (`date`, `[0]`, `a.b`) to the arguments' own path.
pub(super) fn below(path: &str, sub: &str) -> String {
    match sub {
        "" => path.to_string(),
        s if s.starts_with('[') => format!("{path}{s}"),
        s => format!("{path}.{s}"),
    }
}

/// The arguments of a call as JSON, or the parse error of a string that is not JSON.
pub(super) fn parsed_arguments(call: &ToolCall) -> Result<Value, String> {
    match &call.arguments {
        Arguments::Json(v) => Ok(v.clone()),
        Arguments::Text(s) => serde_json::from_str(s).map_err(|e| e.to_string()),
    }
}

/// `unknown_tool`, `call_without_tools`, `arguments_not_json`, `arguments_schema`.
pub(super) fn calls(conversation: &Conversation, tools: &ToolSet, paths: &Paths, out: &mut Vec<Diagnostic>) {
    let offered: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    for (i, message) in conversation.messages.iter().enumerate() {
        for (j, call) in message.tool_calls.iter().enumerate() {
            let origin = call_origin(call, i, j);
            let tool = tools.get(&call.name);
            if call.name.is_empty() {
                // A call whose name could not be read: ingest reported it at the name.
            } else if tools.is_empty() {
                out.push(
                    Diagnostic::error(
                        Code::CallWithoutTools,
                        &origin,
                        format!(
                            "call to `{}` but the record offers no tools (give them in `tools` or with --tools)",
                            call.name
                        ),
                    )
                    .at_step(i),
                );
            } else if tool.is_none() {
                out.push(
                    Diagnostic::error(
                        Code::UnknownTool,
                        &origin,
                        format!(
                            "call to `{}`, which is not among the record's tools ({})",
                            call.name,
                            offered.join(", ")
                        ),
                    )
                    .at_step(i),
                );
            }
            let args_path = paths.arguments(&origin);
            let arguments = match parsed_arguments(call) {
                Ok(v) => v,
                Err(_) if tool.is_some_and(|t| t.raw_code) => continue,
                Err(e) => {
                    out.push(
                        Diagnostic::error(
                            Code::ArgumentsNotJson,
                            &args_path,
                            format!("string arguments are not JSON: {e}"),
                        )
                        .at_step(i),
                    );
                    continue;
                }
            };
            let Some(tool) = tool else { continue };
            if !arguments.is_object() {
                if !tool.raw_code {
                    out.push(
                        Diagnostic::error(
                            Code::ArgumentsSchema,
                            &args_path,
                            format!("arguments must be a JSON object of named values, found {}", preview(&arguments)),
                        )
                        .at_step(i),
                    );
                }
                continue;
            }
            for (sub, problem) in tool.violations(&arguments) {
                out.push(
                    Diagnostic::error(
                        Code::ArgumentsSchema,
                        below(&args_path, &sub),
                        format!("`{}`: {problem}", call.name),
                    )
                    .at_step(i),
                );
            }
        }
    }
}

/// `role_order` (a result no call waits for, a call id that matches no call), `result_count_mismatch`
/// (calls whose results are missing when the conversation moves on), `empty_turn` (an assistant
/// message with nothing in it). `unfinished` is ingest's warning, made once for every input format.
pub(super) fn order(conversation: &Conversation, out: &mut Vec<Diagnostic>) {
    let messages = &conversation.messages;
    // Calls still waiting for a result: (id, name), and the message that made them.
    let mut pending: VecDeque<(Option<String>, String)> = VecDeque::new();
    let mut caller: Option<usize> = None;
    let mut results = 0usize;
    // A tool message holding a list of {tool_call_id, content} objects: several results in one.
    let mut bundled = false;
    let flush = |pending: &mut VecDeque<(Option<String>, String)>,
                 caller: Option<usize>,
                 results: usize,
                 bundled: bool,
                 next: &str,
                 out: &mut Vec<Diagnostic>| {
        if let (false, Some(c)) = (pending.is_empty(), caller) {
            out.push(Diagnostic::error(
                Code::ResultCountMismatch,
                &messages[c].origin,
                format!(
                    "{} call(s) but {results} result(s) before the next {next} message: the calls cannot all be paired{}",
                    messages[c].tool_calls.len(),
                    if bundled { " (one tool message holds several results: give each its own message)" } else { "" }
                ),
            ));
            pending.clear();
        }
    };
    for (i, message) in messages.iter().enumerate() {
        match message.role {
            Role::System => {}
            Role::User => {
                // Two user messages in a row are a conversation too (answered together), and a
                // trailing one is ingest's `trailing_user_turn`: neither is a finding here.
                flush(&mut pending, caller, results, bundled, "user", out);
            }
            Role::Assistant => {
                flush(&mut pending, caller, results, bundled, "assistant", out);
                let empty = message.content.trim().is_empty()
                    && message.tool_calls.is_empty()
                    && message.reasoning.as_deref().is_none_or(|r| r.trim().is_empty());
                if empty {
                    out.push(
                        Diagnostic::error(
                            Code::EmptyTurn,
                            &message.origin,
                            "an assistant message with no content, reasoning or call",
                        )
                        .at_step(i),
                    );
                }
                if !message.tool_calls.is_empty() {
                    pending = message.tool_calls.iter().map(|c| (c.id.clone(), c.name.clone())).collect();
                    caller = Some(i);
                    results = 0;
                    bundled = false;
                }
            }
            Role::Tool => {
                results += 1;
                bundled |= holds_several_results(&message.content);
                if let Some(problem) =
                    pair(&mut pending, message.tool_call_id.as_deref(), message.name.as_deref(), caller)
                {
                    out.push(Diagnostic::error(Code::RoleOrder, &message.origin, problem));
                }
            }
        }
    }
}

/// `[{"tool_call_id": …, "content": …}, …]`: results for several calls packed into one message.
fn holds_several_results(content: &str) -> bool {
    match serde_json::from_str::<Value>(content) {
        Ok(Value::Array(items)) => {
            items.len() > 1 && items.iter().all(|i| i.get("tool_call_id").is_some() || i.get("content").is_some())
        }
        _ => false,
    }
}

/// Take the call a result answers out of `pending`: by `tool_call_id`, else by name, else the first.
/// Returns what is wrong when no call fits.
fn pair(
    pending: &mut VecDeque<(Option<String>, String)>,
    id: Option<&str>,
    name: Option<&str>,
    caller: Option<usize>,
) -> Option<String> {
    if pending.is_empty() {
        return Some(match caller {
            Some(_) => "a tool result beyond the calls made: more results than calls".into(),
            None => "a tool result with no tool call before it".into(),
        });
    }
    // A result that names no waiting call is reported, and still takes the first one (as ingest
    // pairs it), so one wrong id is not also reported as a missing result.
    let problem = match (id, name) {
        (Some(id), _) => match pending.iter().position(|(cid, _)| cid.as_deref() == Some(id)) {
            Some(p) => {
                pending.remove(p);
                return None;
            }
            None => {
                let ids: Vec<&str> = pending.iter().filter_map(|(c, _)| c.as_deref()).collect();
                format!(
                    "tool_call_id `{id}` matches none of the calls waiting for a result ({})",
                    if ids.is_empty() { "they have no ids".to_string() } else { ids.join(", ") }
                )
            }
        },
        // A call whose name could not be read (ingest reported it) may be the one a result names.
        (None, Some(name)) => match pending.iter().position(|(_, n)| n == name || n.is_empty()) {
            Some(p) => {
                pending.remove(p);
                return None;
            }
            None => {
                let names: Vec<&str> = pending.iter().map(|(_, n)| n.as_str()).collect();
                format!("a result from `{name}`, but the calls waiting are to {}", names.join(", "))
            }
        },
        (None, None) => {
            pending.pop_front();
            return None;
        }
    };
    pending.pop_front();
    Some(problem)
}

/// `duplicate_call`: the same tool with the same arguments again within one user turn.
pub(super) fn duplicates(conversation: &Conversation, out: &mut Vec<Diagnostic>) {
    for turn in conversation.user_turns() {
        let mut seen: HashMap<(String, String), String> = HashMap::new();
        for i in turn {
            for (j, call) in conversation.messages[i].tool_calls.iter().enumerate() {
                let arguments = match parsed_arguments(call) {
                    Ok(v) => canonical(&v),
                    Err(_) => match &call.arguments {
                        Arguments::Text(s) => s.trim().to_string(),
                        Arguments::Json(v) => v.to_string(),
                    },
                };
                let origin = call_origin(call, i, j);
                match seen.get(&(call.name.clone(), arguments.clone())) {
                    Some(first) => out.push(
                        Diagnostic::warning(
                            Code::DuplicateCall,
                            &origin,
                            format!("`{}` again with the same arguments as at {first}", call.name),
                        )
                        .at_step(i),
                    ),
                    None => {
                        seen.insert((call.name.clone(), arguments), origin);
                    }
                }
            }
        }
    }
}

/// JSON with object keys sorted, so `{"a":1,"b":2}` and `{"b":2,"a":1}` compare equal.
fn canonical(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let ordered: BTreeMap<&String, Value> = map.iter().map(|(k, v)| (k, sorted(v))).collect();
                Value::Object(ordered.into_iter().map(|(k, v)| (k.clone(), v)).collect())
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

/// Control tokens of the chat templates people train with. Text that contains one becomes that
/// token when a rendered row is encoded as a whole (TRAPS 10): turns end early, masks shift, and a
/// user can inject a fake assistant turn.
const CONTROL_TOKENS: &[(&str, &str)] = &[
    ("<|im_start|>", "ChatML/Qwen"),
    ("<|im_end|>", "ChatML/Qwen"),
    ("<|endoftext|>", "Qwen/GPT"),
    ("<think>", "Qwen3"),
    ("</think>", "Qwen3"),
    ("<tool_call>", "Qwen"),
    ("</tool_call>", "Qwen"),
    ("<tool_response>", "Qwen"),
    ("</tool_response>", "Qwen"),
    ("<|start|>", "Harmony"),
    ("<|end|>", "Harmony"),
    ("<|message|>", "Harmony"),
    ("<|channel|>", "Harmony"),
    ("<|call|>", "Harmony"),
    ("<|return|>", "Harmony"),
    ("<|constrain|>", "Harmony"),
    ("<|startoftext|>", "Harmony"),
    ("<|begin_of_text|>", "Llama 3"),
    ("<|eot_id|>", "Llama 3"),
    ("<|start_header_id|>", "Llama 3"),
    ("<|end_header_id|>", "Llama 3"),
    ("<|python_tag|>", "Llama 3"),
    ("<|eom_id|>", "Llama 3"),
    ("<start_of_turn>", "Gemma"),
    ("<end_of_turn>", "Gemma"),
    ("[INST]", "Mistral"),
    ("[/INST]", "Mistral"),
    ("[TOOL_CALLS]", "Mistral"),
    ("[AVAILABLE_TOOLS]", "Mistral"),
    ("[TOOL_RESULTS]", "Mistral"),
];

/// The control tokens in `text`, as "`<|im_end|>` (ChatML/Qwen)".
pub(super) fn control_tokens(text: &str) -> Vec<String> {
    CONTROL_TOKENS.iter().filter(|(t, _)| text.contains(t)).map(|(t, family)| format!("`{t}` ({family})")).collect()
}

/// `special_token_text`: control tokens in message text or tool schemas.
pub(super) fn special_tokens(conversation: &Conversation, paths: &Paths, out: &mut Vec<Diagnostic>) {
    for (i, message) in conversation.messages.iter().enumerate() {
        let found = control_tokens(&message.content);
        if found.is_empty() {
            continue;
        }
        let supervised = if message.role == Role::Assistant && message.train {
            " The text is supervised, so the model learns to emit it."
        } else {
            ""
        };
        let mut finding = Diagnostic::warning(
            Code::SpecialTokenText,
            paths.content(&message.origin),
            format!(
                "{} text contains {}: encoded with the rest of the row it becomes a real control token (masking and injection hazard).{supervised}",
                message.role.as_str(),
                found.join(", ")
            ),
        );
        if message.role == Role::Assistant {
            finding = finding.at_step(i);
        }
        out.push(finding);
    }
    for (i, tool) in conversation.tools.iter().enumerate() {
        let found = control_tokens(&tool.to_string());
        if !found.is_empty() {
            out.push(Diagnostic::warning(
                Code::SpecialTokenText,
                format!("tools[{i}]"),
                format!("tool schema contains {}, rendered into the system prompt", found.join(", ")),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_ignores_key_order() {
        let a: Value = serde_json::from_str(r#"{"a": 1, "b": {"y": 2, "x": 1}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"b": {"x": 1, "y": 2}, "a": 1}"#).unwrap();
        assert_eq!(canonical(&a), canonical(&b));
    }

    #[test]
    fn control_tokens_name_their_template() {
        assert_eq!(control_tokens("hi <|im_end|> there"), ["`<|im_end|>` (ChatML/Qwen)"]);
        assert!(control_tokens("a <b> tag").is_empty());
    }
}
