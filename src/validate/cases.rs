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

use super::turns;
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
    for turn in turns(conversation) {
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
    let decline =
        find_any(opening, DECLINE).filter(|_| find_any(opening, HEDGES).is_none()).or_else(|| tools_limited(opening));
    let ask = asks_for_information(&lower);
    let conditional = find_any(&lower, CONDITIONAL).filter(|at| !conditional_on_tools(&lower, at));
    let quote = |what: &str, phrase: &str| Some(format!("{}: {what} (\"{phrase}\")", answer.origin));
    match (decline, ask, conditional) {
        (Some(d), _, Some(c)) => (Behaviour::Clarify, quote("cannot go on without information", &format!("{d} … {c}"))),
        (Some(d), _, None) => (Behaviour::Decline, quote("says the tools cannot do it", d)),
        (None, Some(a), _) => (Behaviour::Clarify, quote("asks for information", &a)),
        (None, None, _) => {
            let reasoning = normalize_quotes(&reasoning);
            if let Some(r) = find_any(&reasoning, REASONING_ASKS) {
                return (Behaviour::Clarify, quote("the reasoning says information is missing", r));
            }
            if let Some(r) = find_any(&reasoning, REASONING_DECLINES).filter(|_| !says_no_tool_needed(messages)) {
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

/// The first phrase of `phrases` in `text`.
fn find_any<'p>(text: &str, phrases: &[&'p str]) -> Option<&'p str> {
    phrases.iter().copied().find(|p| text.contains(p))
}

/// The assistant says it cannot do the task.
const DECLINE: &[&str] = &[
    "i can't",
    "i cannot",
    "i can not",
    "i'm unable",
    "i am unable",
    "i'm not able",
    "i am not able",
    "i'm currently unable",
    "i am currently unable",
    "i'm currently not able",
    "i don't have the ability",
    "i don't have the capability",
    "i don't have access",
    "i do not have the ability",
    "i do not have the capability",
    "i do not have access",
    "don't have a tool",
    "don't have any tool",
    "don't have a function",
    "don't have the tools",
    "i have no way",
    "i have no access",
    "i have no ability",
    "i have no tool",
    "no tool for",
    "isn't a function",
    "is no function",
    "isn't a tool",
    "is no tool",
    "no such tool",
    "no function for",
    "no function has been provided",
    "no tool available",
    "none of my tools",
    "none of the tools",
    "none of the available",
    "none of these tools",
    "isn't something i can",
    "is not something i can",
    "aren't something i can",
    "not something i can",
    "isn't something i",
    "is not something i",
    "aren't something i",
    "isn't something my",
    "is not something my",
    "isn't among my",
    "is not among my",
    "aren't among my",
    "beyond my capabilities",
    "beyond my abilities",
    "beyond what i can",
    "outside what i can",
    "outside my capabilities",
    "outside the scope",
    "outside of my",
    "out of reach",
    "n't supported",
    "not supported",
    "n't possible",
    "not possible for me",
    "is not possible with",
    "isn't available to me",
    "is not available to me",
    "i'm afraid i can",
    "i have no printer",
    "as an ai, i don't",
    "as an ai, i can't",
    "as an ai, i cannot",
    // Spanish, French, German, Portuguese, Italian, Chinese, Japanese
    "no puedo",
    "no tengo acceso",
    "no es posible",
    "je ne peux pas",
    "je ne suis pas en mesure",
    "n'est pas possible",
    "kann ich leider nicht",
    "ich kann leider nicht",
    "ich kann nicht",
    "kann ich nicht",
    "geht leider nicht",
    "nicht möglich",
    "não consigo",
    "não posso",
    "não é possível",
    "non posso",
    "non è possibile",
    "non sono in grado",
    "我无法",
    "我不能",
    "我目前无法",
    "我现在无法",
    "我暂时无法",
    "我没有办法",
    "我没有能力",
    "无法为您",
    "无法为你",
    "无法帮您",
    "无法帮你",
    "不能为您",
    "不能帮您",
    "我做不到",
    "我目前没有",
    "不具备",
    "できません",
    "できかねます",
];

/// "I can't guarantee …" hedges an answer; it does not decline.
const HEDGES: &[&str] = &[
    "can't guarantee",
    "cannot guarantee",
    "can't be sure",
    "can't promise",
    "can't say for certain",
    "can't be certain",
    "can't know",
    "cannot know",
];

/// Inability that is about missing information, not missing tools.
const CONDITIONAL: &[&str] = &[
    "without knowing",
    "without the ",
    "without your ",
    "without a ",
    "without an ",
    "unless you",
    "until you",
    "until i know",
    "enough information",
    "sufficient information",
    "enough details",
    "before i can",
    "sin saber",
    "sans connaître",
    "ohne zu wissen",
];

/// "Can't … without a booking tool" is a decline after all.
fn conditional_on_tools(text: &str, phrase: &str) -> bool {
    text.match_indices(phrase).all(|(at, _)| {
        let after: String = text[at + phrase.len()..].chars().take(30).collect();
        ["tool", "function", "access", "ability", "capabilit", "api"].iter().any(|w| after.contains(w))
    })
}

/// Talking about its own tools in the negative: "my only tool is …", "my tools only cover …".
fn tools_limited(text: &str) -> Option<&'static str> {
    const SUBJECTS: &[&str] = &[
        "my tools",
        "my tool ",
        "my functions",
        "my current function",
        "my only tool",
        "my only function",
        "tool can only",
        "tools can only",
        "tool only",
        "tools only",
        "the available tools",
        "available tools",
        "the provided tools",
        "the tools provided",
        "the tools available",
        "the only tool",
        "the tools i have",
        "tools available to me",
        "my available tools",
        "i can only",
        "i only have",
        "is limited to",
        "are limited to",
        "solo tengo",
        "seul outil",
        "我只能",
        "我的功能",
        "我的能力",
        "我目前只能",
        "のみ対応",
        "só consigo",
    ];
    const NEGATIONS: &[&str] =
        &["only", "no ", "not", "n't", "none", "cannot", "solo", "seul", "只", "仅", "のみ", "só"];
    for sentence in text.split(['.', '!', '?', ';', '—', '\n', '。', '！', '？']) {
        if let Some(s) = SUBJECTS.iter().find(|s| sentence.contains(*s)) {
            if NEGATIONS.iter().any(|n| sentence.contains(n)) {
                return Some(s);
            }
        }
    }
    None
}

/// Pleasantries end with a question mark without asking for anything, wherever they stand.
const PLEASANTRIES: &[&str] = &[
    "can i help",
    "how can i assist",
    "what can i do for you",
    "anything else",
    "is there something else",
    "what else",
    "does that help",
    "did you know",
    "how are you",
];

/// Questions that open like this offer something ("Would you like me to …?") rather than ask for
/// what is missing; "Which city would you like me to check?" still asks, because it opens with
/// "which".
const OFFER_STARTS: &[&str] = &[
    "would you like",
    "do you want",
    "want me to",
    "shall i",
    "should i",
    "can i ",
    "may i",
    "want more",
    "want an example",
    "want to know",
    "do any of",
    "is there anything",
    "need anything",
    "¿quieres",
    "voulez-vous",
    "soll ich",
    "需要我",
    "要不要",
];

/// A yes/no question that opens like this and offers alternatives ("Is that kilograms or pounds?")
/// asks the user to choose.
const CHOICE_STARTS: &[&str] =
    &["is ", "are ", "was ", "were ", "do ", "does ", "did ", "will ", "can ", "could ", "should ", "shall "];

/// Phrases that ask for information even without a question mark.
const REQUESTS: &[&str] = &[
    "could you please provide",
    "could you provide",
    "could you tell me",
    "could you give me",
    "could you share",
    "could you specify",
    "could you confirm",
    "could you clarify",
    "could you paste",
    "could you type",
    "could you let me know",
    "could you double-check",
    "can you provide",
    "can you tell me",
    "can you give me",
    "can you share",
    "can you specify",
    "can you confirm",
    "can you clarify",
    "would you mind telling",
    "would you mind sharing",
    "please provide",
    "please tell me",
    "please give me",
    "please share",
    "please specify",
    "please confirm",
    "please paste",
    "please type",
    "please send me",
    "please let me know",
    "let me know the",
    "let me know your",
    "let me know what",
    "let me know which",
    "tell me whether",
    "tell me if",
    "give me the",
    "give me your",
    "i'm missing",
    "i am missing",
    "tell me the",
    "tell me your",
    "tell me what",
    "tell me which",
    "tell me where",
    "tell me when",
    "i need to know",
    "i'll need",
    "i will need",
    "i would need",
    "i'd need",
    "i need the",
    "i need your",
    "i need a ",
    "i need at least",
    "i need two",
    "i need three",
    "i need four",
    "i need a few",
    "i need the following",
    "i need some",
    "i need more",
    "need a few details",
    "need more information",
    "need more details",
    "need some more",
    "do you mean",
    "did you mean",
    // Spanish, French, German, Portuguese, Italian, Chinese, Japanese
    "necesito saber",
    "necesito que",
    "j'ai besoin de",
    "pourriez-vous",
    "pouvez-vous me",
    "ich brauche",
    "preciso de",
    "preciso saber",
    "请提供",
    "请告诉",
    "请问",
    "教えてください",
    "教えて",
];

/// Question words: a question holding one asks for something.
const WH: &[&str] = &[
    "which",
    "what",
    "where",
    "when",
    "who",
    "whose",
    "how much",
    "how many",
    "how long",
    "how tall",
    "what time",
    "any particular",
    "any specific",
    "any preference",
    // Spanish, French, German, Portuguese, Italian
    "qué",
    "cuál",
    "dónde",
    "cuándo",
    "quién",
    "cuánto",
    "quel",
    "quelle",
    "où",
    "quand",
    "combien",
    "welche",
    "welcher",
    "welches",
    "wann",
    "wo ",
    "wie viel",
    "qual",
    "onde",
    "quando",
    "quanto",
    "quale",
    "dove",
];

/// A question for missing information, as the matched phrase.
fn asks_for_information(text: &str) -> Option<String> {
    if let Some(r) = find_any(text, REQUESTS) {
        return Some(r.to_string());
    }
    for (sentence, clause) in questions(text) {
        if find_any(&sentence, PLEASANTRIES).is_some() || OFFER_STARTS.iter().any(|o| clause.starts_with(o)) {
            continue;
        }
        if let Some(w) = WH.iter().find(|w| contains_word(&sentence, w)) {
            return Some(format!("{w} …?"));
        }
        if CHOICE_STARTS.iter().any(|v| clause.starts_with(v)) && contains_word(&clause, "or") {
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

const REASONING_ASKS: &[&str] = &[
    "ask the user",
    "ask for the",
    "ask them",
    "need to ask",
    "should ask",
    "is missing",
    "are missing",
    "but missing",
    "not provided",
    "didn't provide",
    "did not provide",
    "didn't specify",
    "did not specify",
    "no city given",
];

const REASONING_DECLINES: &[&str] = &[
    "no tool",
    "none of the tools",
    "none of these",
    "no function",
    "don't have a tool",
    "cannot be done with",
    "not among the tools",
    "tools don't",
    "tools do not",
];

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
