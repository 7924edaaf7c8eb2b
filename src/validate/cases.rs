//! What kind of example a record is, so a dataset's mix can be seen before it is trained on.
//!
//! A set made only of "call the tool" examples teaches a model to call tools when it should answer,
//! ask, or decline. `stats` counts records by [`Case`]; an explicit `case` field in the record wins,
//! otherwise the case is inferred here from what the assistant does in each user turn:
//!
//! - a turn with a call is a call turn (a failed call when a result reports an error);
//! - a turn without one asks for information (`clarification`), says the tools cannot do it
//!   (`unavailable_tool`), or answers directly (`irrelevant_tool` when tools were offered,
//!   `no_tool` when none were or the reasoning says none was needed).
//!
//! A record takes its rarest behaviour: failed > clarification > unavailable > call > direct, so a
//! clarification whose answer enables a call next turn is still a clarification example.
//!
//! The text rules are phrase lists (English plus a few common phrasings in Spanish, French, German,
//! Portuguese, Italian, Chinese and Japanese). They were written against `../shared` data and
//! measured on a hand-labelled set written before them (fixtures/labelled/README.md).

use serde_json::Value;

use crate::conversation::{Conversation, Message, Role};
use crate::text::phrases::{asks_for_information, find_any, normalize_quotes, phrases};
pub use crate::text::salient::is_error_result;

/// The kinds of example a tool-calling dataset needs a mix of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Case {
    ToolRequired,
    NoTool,
    IrrelevantTool,
    Clarification,
    UnavailableTool,
    FailedTool,
}

impl Case {
    pub const ALL: [Case; 6] = [
        Case::ToolRequired,
        Case::NoTool,
        Case::IrrelevantTool,
        Case::Clarification,
        Case::UnavailableTool,
        Case::FailedTool,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Case::ToolRequired => "tool_required",
            Case::NoTool => "no_tool",
            Case::IrrelevantTool => "irrelevant_tool",
            Case::Clarification => "clarification",
            Case::UnavailableTool => "unavailable_tool",
            Case::FailedTool => "failed_tool",
        }
    }

    pub fn parse(name: &str) -> Option<Case> {
        Case::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

/// Properties of a record that cut across cases.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    /// More than one user turn answered.
    pub multi_turn: bool,
    /// An assistant message with more than one call.
    pub parallel_calls: bool,
    /// A user turn with more than one round of calls.
    pub multi_step: bool,
    /// Some assistant message carries reasoning.
    pub reasoning: bool,
}

impl Flags {
    pub const NAMES: [&'static str; 4] = ["multi_turn", "parallel_calls", "multi_step", "reasoning"];

    /// The names of the flags that are set.
    pub fn names(&self) -> Vec<&'static str> {
        let set = [self.multi_turn, self.parallel_calls, self.multi_step, self.reasoning];
        Flags::NAMES.iter().zip(set).filter(|(_, on)| *on).map(|(n, _)| *n).collect()
    }
}

/// A record's case, with the evidence it rests on.
#[derive(Debug, Clone)]
pub struct Classification {
    /// The case used: the record's own `case` field when it has one, else [`Self::inferred`].
    pub case: String,
    /// Whether `case` came from the record.
    pub explicit: bool,
    /// What the rules make of the record, whatever its `case` field says.
    pub inferred: Case,
    pub flags: Flags,
    /// Why: one line per turn that decided something, naming where (`turns[0].assistant_answer`).
    pub evidence: Vec<String>,
    /// Number of tool calls.
    pub calls: usize,
    /// Names of the tools called, in call order (repeats included).
    pub tools_called: Vec<String>,
}

/// What the assistant does in one user turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Behaviour {
    Direct,
    Call,
    Decline,
    Clarify,
    Failed,
}

/// Classify a record.
pub fn classify(conversation: &Conversation) -> Classification {
    let mut evidence = Vec::new();
    let mut strongest = Behaviour::Direct;
    let mut no_tool_needed = false;
    let mut flags = Flags { reasoning: conversation.messages.iter().any(has_reasoning), ..Flags::default() };
    let mut answered = 0;
    for turn in conversation.user_turns() {
        let messages = &conversation.messages[turn];
        answered += usize::from(messages.iter().any(|m| m.role == Role::Assistant));
        let rounds = messages.iter().filter(|m| !m.tool_calls.is_empty()).count();
        flags.multi_step |= rounds > 1;
        flags.parallel_calls |= messages.iter().any(|m| m.tool_calls.len() > 1);
        let (behaviour, why) = turn_behaviour(messages);
        if let Some(why) = why {
            evidence.push(why);
        }
        if behaviour == Behaviour::Direct {
            no_tool_needed |= says_no_tool_needed(messages);
        }
        strongest = strongest.max(behaviour);
    }
    flags.multi_turn = answered > 1;
    let inferred = match strongest {
        Behaviour::Failed => Case::FailedTool,
        Behaviour::Clarify => Case::Clarification,
        Behaviour::Decline => Case::UnavailableTool,
        Behaviour::Call => Case::ToolRequired,
        Behaviour::Direct if conversation.tools.is_empty() => Case::NoTool,
        Behaviour::Direct if no_tool_needed => {
            evidence.push("the reasoning says no tool is needed".into());
            Case::NoTool
        }
        Behaviour::Direct => {
            evidence.push("tools offered, none called, answered directly".into());
            Case::IrrelevantTool
        }
    };
    let explicit = conversation.meta.get("case").and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    if let Some(case) = explicit {
        evidence.insert(0, format!("explicit `case` field: {case}"));
    }
    let tools_called: Vec<String> =
        conversation.messages.iter().flat_map(|m| m.tool_calls.iter().map(|c| c.name.clone())).collect();
    Classification {
        case: explicit.map_or_else(|| inferred.as_str().to_string(), str::to_string),
        explicit: explicit.is_some(),
        inferred,
        flags,
        evidence,
        calls: tools_called.len(),
        tools_called,
    }
}

fn has_reasoning(m: &Message) -> bool {
    m.role == Role::Assistant && m.reasoning.as_deref().is_some_and(|r| !r.trim().is_empty())
}

fn turn_behaviour(messages: &[Message]) -> (Behaviour, Option<String>) {
    if let Some(call) = messages.iter().find(|m| !m.tool_calls.is_empty()) {
        if let Some(failed) = messages.iter().find(|m| m.role == Role::Tool && is_error_result(&m.content)) {
            return (Behaviour::Failed, Some(format!("{}: the tool result reports an error", failed.origin)));
        }
        let names: Vec<&str> = call.tool_calls.iter().map(|c| c.name.as_str()).collect();
        return (Behaviour::Call, Some(format!("{}: calls {}", call.origin, names.join(", "))));
    }
    let Some(answer) = messages.iter().rev().find(|m| m.role == Role::Assistant) else {
        return (Behaviour::Direct, None);
    };
    let text: String = messages
        .iter()
        .filter(|m| m.role == Role::Assistant)
        .map(|m| m.content.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let reasoning: String =
        messages.iter().filter_map(|m| m.reasoning.as_deref()).collect::<Vec<_>>().join("\n").to_lowercase();
    let lower = normalize_quotes(&text.to_lowercase());
    // A refusal opens the reply; "unable to" deep inside an explanation is not one.
    let opening = opening(&lower);
    let decline = find_any(opening, phrases().decline)
        .filter(|_| find_any(opening, phrases().hedges).is_none())
        .or_else(|| tools_limited(opening));
    let ask = asks_for_information(&lower);
    let conditional = find_any(&lower, phrases().conditional).filter(|at| !conditional_on_tools(&lower, at));
    let quote = |what: &str, phrase: &str| Some(format!("{}: {what} (\"{phrase}\")", answer.origin));
    match (decline, ask, conditional) {
        (Some(d), _, Some(c)) => (Behaviour::Clarify, quote("cannot go on without information", &format!("{d} … {c}"))),
        (Some(d), _, None) => (Behaviour::Decline, quote("says the tools cannot do it", d)),
        (None, Some(a), _) => (Behaviour::Clarify, quote("asks for information", &a)),
        (None, None, _) => {
            let reasoning = normalize_quotes(&reasoning);
            if let Some(r) = find_any(&reasoning, phrases().reasoning_asks) {
                return (Behaviour::Clarify, quote("the reasoning says information is missing", r));
            }
            if let Some(r) =
                find_any(&reasoning, phrases().reasoning_declines).filter(|_| !says_no_tool_needed(messages))
            {
                return (Behaviour::Decline, quote("the reasoning says no tool can do it", r));
            }
            (Behaviour::Direct, None)
        }
    }
}

/// The first three sentences of a reply.
fn opening(text: &str) -> &str {
    let mut ends = 0;
    for (at, c) in text.char_indices() {
        if matches!(c, '.' | '!' | '?' | '\n' | '。' | '！' | '？')
            && !text[at + c.len_utf8()..].starts_with(['.', '!', '?'])
        {
            ends += 1;
            if ends == 3 {
                return &text[..at + c.len_utf8()];
            }
        }
    }
    text
}

/// "Can't … without a booking tool" is a decline after all.
fn conditional_on_tools(text: &str, phrase: &str) -> bool {
    text.match_indices(phrase).all(|(at, _)| {
        let after: String = text[at + phrase.len()..].chars().take(30).collect();
        ["tool", "function", "access", "ability", "capabilit", "api"].iter().any(|w| after.contains(w))
    })
}

/// Talking about its own tools in the negative: "my only tool is …", "my tools only cover …".
fn tools_limited(text: &str) -> Option<&'static str> {
    for sentence in text.split(['.', '!', '?', ';', '—', '\n', '。', '！', '？']) {
        if let Some(s) = phrases().subjects.iter().find(|s| sentence.contains(*s)) {
            if phrases().negations.iter().any(|n| sentence.contains(n)) {
                return Some(s);
            }
        }
    }
    None
}

/// Reasoning that says the question needs no tool ("general knowledge; no tool needed").
fn says_no_tool_needed(messages: &[Message]) -> bool {
    messages.iter().filter_map(|m| m.reasoning.as_deref()).any(|r| {
        let r = r.to_lowercase();
        [
            "no tool needed",
            "no tool is needed",
            "don't need a tool",
            "do not need a tool",
            "no need for a tool",
            "no need to call",
            "without a tool",
            "without tools",
            "general knowledge",
        ]
        .iter()
        .any(|p| r.contains(p))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::ingest::{ingest, IngestOptions};
    use serde_json::json;

    fn case_of(record: Value) -> Case {
        classify(&ingest(&record.to_string(), "x", &IngestOptions::default()).unwrap().conversation).inferred
    }

    fn answer(tools: bool, text: &str) -> Case {
        let tools = if tools { json!([{"name": "get_weather", "parameters": {"type": "object"}}]) } else { json!([]) };
        case_of(json!({"tools": tools, "turns": [{"user": "q", "assistant_answer": text}]}))
    }

    #[test]
    fn questions_for_information_are_clarifications() {
        assert_eq!(answer(true, "Sure — which city, and for what date?"), Case::Clarification);
        assert_eq!(answer(true, "Please share your order number."), Case::Clarification);
        assert_eq!(answer(true, "I can't check that without knowing the city. Where are you?"), Case::Clarification);
    }

    #[test]
    fn offers_and_pleasantries_are_not_clarifications() {
        assert_eq!(answer(true, "Paris. Anything else I can help with?"), Case::IrrelevantTool);
        assert_eq!(answer(false, "Hi! What can I do for you today?"), Case::NoTool);
    }

    #[test]
    fn declines_are_unavailable_tool() {
        assert_eq!(
            answer(true, "I can't book hotels. Would you like me to check the weather instead?"),
            Case::UnavailableTool
        );
        assert_eq!(
            answer(true, "My only tool is a weather forecast, so flights are out of my hands."),
            Case::UnavailableTool
        );
        assert_eq!(answer(true, "Lo siento, no puedo pedir taxis."), Case::UnavailableTool);
    }

    #[test]
    fn the_rarest_behaviour_names_the_record() {
        let record = json!({"tools": [{"name": "f", "parameters": {"type": "object"}}], "turns": [
            {"user": "go", "assistant_answer": "Which city?"},
            {"user": "Oslo", "assistant_tool": {"name": "f", "arguments": {}}, "tool_result": "ok", "assistant_answer": "done"}]});
        assert_eq!(case_of(record), Case::Clarification);
        let failed = json!({"tools": [{"name": "f"}], "turns": [
            {"user": "go", "assistant_tool": {"name": "f"}, "tool_result": {"error": "down"}, "assistant_answer": "It failed."}]});
        assert_eq!(case_of(failed), Case::FailedTool);
    }

    #[test]
    fn error_results() {
        for yes in [
            r#"{"error": "timeout"}"#,
            r#"{"status": "failed"}"#,
            r#"{"success": false}"#,
            "ValueError: bad",
            "Error: 550",
        ] {
            assert!(is_error_result(yes), "{yes}");
        }
        for no in [r#"{"error": null, "temp": 3}"#, r#"{"status": "shipped"}"#, "Errors are rare in this log", "sunny"]
        {
            assert!(!is_error_result(no), "{no}");
        }
    }

    #[test]
    fn flags() {
        let c = ingest(
            &json!({"tools": [{"name": "f"}], "turns": [
                {"user": "a", "assistant_think": "t", "assistant_tool": [{"name": "f"}, {"name": "f", "arguments": {"x": 1}}],
                 "tool_result": ["1", "2"], "assistant_answer": "1 and 2"},
                {"user": "b", "assistant_answer": "c"}]})
            .to_string(),
            "x",
            &IngestOptions::default(),
        )
        .unwrap()
        .conversation;
        assert_eq!(classify(&c).flags.names(), ["multi_turn", "parallel_calls", "reasoning"]);
    }
}
