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

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

use crate::conversation::{Conversation, Message, Role};

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
    let explicit = conversation.meta.get("case").and_then(Value::as_str).filter(|s| !s.trim().is_empty());
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

fn normalize_quotes(text: &str) -> String {
    text.replace(['\u{2019}', '\u{2018}'], "'")
}

/// The phrase lists of case inference, from `phrases.txt` (compiled in; the file says what each
/// list is for). Data, not code: a reviewer adds a phrase without reading the rules.
struct Phrases {
    decline: &'static [&'static str],
    hedges: &'static [&'static str],
    conditional: &'static [&'static str],
    subjects: &'static [&'static str],
    negations: &'static [&'static str],
    pleasantries: &'static [&'static str],
    offer_starts: &'static [&'static str],
    choice_starts: &'static [&'static str],
    requests: &'static [&'static str],
    wh: &'static [&'static str],
    reasoning_asks: &'static [&'static str],
    reasoning_declines: &'static [&'static str],
}

fn phrases() -> &'static Phrases {
    static PHRASES: OnceLock<Phrases> = OnceLock::new();
    PHRASES.get_or_init(|| {
        let mut lists: HashMap<&str, Vec<&'static str>> = HashMap::new();
        let mut current = None;
        for (n, line) in include_str!("phrases.txt").lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                current = Some(name);
                lists.entry(name).or_default();
                continue;
            }
            let phrase: String =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("phrases.txt:{}: not a JSON string: {e}", n + 1));
            let list = current.unwrap_or_else(|| panic!("phrases.txt:{}: a phrase before any [list]", n + 1));
            lists.get_mut(list).expect("opened above").push(Box::leak(phrase.into_boxed_str()));
        }
        let mut take = |name: &str| -> &'static [&'static str] {
            lists.remove(name).unwrap_or_else(|| panic!("phrases.txt has no [{name}]")).leak()
        };
        let phrases = Phrases {
            decline: take("decline"),
            hedges: take("hedges"),
            conditional: take("conditional"),
            subjects: take("subjects"),
            negations: take("negations"),
            pleasantries: take("pleasantries"),
            offer_starts: take("offer_starts"),
            choice_starts: take("choice_starts"),
            requests: take("requests"),
            wh: take("wh"),
            reasoning_asks: take("reasoning_asks"),
            reasoning_declines: take("reasoning_declines"),
        };
        assert!(lists.is_empty(), "phrases.txt: lists nothing reads: {:?}", lists.keys());
        phrases
    })
}

/// The first phrase of `phrases` in `text`.
fn find_any<'p>(text: &str, phrases: &[&'p str]) -> Option<&'p str> {
    phrases.iter().copied().find(|p| text.contains(p))
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

/// A question for missing information, as the matched phrase.
fn asks_for_information(text: &str) -> Option<String> {
    if let Some(r) = find_any(text, phrases().requests) {
        return Some(r.to_string());
    }
    for (sentence, clause) in questions(text) {
        if find_any(&sentence, phrases().pleasantries).is_some()
            || phrases().offer_starts.iter().any(|o| clause.starts_with(o))
        {
            continue;
        }
        if let Some(w) = phrases().wh.iter().find(|w| contains_word(&sentence, w)) {
            return Some(format!("{w} …?"));
        }
        if phrases().choice_starts.iter().any(|v| clause.starts_with(v)) && contains_word(&clause, "or") {
            return Some("… or …?".into());
        }
        if let Some(w) =
            ["哪", "什么", "多少", "几", "どの", "どこ", "何", "いつ"].iter().find(|w| sentence.contains(*w))
        {
            return Some(format!("{w} …?"));
        }
    }
    None
}

/// The question sentences of `text` (each ends with `?` or `？`; a Spanish one may open with `¿`),
/// each with its last clause ("I can help — which city?" → "which city"), which is where an offer
/// or a choice opens; leading "and"/"so" are dropped from it.
fn questions(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (at, c) in text.char_indices() {
        match c {
            '.' | '!' | '\n' | '。' | '！' | ':' => start = at + c.len_utf8(),
            '?' | '？' => {
                let sentence = &text[start..at];
                let sentence = sentence.rsplit('¿').next().unwrap_or(sentence).trim();
                let mut clause = sentence.rsplit(['—', '–', ',', ';']).next().unwrap_or(sentence).trim();
                for lead in ["and ", "or ", "so ", "also ", "then ", "but "] {
                    clause = clause.strip_prefix(lead).unwrap_or(clause);
                }
                out.push((sentence.to_string(), clause.to_string()));
                start = at + c.len_utf8();
            }
            _ => {}
        }
    }
    out
}

fn contains_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        before.is_none_or(|c| !c.is_alphanumeric()) && after.is_none_or(|c| !c.is_alphanumeric())
    })
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

/// Whether a tool result reports a failure: an `error` field, a failed status, `success: false`,
/// or text that starts like an error or a traceback.
pub(crate) fn is_error_result(content: &str) -> bool {
    let text = content.trim();
    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) {
        let truthy = |v: &Value| match v {
            Value::Null | Value::Bool(false) => false,
            Value::String(s) => !s.trim().is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
            _ => true,
        };
        let failed_word = |v: &Value| {
            v.as_str().is_some_and(|s| {
                matches!(s.to_ascii_lowercase().as_str(), "error" | "failed" | "failure" | "fail" | "exception")
            })
        };
        return map.iter().any(|(k, v)| match k.to_ascii_lowercase().as_str() {
            "error" | "errors" | "exception" | "error_message" | "errormessage" => truthy(v),
            "status" | "state" | "result" => failed_word(v) || v.as_u64().is_some_and(|c| c >= 400),
            "success" | "ok" | "succeeded" => v == &Value::Bool(false),
            "status_code" | "http_status" => v.as_u64().is_some_and(|c| c >= 400),
            _ => false,
        });
    }
    let lower = text.to_ascii_lowercase();
    let first_word: String = lower.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    matches!(first_word.as_str(), "error" | "exception" | "traceback" | "failed" | "failure" | "fatal")
        || lower.contains("traceback (most recent call last)")
        || (first_word.ends_with("error") && lower[first_word.len()..].starts_with(':'))
        || (first_word.ends_with("exception") && lower[first_word.len()..].starts_with(':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrase_lists_are_read_whole() {
        let p = phrases();
        let sizes = [p.decline.len(), p.hedges.len(), p.conditional.len(), p.subjects.len(), p.negations.len()];
        assert_eq!(sizes, [105, 8, 15, 31, 12]);
        let sizes = [p.pleasantries.len(), p.offer_starts.len(), p.choice_starts.len(), p.requests.len(), p.wh.len()];
        assert_eq!(sizes, [9, 18, 12, 82, 37]);
        assert_eq!([p.reasoning_asks.len(), p.reasoning_declines.len()], [14, 9]);
        assert!(p.offer_starts.contains(&"can i "), "spaces inside the quotes are kept");
        for list in [p.decline, p.requests, p.wh, p.subjects] {
            assert!(list.iter().all(|x| *x == x.to_lowercase()), "text is matched lowercased");
        }
    }
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
