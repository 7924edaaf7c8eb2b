//! The raw annotation format (`system`, `tools`, `turns` of user / think / tool / result / answer).
//! See RAW_FORMAT in the README for the contract; this file is its executable form.

use serde_json::{Map, Value};

use super::{
    join, opt_bool, opt_id, opt_text, parse_call, result_text, tools_field, type_name, wrong_type, Context,
    IngestError, IngestResult,
};
use crate::conversation::{Conversation, Message, Role};
use crate::diagnostic::Code;

const RECORD_KEYS: &[&str] = &["id", "system", "tools", "turns"];
const TURN_KEYS: &[&str] =
    &["user", "assistant_think", "assistant_tool", "tool_result", "assistant_answer", "steps", "train"];
const STEP_KEYS: &[&str] = &["assistant_think", "assistant_tool", "tool_result", "train"];

/// Only a missing or empty `turns` stops the conversion; every other problem is recorded in `cx` and
/// the broken piece stepped over (a turn or step that is not an object, a call that cannot be read),
/// or kept as well as it can be (text of the wrong type as its JSON text, results paired as far as
/// they go).
pub(super) fn convert(record: Map<String, Value>, cx: &mut Context) -> IngestResult<Conversation> {
    let mut conversation = Conversation {
        id: cx.ok(opt_id(&record, "id", "")).flatten().unwrap_or_default(),
        tools: tools_field(&record, "tools", cx).into(),
        ..Default::default()
    };
    if let Some(system) = opt_text(&record, "system", "", cx) {
        conversation.messages.push(Message::new(Role::System, system).at("system"));
    }
    let turns = match record.get("turns") {
        Some(Value::Array(turns)) => turns,
        Some(other) => return Err(wrong_type("turns", "an array of turns", other)),
        None => return Err(IngestError::new(Code::MissingField, "turns", "missing")),
    };
    if turns.is_empty() {
        return Err(IngestError::new(Code::EmptyTurns, "turns", "no turns: nothing to train on"));
    }
    // User-only turns may follow the last assistant output (a "thanks" nobody answered), so the turn
    // that may end on an unanswered tool step is the last one with assistant behaviour.
    let last_acting = turns.iter().rposition(has_assistant_behaviour).unwrap_or(turns.len() - 1);
    let mut turn_meta = Vec::new();
    for (t, turn) in turns.iter().enumerate() {
        let path = format!("turns[{t}]");
        let Value::Object(turn) = turn else {
            cx.fail(wrong_type(&path, "a turn object", turn));
            turn_meta.push(Value::Object(Map::new()));
            continue;
        };
        convert_turn(turn, &path, t == last_acting, &mut conversation.messages, cx);
        let extra: Map<String, Value> = turn
            .iter()
            .filter(|(k, _)| !TURN_KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        turn_meta.push(Value::Object(extra));
    }
    if cx.clean() && !conversation.messages.iter().any(|m| m.role == Role::Assistant) {
        cx.fail(IngestError::new(Code::EmptyTurns, "turns", "no assistant output in any turn: nothing to train on"));
    }
    conversation.meta = record.into_iter().filter(|(k, _)| !RECORD_KEYS.contains(&k.as_str())).collect();
    if turn_meta.iter().any(|m| m.as_object().is_some_and(|m| !m.is_empty())) {
        conversation.meta.insert("turns_meta".into(), Value::Array(turn_meta));
    }
    Ok(conversation)
}

/// Whether a turn holds anything the assistant does; a turn with only `user` (and labels) does not.
fn has_assistant_behaviour(turn: &Value) -> bool {
    let Value::Object(turn) = turn else { return true };
    let present = |key: &str| turn.get(key).is_some_and(|v| !v.is_null());
    present("assistant_tool")
        || present("assistant_answer")
        || present("assistant_think")
        || turn.get("steps").is_some_and(|s| !s.is_null() && s.as_array().is_none_or(|s| !s.is_empty()))
}

fn convert_turn(turn: &Map<String, Value>, path: &str, is_last: bool, out: &mut Vec<Message>, cx: &mut Context) {
    let user_path = join(path, "user");
    match turn.get("user") {
        Some(Value::String(s)) => out.push(Message::new(Role::User, s.clone()).at(user_path)),
        Some(other) => {
            cx.fail(wrong_type(&user_path, "a string", other));
            out.push(Message::new(Role::User, other.to_string()).at(user_path));
        }
        None => cx.fail(IngestError::new(Code::MissingField, user_path, "missing")),
    }
    let mut think = opt_text(turn, "assistant_think", path, cx);
    let answer = opt_text(turn, "assistant_answer", path, cx);
    let train = cx.ok(opt_bool(turn, "train", path)).flatten().unwrap_or(true);
    let has_tool = turn.contains_key("assistant_tool");
    let steps = match turn.get("steps") {
        None | Some(Value::Null) => None,
        Some(Value::Array(steps)) => Some(steps),
        Some(other) => {
            cx.fail(wrong_type(&join(path, "steps"), "an array of steps", other));
            None
        }
    };
    if has_tool && steps.is_some() {
        // Both are read, the turn's own call first.
        cx.fail(IngestError::new(
            Code::StepsAndTool,
            path,
            "a turn uses either `assistant_tool`/`tool_result` or `steps`, not both",
        ));
    }
    if !has_tool && turn.contains_key("tool_result") {
        cx.fail(IngestError::new(
            Code::ResultCountMismatch,
            join(path, "tool_result"),
            "a tool result without an `assistant_tool` call",
        ));
    }
    let mut acted = false;
    if has_tool {
        let ends_record = is_last && answer.is_none() && steps.is_none();
        convert_step(turn, path, think.take(), train, ends_record, out, cx);
        acted = true;
    }
    if let Some(steps) = steps {
        for (s, step) in steps.iter().enumerate() {
            let step_path = format!("{path}.steps[{s}]");
            let Value::Object(step) = step else {
                cx.fail(wrong_type(&step_path, "a step object", step));
                continue;
            };
            if let Some(unknown) = step.keys().find(|k| !STEP_KEYS.contains(&k.as_str())) {
                cx.warn(Code::UnknownField, join(&step_path, unknown), "unknown step field (ignored)");
            }
            let own_think = opt_text(step, "assistant_think", &step_path, cx);
            let step_think = match (s, own_think, think.take()) {
                (0, Some(own), Some(_)) => {
                    cx.fail(IngestError::new(
                        Code::WrongType,
                        join(&step_path, "assistant_think"),
                        "reasoning given both on the turn and on its first step",
                    ));
                    Some(own)
                }
                (_, own, turn_level) => own.or(turn_level),
            };
            let step_train = cx.ok(opt_bool(step, "train", &step_path)).flatten().unwrap_or(true);
            let ends_record = is_last && answer.is_none() && s + 1 == steps.len();
            convert_step(step, &step_path, step_think, step_train, ends_record, out, cx);
            acted = true;
        }
    }
    match answer {
        Some(content) => {
            let mut message = Message::new(Role::Assistant, content).at(join(path, "assistant_answer"));
            message.reasoning = think.take();
            message.train = train;
            out.push(message);
        }
        // The record ends on this tool step: ingest's `unfinished` warning, as for every format.
        None if acted && is_last => {}
        None if acted => cx.fail(IngestError::new(
            Code::MissingField,
            join(path, "assistant_answer"),
            "missing: only the last turn may end on a tool step",
        )),
        // A user-only turn: another user message, answered together with the next one, or a trailing
        // message nobody answered (ingest warns about those).
        None if think.is_none() => {}
        None => {
            think = None;
            cx.fail(IngestError::new(
                Code::EmptyTurn,
                path,
                "reasoning with no assistant move after it (no `assistant_tool`, `steps` or `assistant_answer`)",
            ))
        }
    }
    if let Some(think) = think {
        // Reasoning with nowhere to go (e.g. a think with steps that all had their own).
        cx.warn(
            Code::UnusedReasoning,
            join(path, "assistant_think"),
            format!("reasoning not attached to any message: {think:.40}"),
        );
    }
}

/// One call step: the assistant message with its calls, then one tool message per call. A call that
/// is not an object is skipped with its result; when calls and results do not pair, the pairs that
/// line up are kept.
fn convert_step(
    step: &Map<String, Value>,
    path: &str,
    think: Option<String>,
    train: bool,
    may_lack_result: bool,
    out: &mut Vec<Message>,
    cx: &mut Context,
) {
    let tool_path = join(path, "assistant_tool");
    let (calls, parallel) = match step.get("assistant_tool") {
        Some(Value::Object(call)) => (vec![Some(parse_call(call, &tool_path, cx))], false),
        Some(Value::Array(calls)) if !calls.is_empty() => {
            let calls = calls
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let p = format!("{tool_path}[{i}]");
                    match c {
                        Value::Object(c) => Some(parse_call(c, &p, cx)),
                        other => {
                            cx.fail(wrong_type(&p, "a call object", other));
                            None
                        }
                    }
                })
                .collect::<Vec<_>>();
            (calls, true)
        }
        Some(Value::Array(_)) => return cx.fail(IngestError::new(Code::EmptyTurn, tool_path, "empty list of calls")),
        Some(other) => return cx.fail(wrong_type(&tool_path, "a call object or a list of calls", other)),
        None => return cx.fail(IngestError::new(Code::MissingField, tool_path, "missing")),
    };
    let result_path = join(path, "tool_result");
    let results: Vec<&Value> = match (step.get("tool_result"), parallel) {
        (None, _) if may_lack_result => Vec::new(),
        (None, _) => {
            cx.fail(IngestError::new(
                Code::ResultCountMismatch,
                &result_path,
                format!("missing: {} call(s) need results", calls.len()),
            ));
            Vec::new()
        }
        (Some(result), false) => vec![result],
        (Some(Value::Array(results)), true) => results.iter().collect(),
        (Some(other), true) => {
            cx.fail(IngestError::new(
                Code::ResultCountMismatch,
                &result_path,
                format!(
                    "{} parallel calls need a list of {} results, found {}",
                    calls.len(),
                    calls.len(),
                    type_name(other)
                ),
            ));
            Vec::new()
        }
    };
    if !results.is_empty() && results.len() != calls.len() {
        cx.fail(IngestError::new(
            Code::ResultCountMismatch,
            &result_path,
            format!("{} call(s) but {} result(s): calls and results cannot be paired", calls.len(), results.len()),
        ));
    }
    let paired: Vec<(usize, &Value)> =
        results.into_iter().enumerate().filter(|(i, _)| calls.get(*i).is_some_and(Option::is_some)).collect();
    let calls: Vec<_> = calls.into_iter().flatten().collect();
    if calls.is_empty() {
        return;
    }
    let mut assistant = Message::new(Role::Assistant, "").at(tool_path.clone());
    assistant.reasoning = think;
    assistant.train = train;
    let names: Vec<String> = calls.iter().map(|c| c.name.clone()).collect();
    let ids: Vec<Option<String>> = calls.iter().map(|c| c.id.clone()).collect();
    assistant.tool_calls = calls;
    out.push(assistant);
    for (k, (i, result)) in paired.into_iter().enumerate() {
        let origin = if parallel { format!("{result_path}[{i}]") } else { result_path.clone() };
        let mut tool = Message::new(Role::Tool, result_text(result)).at(origin);
        tool.name = Some(names[k].clone());
        tool.tool_call_id = ids[k].clone();
        out.push(tool);
    }
}

#[cfg(test)]
mod tests {
    use crate::conversation::{Arguments, Role};
    use crate::ingest::{ingest, IngestOptions};
    use serde_json::json;

    fn convert(v: serde_json::Value) -> Result<crate::ingest::Ingested, crate::ingest::IngestError> {
        ingest(&v.to_string(), "x", &IngestOptions::default())
    }

    #[test]
    fn single_call_maps_to_call_tool_answer() {
        let got = convert(json!({"system": "S", "tools": [{"name": "f", "parameters": {}}], "turns": [
            {"user": "u", "assistant_think": "t", "assistant_tool": {"name": "f", "arguments": {"a": 1}},
             "tool_result": {"ok": true}, "assistant_answer": "done"}]}))
        .unwrap()
        .conversation;
        let roles: Vec<Role> = got.messages.iter().map(|m| m.role).collect();
        assert_eq!(roles, [Role::System, Role::User, Role::Assistant, Role::Tool, Role::Assistant]);
        assert_eq!(got.messages[2].reasoning.as_deref(), Some("t"));
        assert_eq!(got.messages[2].tool_calls[0].arguments, Arguments::Json(json!({"a": 1})));
        assert_eq!(got.messages[3].content, "{\"ok\":true}");
        assert_eq!(got.messages[3].name.as_deref(), Some("f"));
        assert_eq!(got.messages[4].reasoning, None);
        assert_eq!(got.tools[0]["type"], "function");
    }

    #[test]
    fn parallel_results_must_pair_with_calls() {
        let err = convert(json!({"turns": [{"user": "x", "assistant_tool": [{"name":"f"},{"name":"f"}],
            "tool_result": ["one"], "assistant_answer": "a"}]}))
        .unwrap_err();
        assert_eq!(err.0.code.as_str(), "result_count_mismatch");
        assert_eq!(err.0.path, "turns[0].tool_result");
    }

    #[test]
    fn unknown_fields_become_meta_and_train_false_is_kept() {
        let got =
            convert(json!({"case": "no_tool", "turns": [{"user": "x", "assistant_answer": "a", "train": false}]}))
                .unwrap()
                .conversation;
        assert_eq!(got.meta["case"], "no_tool");
        assert!(!got.messages[1].train);
    }

    #[test]
    fn steps_carry_their_own_reasoning() {
        let got = convert(json!({"turns": [{"user": "x", "steps": [
            {"assistant_think": "a", "assistant_tool": {"name": "f"}, "tool_result": 1},
            {"assistant_think": "b", "assistant_tool": {"name": "g", "arguments": "{\"q\": 1}"}, "tool_result": "r"}],
            "assistant_answer": "done"}]}))
        .unwrap()
        .conversation;
        assert_eq!(got.messages.len(), 6);
        assert_eq!(got.messages[1].reasoning.as_deref(), Some("a"));
        assert_eq!(got.messages[3].reasoning.as_deref(), Some("b"));
        assert_eq!(got.messages[3].tool_calls[0].arguments, Arguments::Text("{\"q\": 1}".into()));
    }

    #[test]
    fn wrong_types_are_located() {
        let err = convert(json!({"turns": [{"user": 42, "assistant_answer": "x"}]})).unwrap_err();
        assert_eq!((err.0.code.as_str(), err.0.path.as_str()), ("wrong_type", "turns[0].user"));
        let err = convert(json!({"turns": "no"})).unwrap_err();
        assert_eq!(err.0.path, "turns");
        let err = convert(json!({"turns": []})).unwrap_err();
        assert_eq!(err.0.code.as_str(), "empty_turns");
    }

    #[test]
    fn user_only_turns_are_conversation_not_errors() {
        // Two user messages in a row, answered together.
        let got = convert(json!({"turns": [{"user": "a"}, {"user": "b", "assistant_answer": "c"}]})).unwrap();
        let roles: Vec<Role> = got.conversation.messages.iter().map(|m| m.role).collect();
        assert_eq!(roles, [Role::User, Role::User, Role::Assistant]);
        assert!(got.warnings.is_empty(), "{:?}", got.warnings);
        // A trailing "thanks" after an unfinished tool step: the step still may lack its result.
        let got = convert(json!({"turns": [{"user": "x", "assistant_tool": {"name": "f"}}, {"user": "thanks"},
            {"user": "bye", "steps": []}]}))
        .unwrap();
        let codes: Vec<&str> = got.warnings.iter().map(|w| w.code.as_str()).collect();
        assert_eq!(codes, ["unfinished", "trailing_user_turn", "call_without_tools"]);
        assert_eq!(got.warnings[1].path, "turns[1].user");
        assert!(got.warnings[1].message.starts_with("2 user message(s)"), "{}", got.warnings[1].message);
        assert_eq!(got.conversation.messages.len(), 4);
    }

    #[test]
    fn trailing_user_turns_are_kept_or_dropped_on_request() {
        let record = json!({"turns": [{"user": "q", "assistant_think": "t", "assistant_answer": "a"},
            {"user": "Thank you so much!"}]});
        let kept = convert(record.clone()).unwrap();
        assert_eq!(kept.conversation.messages.last().unwrap().content, "Thank you so much!");
        assert_eq!(kept.warnings.len(), 1);
        assert!(kept.warnings[0].message.contains("--drop-trailing-user"));
        let options = IngestOptions { drop_trailing_user: true, ..Default::default() };
        let dropped = ingest(&record.to_string(), "x", &options).unwrap();
        assert_eq!(dropped.conversation.messages.len(), 2);
        assert_eq!(dropped.conversation.messages[1].reasoning.as_deref(), Some("t"));
        assert_eq!(dropped.warnings[0].code.as_str(), "trailing_user_turn");
        // The same conversation as messages: the same messages and the same warning.
        let messages = json!({"messages": [{"role": "user", "content": "q"},
            {"role": "assistant", "content": "a", "reasoning_content": "t"},
            {"role": "user", "content": "Thank you so much!"}]});
        let from_messages = convert(messages).unwrap();
        assert_eq!(from_messages.warnings[0].code.as_str(), "trailing_user_turn");
        let contents = |c: &crate::conversation::Conversation| {
            c.messages.iter().map(|m| (m.role, m.content.clone(), m.reasoning.clone())).collect::<Vec<_>>()
        };
        assert_eq!(contents(&from_messages.conversation), contents(&kept.conversation));
    }

    #[test]
    fn a_record_without_assistant_output_is_refused() {
        let err = convert(json!({"turns": [{"user": "a"}, {"user": "b"}]})).unwrap_err();
        assert_eq!((err.0.code.as_str(), err.0.path.as_str()), ("empty_turns", "turns"));
        let err = convert(json!({"turns": [{"user": "a", "assistant_think": "t"}]})).unwrap_err();
        assert_eq!((err.0.code.as_str(), err.0.path.as_str()), ("empty_turn", "turns[0]"));
    }

    /// (code, path) of each structural problem, and the roles of what was read, reading on past them.
    fn recover(v: serde_json::Value) -> (Vec<(&'static str, String)>, Vec<Role>) {
        let got = crate::ingest::ingest_value_recovering(v, "x", &IngestOptions::default()).unwrap();
        let errors = got.errors.into_iter().map(|e| (e.code.as_str(), e.path)).collect();
        (errors, got.ingested.conversation.messages.iter().map(|m| m.role).collect())
    }

    #[test]
    fn recovery_reads_on_past_every_structural_problem() {
        let record = json!({"tools": [{"name": "f", "parameters": {}}, "not a tool"], "turns": [
            {"user": 42, "assistant_tool": {"name": "f", "arguments": {"a": 1}}},
            "not a turn",
            {"user": "b", "steps": [7, {"assistant_tool": [{"name": "f"}, {"arguments": {}}], "tool_result": ["r1"]}],
             "assistant_answer": "done"},
            {"user": "c", "assistant_think": "t"},
            {"user": "d", "assistant_tool": {"name": "f", "arguments": 3}, "tool_result": "r", "assistant_answer": "e"}]});
        let (errors, roles) = recover(record.clone());
        let want = [
            ("wrong_type", "tools[1]"),
            ("wrong_type", "turns[0].user"),
            ("result_count_mismatch", "turns[0].tool_result"),
            ("missing_field", "turns[0].assistant_answer"),
            ("wrong_type", "turns[1]"),
            ("wrong_type", "turns[2].steps[0]"),
            ("missing_field", "turns[2].steps[1].assistant_tool[1].name"),
            ("result_count_mismatch", "turns[2].steps[1].tool_result"),
            ("empty_turn", "turns[3]"),
            ("wrong_type", "turns[4].assistant_tool.arguments"),
        ];
        let want: Vec<(&str, String)> = want.iter().map(|(c, p)| (*c, p.to_string())).collect();
        assert_eq!(errors, want);
        use Role::*;
        // The user of the wrong type is kept as its JSON text, the unpaired call of turns[2] without a
        // result, the reasoning with no move after it dropped.
        assert_eq!(roles, [User, Assistant, User, Assistant, Tool, Assistant, User, User, Assistant, Tool, Assistant]);
        // Convert sees the first problem only, as when ingest stopped there.
        let err = convert(record).unwrap_err();
        assert_eq!((err.0.code.as_str(), err.0.path.as_str()), ("wrong_type", "tools[1]"));
    }

    #[test]
    fn recovery_keeps_what_pairs_and_calls_whose_name_is_broken() {
        let (errors, roles) = recover(json!({"turns": [{"user": "x",
            "assistant_tool": [{"name": 5, "arguments": {"q": 1}}, "oops", {"name": "g"}],
            "tool_result": ["r1", "r2", "r3", "r4"], "assistant_answer": "a"}]}));
        assert_eq!(
            errors.iter().map(|e| e.1.as_str()).collect::<Vec<_>>(),
            ["turns[0].assistant_tool[0].name", "turns[0].assistant_tool[1]", "turns[0].tool_result"]
        );
        // Calls 0 and 2 are kept with their own results; the result of the call that is not an object
        // and the one beyond the calls are not.
        assert_eq!(roles, [Role::User, Role::Assistant, Role::Tool, Role::Tool, Role::Assistant]);
        let got = crate::ingest::ingest_value_recovering(
            json!({"turns": [{"user": "x", "assistant_tool": [{"name": 5}, "oops", {"name": "g"}],
                "tool_result": ["r1", "r2", "r3"], "assistant_answer": "a"}]}),
            "x",
            &IngestOptions::default(),
        )
        .unwrap();
        let messages = &got.ingested.conversation.messages;
        assert_eq!(messages[1].tool_calls.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["", "g"]);
        assert_eq!((messages[2].content.as_str(), messages[3].content.as_str()), ("r1", "r3"));
        assert_eq!(messages[3].origin, "turns[0].tool_result[2]");
    }

    #[test]
    fn no_turns_after_an_earlier_problem_reports_both_and_convert_the_first() {
        let (errors, roles) = recover(json!({"id": {"no": 1}, "turns": "none"}));
        assert_eq!(errors, [("wrong_type", "id".to_string()), ("wrong_type", "turns".to_string())]);
        assert!(roles.is_empty());
        let err = convert(json!({"id": {"no": 1}, "turns": "none"})).unwrap_err();
        assert_eq!(err.0.path, "id");
    }

    #[test]
    fn unfinished_last_turn_is_a_warning() {
        let got = convert(json!({"turns": [{"user": "x", "assistant_tool": {"name": "f"}}]})).unwrap();
        assert_eq!(got.warnings[0].code.as_str(), "unfinished");
        assert_eq!(got.conversation.messages.len(), 2);
    }
}
