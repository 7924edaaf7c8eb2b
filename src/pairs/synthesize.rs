//! Preference pairs from good trajectories: the recorded assistant move is chosen, and rejected is
//! the same moment with one typical tool-use mistake, labelled with its [`Kind`].
//!
//! A decision point is an assistant message right after a user message (what to do with the
//! request) or right after tool results (what to do with them). Which kinds apply depends on what
//! the recorded move is and on the turn's case (`validate::cases`): a kind that does not apply to a
//! record is skipped with a reason. Every rejected side is checked with trajkit's own checks before
//! it is kept (`guessed_argument` must raise `ungrounded_argument`, `ignores_result` must raise
//! `unused_result`, `repeated_call` must raise `duplicate_call`, `malformed_call` must fail the
//! template's output parser), so a pair never claims a defect it does not show.
//!
//! Choices (which tool, which invented value, how a call is broken) come from a generator seeded
//! with `--seed` and the record's id, so the output does not depend on thread count or input order.

use serde_json::{Map, Value};

use super::Pair;
use crate::conversation::{Arguments, Conversation, Message, Role, ToolCall};
use crate::parse::{self, Format};
use crate::validate::cases::{self, Case};

/// The mistakes a rejected side can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// The tool was needed; rejected answers directly (a hallucinated answer).
    DirectAnswer,
    /// No tool was needed; rejected calls an offered tool with arguments from the user's text.
    UnnecessaryCall,
    /// A required argument was missing and chosen asks for it; rejected invents it.
    GuessedArgument,
    /// Only irrelevant tools were offered; rejected calls one anyway.
    ForcedIrrelevantCall,
    /// Rejected's answer contradicts the tool result (its salient values altered).
    IgnoresResult,
    /// Rejected repeats the call whose results it has just received.
    RepeatedCall,
    /// Rejected writes a tool call the template's parser cannot read.
    MalformedCall,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::DirectAnswer,
        Kind::UnnecessaryCall,
        Kind::GuessedArgument,
        Kind::ForcedIrrelevantCall,
        Kind::IgnoresResult,
        Kind::RepeatedCall,
        Kind::MalformedCall,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::DirectAnswer => "direct_answer",
            Kind::UnnecessaryCall => "unnecessary_call",
            Kind::GuessedArgument => "guessed_argument",
            Kind::ForcedIrrelevantCall => "forced_irrelevant_call",
            Kind::IgnoresResult => "ignores_result",
            Kind::RepeatedCall => "repeated_call",
            Kind::MalformedCall => "malformed_call",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// `all` or a comma-separated list of kind names.
    pub fn parse_list(spec: &str) -> Result<Vec<Kind>, String> {
        if spec.trim() == "all" {
            return Ok(Kind::ALL.to_vec());
        }
        let mut kinds = Vec::new();
        for name in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let kind = Kind::parse(name).ok_or_else(|| {
                let known: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                format!("unknown kind `{name}` (known: all, {})", known.join(", "))
            })?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        if kinds.is_empty() {
            return Err("no kinds given".into());
        }
        Ok(kinds)
    }
}

/// What to synthesize.
#[derive(Debug, Clone)]
pub struct SynthOptions {
    pub kinds: Vec<Kind>,
    /// Every user turn's decision points, not only the last turn's.
    pub per_turn: bool,
    pub seed: u64,
    pub max_per_record: Option<usize>,
    /// The output format of the template the pairs are for (how `malformed_call` writes its text).
    pub format: Format,
}

/// The pairs of one record, and the kinds that did not apply to it, with why.
#[derive(Debug, Clone, Default)]
pub struct Synthesized {
    pub pairs: Vec<Pair>,
    pub skipped: Vec<(Kind, String)>,
}

/// One moment at which the assistant acts: the messages before it and the recorded move.
struct Point<'c> {
    conversation: &'c Conversation,
    /// Index of the recorded assistant message.
    at: usize,
    /// The user turn it belongs to (index of the user message, end of the turn).
    turn: std::ops::Range<usize>,
    /// Whether it follows tool results (else it follows the user message).
    after_results: bool,
    case: Case,
}

impl Point<'_> {
    fn chosen(&self) -> &Message {
        &self.conversation.messages[self.at]
    }

    fn prompt(&self) -> Conversation {
        let mut c = self.conversation.clone();
        c.messages.truncate(self.at);
        c
    }

    /// Everything the model had seen: the text a value must come from to be grounded.
    fn context_text(&self) -> String {
        let ms = &self.conversation.messages[..self.at];
        ms.iter().filter(|m| m.role != Role::Assistant).map(|m| m.content.to_lowercase()).collect::<Vec<_>>().join("\n")
    }

    fn user_text(&self) -> &str {
        &self.conversation.messages[self.turn.start].content
    }
}

/// Derive the pairs of one trajectory.
pub fn synthesize(conversation: &Conversation, options: &SynthOptions) -> Synthesized {
    let mut out = Synthesized::default();
    let points = decision_points(conversation, options.per_turn);
    let validator = crate::validate::Validator::new(Default::default(), None).0;
    for &kind in &options.kinds {
        let mut reason: Option<String> = None;
        let mut made = 0;
        for (p, point) in points.iter().enumerate() {
            let mut rng = Rng::new(options.seed, &conversation.id, p, kind);
            match make(kind, point, options.format, &mut rng) {
                Ok(rejected) => {
                    let mut pair = Pair {
                        id: format!("{}#{}@{}", conversation.id, kind.as_str(), point.at),
                        kind: Some(kind.as_str().to_string()),
                        prompt: point.prompt(),
                        chosen: vec![point.chosen().clone()],
                        rejected: vec![rejected],
                    };
                    pair.prompt.meta = Map::new();
                    match shows_defect(kind, &pair, &validator, options.format) {
                        Ok(()) => {
                            out.pairs.push(pair);
                            made += 1;
                        }
                        Err(why) => {
                            reason.get_or_insert(why);
                        }
                    }
                }
                Err(why) => {
                    reason.get_or_insert(why.to_string());
                }
            }
        }
        if made == 0 {
            out.skipped.push((kind, reason.unwrap_or_else(|| "no assistant decision point".into())));
        }
    }
    // In input order of the decision points, then kinds.
    out.pairs.sort_by_key(|p| {
        let at: usize = p.id.rsplit('@').next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let kind = p.kind.as_deref().and_then(Kind::parse).map_or(0, |k| k as usize);
        (at, kind)
    });
    if let Some(max) = options.max_per_record {
        if out.pairs.len() > max {
            let mut rng = Rng::new(options.seed, &conversation.id, usize::MAX, Kind::DirectAnswer);
            let mut keep: Vec<usize> = (0..out.pairs.len()).collect();
            for i in (1..keep.len()).rev() {
                keep.swap(i, rng.below(i + 1));
            }
            keep.truncate(max);
            keep.sort_unstable();
            out.pairs = keep.into_iter().map(|i| out.pairs[i].clone()).collect();
        }
    }
    out
}

/// The assistant messages that follow a user message or tool results, in the last user turn (or in
/// every turn).
fn decision_points(conversation: &Conversation, per_turn: bool) -> Vec<Point<'_>> {
    let ms = &conversation.messages;
    let users: Vec<usize> = ms.iter().enumerate().filter(|(_, m)| m.role == Role::User).map(|(i, _)| i).collect();
    let mut turns: Vec<std::ops::Range<usize>> =
        users.iter().enumerate().map(|(k, &u)| u..users.get(k + 1).copied().unwrap_or(ms.len())).collect();
    turns.retain(|t| ms[t.clone()].iter().any(|m| m.role == Role::Assistant));
    if !per_turn {
        turns = turns.pop().into_iter().collect();
    }
    let mut points = Vec::new();
    for turn in turns {
        let case = turn_case(conversation, &turn);
        for i in turn.start + 1..turn.end {
            let previous = ms[i - 1].role;
            if ms[i].role == Role::Assistant && matches!(previous, Role::User | Role::Tool) {
                points.push(Point {
                    conversation,
                    at: i,
                    turn: turn.clone(),
                    after_results: previous == Role::Tool,
                    case,
                });
            }
        }
    }
    points
}

/// The case of one user turn, inferred as `stats` infers a record's (the record's `case` field names
/// the whole record, not this turn).
fn turn_case(conversation: &Conversation, turn: &std::ops::Range<usize>) -> Case {
    let mut one = Conversation { tools: conversation.tools.clone(), ..Default::default() };
    one.messages.extend(conversation.messages.iter().filter(|m| m.role == Role::System).cloned());
    one.messages.extend(conversation.messages[turn.clone()].iter().cloned());
    cases::classify(&one).inferred
}

fn make(kind: Kind, point: &Point<'_>, format: Format, rng: &mut Rng) -> Result<Message, &'static str> {
    let chosen = point.chosen();
    let calls = !chosen.tool_calls.is_empty();
    let tools = &point.conversation.tools;
    match kind {
        Kind::DirectAnswer => {
            if point.after_results || !calls {
                return Err("the recorded move is not a call right after the user's request");
            }
            if point.case != Case::ToolRequired {
                return Err("the turn is not a tool_required turn");
            }
            let answer = final_answer(point).ok_or("no final answer in the turn to imitate")?;
            let (altered, _) = alter_numbers(&answer, rng);
            Ok(assistant_text(altered))
        }
        Kind::UnnecessaryCall | Kind::ForcedIrrelevantCall => {
            if point.after_results || calls {
                return Err("the recorded move is not a direct answer to the user's request");
            }
            let fits = match kind {
                Kind::UnnecessaryCall => point.case == Case::NoTool,
                _ => matches!(point.case, Case::IrrelevantTool | Case::UnavailableTool),
            };
            if !fits {
                return Err(match kind {
                    Kind::UnnecessaryCall => "the turn is not a no_tool turn",
                    _ => "the turn is not an irrelevant_tool or unavailable_tool turn",
                });
            }
            if tools.is_empty() {
                return Err("the record offers no tools");
            }
            let tool = &tools[rng.below(tools.len())];
            let arguments = arguments_from_text(tool, point.user_text(), rng);
            Ok(call_message(tool_name(tool), arguments, chosen, rng))
        }
        Kind::GuessedArgument => {
            if point.after_results || calls {
                return Err("the recorded move is not a direct answer to the user's request");
            }
            if point.case != Case::Clarification {
                return Err("the turn is not a clarification turn");
            }
            if tools.is_empty() {
                return Err("the record offers no tools");
            }
            let later = point.conversation.messages[point.at..].iter().flat_map(|m| m.tool_calls.iter()).next();
            let tool = match later.and_then(|c| point.conversation.tool(&c.name)) {
                Some(t) => t,
                None => &tools[rng.below(tools.len())],
            };
            let arguments = guessed_arguments(tool, later, &point.context_text(), rng)?;
            Ok(call_message(tool_name(tool), arguments, chosen, rng))
        }
        Kind::IgnoresResult => {
            if !point.after_results || calls || chosen.content.trim().is_empty() {
                return Err("the recorded move is not a final answer after tool results");
            }
            let results: Vec<&str> = point.conversation.messages[point.turn.start..point.at]
                .iter()
                .filter(|m| m.role == Role::Tool)
                .map(|m| m.content.as_str())
                .collect();
            if results.iter().all(|r| cases::is_error_result(r)) {
                return Err("every tool result is an error");
            }
            let (altered, changed) = alter_numbers(&chosen.content, rng);
            let (altered, swapped) = swap_result_words(&altered, &results, rng)?;
            if !changed && !swapped {
                return Err("the answer repeats no value of the result to alter");
            }
            Ok(assistant_text(altered))
        }
        Kind::RepeatedCall => {
            if !point.after_results {
                return Err("the recorded move does not follow tool results");
            }
            let previous = point.conversation.messages[point.turn.start..point.at]
                .iter()
                .rev()
                .find(|m| m.role == Role::Assistant && !m.tool_calls.is_empty())
                .ok_or("no earlier call in the turn")?;
            let mut message = Message::new(Role::Assistant, "");
            message.tool_calls = previous
                .tool_calls
                .iter()
                .map(|c| ToolCall { id: c.id.as_ref().map(|_| rng.call_id()), origin: String::new(), ..c.clone() })
                .collect();
            Ok(message)
        }
        Kind::MalformedCall => {
            if !calls {
                return Err("the recorded move is not a call");
            }
            if format == Format::Harmony {
                return Err("harmony calls are headers, not text a message can carry");
            }
            Ok(assistant_text(malformed_text(&chosen.tool_calls, rng)))
        }
    }
}

/// Check the rejected side with trajkit's own checks; the reason when it does not show its defect.
fn shows_defect(kind: Kind, pair: &Pair, validator: &crate::validate::Validator, format: Format) -> Result<(), String> {
    let findings = super::check_side(validator, pair, super::Side::Rejected, format);
    let expected = match kind {
        Kind::GuessedArgument => "ungrounded_argument",
        Kind::IgnoresResult => "unused_result",
        Kind::RepeatedCall => "duplicate_call",
        Kind::MalformedCall => "malformed_call",
        Kind::DirectAnswer => return Ok(()),
        Kind::UnnecessaryCall | Kind::ForcedIrrelevantCall => {
            return match pair.rejected.iter().any(|m| !m.tool_calls.is_empty()) {
                true => Ok(()),
                false => Err("no call was made".into()),
            }
        }
    };
    match findings.iter().any(|f| f.code == expected) {
        true => Ok(()),
        false => Err(format!("trajkit's checks do not raise `{expected}` on the rejected side")),
    }
}

fn assistant_text(content: String) -> Message {
    Message::new(Role::Assistant, content)
}

fn call_message(name: String, arguments: Value, chosen: &Message, rng: &mut Rng) -> Message {
    let _ = chosen;
    let mut message = Message::new(Role::Assistant, "");
    let id = Some(rng.call_id());
    message.tool_calls.push(ToolCall { id, name, arguments: Arguments::Json(arguments), origin: String::new() });
    message
}

fn tool_name(tool: &Value) -> String {
    tool.pointer("/function/name").and_then(Value::as_str).unwrap_or_default().to_string()
}

fn parameters(tool: &Value) -> (Map<String, Value>, Vec<String>) {
    let params = tool.pointer("/function/parameters");
    let props = params.and_then(|p| p.get("properties")).and_then(Value::as_object).cloned().unwrap_or_default();
    let required: Vec<String> = params
        .and_then(|p| p.get("required"))
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).map(String::from).collect())
        .unwrap_or_default();
    (props, required)
}

/// The final answer of the point's turn (the last assistant message without calls).
fn final_answer(point: &Point<'_>) -> Option<String> {
    point.conversation.messages[point.turn.clone()]
        .iter()
        .rev()
        .find(|m| m.role == Role::Assistant && m.tool_calls.is_empty() && !m.content.trim().is_empty())
        .map(|m| m.content.clone())
}

/// Arguments for a call the user did not ask for, with values taken from the user's words.
fn arguments_from_text(tool: &Value, user: &str, rng: &mut Rng) -> Value {
    let (props, mut required) = parameters(tool);
    if required.is_empty() {
        required.extend(props.keys().take(1).cloned());
    }
    let phrase = salient_phrase(user);
    let number = numbers_in(user).into_iter().next();
    let mut args = Map::new();
    for name in required {
        let schema = props.get(&name).cloned().unwrap_or(Value::Null);
        let value = match enum_members(&schema) {
            Some(members) => members[rng.below(members.len())].clone(),
            None => match schema_type(&schema) {
                "integer" => Value::from(number.map_or(1, |n| n as i64).max(min_of(&schema) as i64)),
                "number" => Value::from(number.unwrap_or(1.0)),
                "boolean" => Value::Bool(true),
                "array" => Value::Array(vec![Value::String(phrase.clone())]),
                "object" => Value::Object(Map::new()),
                _ => Value::String(phrase.clone()),
            },
        };
        args.insert(name, value);
    }
    Value::Object(args)
}

/// Arguments where at least one required value is invented: values of the later real call that the
/// context already holds are kept, the others are made up (schema-valid, found nowhere before).
fn guessed_arguments(
    tool: &Value,
    later: Option<&ToolCall>,
    context: &str,
    rng: &mut Rng,
) -> Result<Value, &'static str> {
    let (props, required) = parameters(tool);
    let later_args = later.and_then(|c| c.arguments.parsed()).and_then(|v| v.as_object().cloned()).unwrap_or_default();
    let mut names = required.clone();
    names.extend(later_args.keys().filter(|k| !required.contains(k)).cloned());
    let mut args = Map::new();
    let mut invented = 0;
    for name in names {
        let schema = props.get(&name).cloned().unwrap_or(Value::Null);
        if let Some(v) = later_args.get(&name) {
            let grounded = match v {
                Value::String(s) => context.contains(&s.to_lowercase()),
                Value::Number(n) => context.contains(&n.to_string()),
                _ => true,
            };
            if grounded {
                args.insert(name, v.clone());
                continue;
            }
        }
        if let Some(members) = enum_members(&schema) {
            args.insert(name, members[rng.below(members.len())].clone());
            continue;
        }
        let real = later_args.get(&name);
        let value = invent(&name, &schema, context, real, rng);
        invented += 1;
        args.insert(name, value);
    }
    if invented == 0 {
        return Err("every argument the call needs is already in the conversation");
    }
    Ok(Value::Object(args))
}

const PLACES: &[&str] = &["Chicago", "Madrid", "Osaka", "Denver", "Lisbon", "Toronto", "Munich", "Seattle", "Dublin"];
const NAMES: &[&str] = &["Halvorsen", "Castellano", "Nakamura", "Whitfield", "Okonkwo", "Lindqvist"];

/// A schema-valid value for `name` that appears nowhere in `context` and differs from the real one.
fn invent(name: &str, schema: &Value, context: &str, real: Option<&Value>, rng: &mut Rng) -> Value {
    let fresh = |s: &str| !context.contains(&s.to_lowercase()) && real.and_then(Value::as_str) != Some(s);
    let lower = name.to_lowercase();
    let date_like = schema.get("format").and_then(Value::as_str) == Some("date") || lower.contains("date");
    match schema_type(schema) {
        "integer" | "number" => {
            let min = min_of(schema).max(1.0) as i64;
            loop {
                let n = min + 2 + rng.below(7) as i64;
                if !context.contains(&n.to_string()) && real.and_then(Value::as_i64) != Some(n) {
                    return Value::from(n);
                }
            }
        }
        "boolean" => Value::Bool(rng.below(2) == 0),
        _ if date_like => loop {
            let d = format!("2026-{:02}-{:02}", 1 + rng.below(12), 10 + rng.below(18));
            if fresh(&d) {
                return Value::String(d);
            }
        },
        _ => {
            let pool =
                if ["name", "person", "customer", "user"].iter().any(|k| lower.contains(k)) { NAMES } else { PLACES };
            for _ in 0..32 {
                let s = pool[rng.below(pool.len())];
                if fresh(s) {
                    return Value::String(s.to_string());
                }
            }
            Value::String(format!("REF-{}", 1000 + rng.below(9000)))
        }
    }
}

fn enum_members(schema: &Value) -> Option<Vec<Value>> {
    schema.get("enum").and_then(Value::as_array).filter(|m| !m.is_empty()).cloned()
}

fn schema_type(schema: &Value) -> &str {
    match schema.get("type") {
        Some(Value::String(t)) => t,
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null").unwrap_or("string"),
        _ => "string",
    }
}

fn min_of(schema: &Value) -> f64 {
    schema.get("minimum").and_then(Value::as_f64).unwrap_or(0.0)
}

/// The most specific words of a request: the longest run of capitalised words that does not open the
/// sentence, a quoted phrase, else the request without its trailing punctuation.
fn salient_phrase(text: &str) -> String {
    if let Some(start) = text.find(['\'', '"']) {
        let quote = text[start..].chars().next().unwrap();
        if let Some(len) = text[start + 1..].find(quote) {
            let inner = &text[start + 1..start + 1 + len];
            if inner.len() > 2 {
                return inner.to_string();
            }
        }
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut best: Vec<&str> = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let clean = w.trim_matches(|c: char| !c.is_alphanumeric());
        if i > 0 && clean.chars().next().is_some_and(char::is_uppercase) {
            run.push(clean);
            if run.len() > best.len() {
                best = run.clone();
            }
        } else {
            run.clear();
        }
        if w.ends_with(['.', ',', '?', '!']) {
            run.clear();
        }
    }
    if best.is_empty() {
        return text.trim().trim_end_matches(['.', '?', '!']).to_string();
    }
    best.join(" ")
}

fn numbers_in(text: &str) -> Vec<f64> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|s| s.trim_matches('.').parse::<f64>().ok())
        .collect()
}

/// Every number in `text` changed to a different one of the same shape (digits, padding, decimals).
fn alter_numbers(text: &str, rng: &mut Rng) -> (String, bool) {
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        let digits: String = chars[start..i].iter().collect();
        let n: u64 = digits.parse().unwrap_or(0);
        let width = digits.len();
        let (before, after) = (start.checked_sub(1).map(|k| chars[k]), chars.get(i).copied());
        // Clock times and days of the month stay possible: 07:56 → 11:23, 19 December → 8 December.
        let range = match (before, after) {
            (Some(':'), _) => Some(60),
            (_, Some(':')) => Some(24),
            _ if width <= 2 && (1..=31).contains(&n) => Some(28),
            _ => None,
        };
        let replacement = loop {
            if let Some(limit) = range {
                let candidate = (n + 1 + rng.below(limit as usize - 1) as u64) % limit + u64::from(limit == 28);
                if candidate != n {
                    break candidate;
                }
                continue;
            }
            let candidate = match width {
                1 => (n + 2 + rng.below(6) as u64) % 10,
                _ => {
                    let scale = 10u64.pow(width as u32 - 1);
                    let lead = (n / scale + 1 + rng.below(7) as u64) % 9 + 1;
                    lead * scale + n % scale / 3 + rng.below(scale.min(97) as usize) as u64
                }
            };
            if candidate != n {
                break candidate;
            }
        };
        let mut text = replacement.to_string();
        if digits.starts_with('0') && width > 1 {
            text = format!("{replacement:0width$}");
            text.truncate(width.max(text.len()));
        }
        changed = true;
        out.push_str(&text);
    }
    (out, changed)
}

/// Replace the words the answer shares with the results' text (substitutes that contradict them);
/// too many shared words cannot be contradicted cleanly.
fn swap_result_words(answer: &str, results: &[&str], rng: &mut Rng) -> Result<(String, bool), &'static str> {
    let mut leaves = Vec::new();
    for r in results {
        match serde_json::from_str::<Value>(r) {
            Ok(v @ (Value::Object(_) | Value::Array(_))) => string_leaves(&v, &mut leaves),
            _ => leaves.push(r.to_string()),
        }
    }
    let result_words: std::collections::HashSet<String> = leaves
        .iter()
        .flat_map(|l| l.split(|c: char| !c.is_alphanumeric()).map(str::to_lowercase).collect::<Vec<_>>())
        .filter(|w| w.chars().count() >= 3 && !w.chars().all(|c| c.is_ascii_digit()))
        .collect();
    let mut out = String::new();
    let mut swapped = 0;
    let mut rest = answer;
    while !rest.is_empty() {
        let end = rest.find(|c: char| !c.is_alphanumeric()).unwrap_or(rest.len());
        let (word, tail) = rest.split_at(end);
        if word.is_empty() {
            let c = tail.chars().next().unwrap();
            out.push(c);
            rest = &tail[c.len_utf8()..];
            continue;
        }
        let lower = word.to_lowercase();
        if result_words.contains(&lower) && !lower.chars().any(|c| c.is_ascii_digit()) {
            let substitute = match OPPOSITES.iter().find(|(a, _)| *a == lower) {
                Some((_, b)) => b.to_string(),
                // A code (ticker, currency, airport): the same shape, other letters.
                None if word.len() >= 2 && word.chars().all(|c| c.is_ascii_uppercase()) => {
                    let shift = 1 + rng.below(24) as u8;
                    word.bytes().map(|b| (b'A' + (b - b'A' + shift) % 26) as char).collect::<String>().to_lowercase()
                }
                None if word.chars().next().is_some_and(char::is_uppercase) => {
                    let pool: Vec<&&str> = PLACES.iter().filter(|p| !answer.contains(**p)).collect();
                    pool[rng.below(pool.len())].to_string()
                }
                None => return Err("the answer repeats words of the result that have no clear opposite"),
            };
            let substitute = match word.chars().next().is_some_and(char::is_uppercase) {
                true if word.chars().all(|c| !c.is_lowercase()) => substitute.to_uppercase(),
                true => capitalize(&substitute),
                false => substitute,
            };
            out.push_str(&substitute);
            swapped += 1;
        } else {
            out.push_str(word);
        }
        rest = tail;
    }
    if swapped > 4 {
        return Err("the answer repeats too much of the result to contradict it cleanly");
    }
    Ok((out, swapped > 0))
}

const OPPOSITES: &[(&str, &str)] = &[
    ("light", "bright"),
    ("heavy", "light"),
    ("rain", "sunshine"),
    ("rainy", "sunny"),
    ("sunny", "rainy"),
    ("snow", "sunshine"),
    ("cloudy", "clear"),
    ("clear", "stormy"),
    ("open", "closed"),
    ("closed", "open"),
    ("available", "unavailable"),
    ("unavailable", "available"),
    ("yes", "no"),
    ("true", "false"),
    ("false", "true"),
    ("high", "low"),
    ("low", "high"),
    ("delayed", "on time"),
    ("cancelled", "confirmed"),
    ("confirmed", "cancelled"),
    ("success", "failure"),
    ("shipped", "pending"),
    ("delivered", "lost"),
    ("pending", "delivered"),
];

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn string_leaves(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Object(m) => m.values().for_each(|v| string_leaves(v, out)),
        Value::Array(a) => a.iter().for_each(|v| string_leaves(v, out)),
        _ => {}
    }
}

/// The recorded calls as a model might botch them in Hermes layout: JSON with its closing brace
/// missing, a block never closed, or another model's wrapper.
fn malformed_text(calls: &[ToolCall], rng: &mut Rng) -> String {
    let json = |c: &ToolCall| {
        let args = match &c.arguments {
            Arguments::Json(v) => crate::render::pyjson::dumps(v),
            Arguments::Text(s) => s.clone(),
        };
        format!("{{\"name\": \"{}\", \"arguments\": {args}}}", c.name)
    };
    let first = &calls[0];
    match rng.below(3) {
        0 => {
            let mut broken = json(first);
            broken.pop(); // the closing brace
            format!("<tool_call>\n{broken}\n</tool_call>")
        }
        1 => format!("<tool_call>\n{}", json(first)),
        _ => {
            let args = match &first.arguments {
                Arguments::Json(v) => crate::render::pyjson::dumps(v),
                Arguments::Text(s) => s.clone(),
            };
            format!("<function={}>{args}</function>", first.name)
        }
    }
}

/// Whether `text` (an assistant message's content) tries to make a tool call that the format's parser
/// cannot read; the parse error when it does.
pub fn malformed_call(format: Format, text: &str) -> Option<parse::ParseError> {
    const MARKERS: &[&str] =
        &["<tool_call", "</tool_call>", "<function", "\"arguments\"", "[TOOL_CALLS]", "<|channel|>", "<|python_tag|>"];
    if !MARKERS.iter().any(|m| text.contains(m)) {
        return None;
    }
    let format = if format == Format::Harmony { Format::Hermes } else { format };
    parse::parse_text(format, text).err()
}

/// splitmix64, seeded from `--seed`, the record id, the decision point and the kind.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, id: &str, point: usize, kind: Kind) -> Rng {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in id.bytes().chain(point.to_le_bytes()).chain([kind as u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        Rng(seed ^ h)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn call_id(&mut self) -> String {
        format!("call_{:08x}", self.next() as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse() {
        assert_eq!(Kind::parse_list("all").unwrap().len(), 7);
        assert_eq!(Kind::parse_list("repeated_call, direct_answer").unwrap(), [Kind::RepeatedCall, Kind::DirectAnswer]);
        assert!(Kind::parse_list("nope").is_err());
    }

    #[test]
    fn numbers_change_shape_kept() {
        let mut rng = Rng::new(0, "x", 0, Kind::IgnoresResult);
        let (s, changed) = alter_numbers("at 07:56 for $1,180 and 13°C", &mut rng);
        assert!(changed);
        assert_ne!(s, "at 07:56 for $1,180 and 13°C");
        assert!(s.starts_with("at ") && s.contains(':') && s.ends_with("°C"), "{s}");
    }

    #[test]
    fn salient_phrases() {
        assert_eq!(salient_phrase("What is the capital of France?"), "France");
        assert_eq!(salient_phrase("Translate 'good morning' into Japanese."), "good morning");
    }

    #[test]
    fn malformed_text_fails_the_parser() {
        let call = ToolCall {
            id: None,
            name: "f".into(),
            arguments: Arguments::Json(serde_json::json!({"a": 1})),
            origin: String::new(),
        };
        for seed in 0..12 {
            let mut rng = Rng::new(seed, "x", 0, Kind::MalformedCall);
            let text = malformed_text(std::slice::from_ref(&call), &mut rng);
            assert!(malformed_call(Format::Qwen3, &text).is_some(), "{text}");
        }
    }
}
