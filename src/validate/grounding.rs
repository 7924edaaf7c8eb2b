//! Is each step backed by what the model could see?
//!
//! `ungrounded_argument`: an argument value that appears nowhere in the system prompt, the user's
//! words or an earlier tool result was made up (a guessed date, an invented id); training on it
//! teaches guessing. `unused_result`: a final answer that shares nothing with the turn's tool
//! results ignored them; training on it teaches answering past the tools. Both are warnings: they
//! are text heuristics, tuned to stay quiet on paraphrase (`San Francisco, CA` for "San Francisco",
//! `588.80` for 588.8, a date written another way).

use serde_json::Value;

use super::checks::{below, call_origin, parsed_arguments};
use super::locate::{join_key, Paths};
use super::schema::ToolSet;
use super::text::{cjk_bigrams, content_words, has_cjk, numbers, same_number, stem, words};
use super::{cases, Finding};
use crate::conversation::{Conversation, Role};

/// Everything the model had seen before a call: the text to look values up in.
#[derive(Default)]
struct Context {
    lower: String,
    /// Letters and digits only, for ids and dates written with other separators.
    squashed: String,
    words: std::collections::HashSet<String>,
    numbers: Vec<f64>,
}

impl Context {
    fn add(&mut self, text: &str) {
        let lower = text.to_lowercase();
        self.squashed.extend(lower.chars().filter(|c| c.is_alphanumeric()));
        self.squashed.push(' ');
        self.lower.push_str(&lower);
        self.lower.push('\n');
        for w in words(text) {
            self.words.insert(stem(&w).to_string());
            self.words.insert(w);
        }
        self.numbers.extend(numbers(text));
        self.numbers.extend(number_words(&lower));
    }

    fn has_number(&self, x: f64) -> bool {
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
        // 4.5 (%) given as 0.045, or the other way round; a sign lost to a dash ("ORD-1002").
        self.numbers.iter().any(|&n| close(n.abs(), x.abs()) || close(n, x * 100.0) || close(n * 100.0, x))
    }

    /// Whether a string value can be found in what was seen, allowing for case, separators,
    /// extra qualifiers and reformatted dates.
    fn has_string(&self, value: &str) -> bool {
        let value = value.trim();
        if value.chars().count() <= 2 {
            return true; // too short to judge (units, country codes, "y"/"n")
        }
        let lower = value.to_lowercase();
        if self.lower.contains(&lower) {
            return true;
        }
        let squashed: String = lower.chars().filter(|c| c.is_alphanumeric()).collect();
        if squashed.chars().count() >= 3 && self.squashed.contains(&squashed) {
            return true;
        }
        if let Some(forms) = date_forms(value) {
            return forms.iter().any(|f| self.lower.contains(f.as_str()));
        }
        let digits = value.chars().any(|c| c.is_ascii_digit());
        // CJK dates and clock times ("2022年3月15日 10:00:00", "11:00") are written many ways: every
        // number in them (but zeros) must have been seen.
        if digits && (has_cjk(value) || is_clock_time(value)) {
            let found = numbers(value).iter().filter(|&&n| n != 0.0).all(|&n| self.has_number(n));
            let grams = cjk_bigrams(value);
            return found && grams.iter().filter(|g| self.lower.contains(g.as_str())).count() * 2 >= grams.len();
        }
        if has_cjk(value) {
            let grams = cjk_bigrams(value);
            let found = grams.iter().filter(|g| self.lower.contains(g.as_str())).count();
            return !grams.is_empty() && found * 2 >= grams.len();
        }
        if let Some(names) = currency_names(value) {
            return names.iter().any(|n| self.lower.contains(n));
        }
        let salient = content_words(value, 3);
        if digits && salient.len() <= 3 {
            return false; // an id, code or date that is not there
        }
        if salient.is_empty() {
            return true;
        }
        let found = salient.iter().filter(|w| self.words.contains(w.as_str()) || self.words.contains(stem(w))).count();
        if salient.len() <= 3 {
            found == salient.len()
        } else {
            found * 5 >= salient.len() * 3
        }
    }
}

/// `10:00`, `9:30:00`.
fn is_clock_time(value: &str) -> bool {
    let parts: Vec<&str> = value.trim().split(':').collect();
    (2..=3).contains(&parts.len())
        && parts.iter().all(|p| (1..=2).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Names people use for the currencies whose ISO codes tools take ("British pounds" → `GBP`).
fn currency_names(code: &str) -> Option<&'static [&'static str]> {
    Some(match code.trim().to_ascii_uppercase().as_str() {
        "USD" => &["dollar", "us$", "$", "美元"],
        "EUR" => &["euro", "€", "欧元"],
        "GBP" => &["pound", "sterling", "£", "英镑"],
        "JPY" => &["yen", "円", "日元"],
        "CNY" | "RMB" => &["yuan", "renminbi", "人民币", "元"],
        "INR" => &["rupee", "₹", "卢比"],
        "CAD" => &["canadian dollar", "加元", "加拿大元"],
        "AUD" => &["australian dollar", "澳元"],
        "CHF" => &["swiss franc", "franc", "瑞士法郎"],
        "MXN" => &["peso", "墨西哥比索"],
        "KRW" => &["won", "韩元"],
        "RUB" => &["ruble", "rouble", "卢布"],
        "BRL" => &["real", "reais", "雷亚尔"],
        _ => return None,
    })
}

/// `one`…`twelve` as numbers, for "two tickets" → 2.
fn number_words(lower: &str) -> Vec<f64> {
    const WORDS: &[&str] =
        &["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"];
    words(lower).iter().filter_map(|w| WORDS.iter().position(|n| n == w)).map(|n| n as f64).collect()
}

/// Other ways people write an ISO date (`2026-12-03`): "december 3", "3 dec", "12/03".
fn date_forms(value: &str) -> Option<Vec<String>> {
    let parts: Vec<&str> = value.split('-').collect();
    let [y, m, d] = parts[..] else { return None };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (month, day): (usize, u32) = (m.parse().ok()?, d.parse().ok()?);
    const MONTHS: &[&str] = &[
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let name = MONTHS.get(month.checked_sub(1)?)?;
    let short = &name[..3];
    let mut forms = Vec::new();
    for n in [*name, short] {
        forms.push(format!("{n} {day}"));
        forms.push(format!("{day} {n}"));
        forms.push(format!("{day}th {n}"));
        forms.push(format!("{day}st {n}"));
        forms.push(format!("{day}nd {n}"));
        forms.push(format!("{day}rd {n}"));
    }
    forms.push(format!("{month}/{day}"));
    forms.push(format!("{day}/{month}"));
    forms.push(format!("{m}/{d}"));
    forms.push(format!("{d}/{m}"));
    forms.push(format!("{day}.{month}."));
    forms.push(format!("{d}.{m}."));
    Some(forms)
}

/// `ungrounded_argument` for every string or number argument of every call.
pub(super) fn arguments(conversation: &Conversation, tools: &ToolSet, paths: &Paths, out: &mut Vec<Finding>) {
    let mut context = Context::default();
    for (i, message) in conversation.messages.iter().enumerate() {
        match message.role {
            Role::System | Role::User | Role::Tool => context.add(&message.content),
            Role::Assistant => {
                for (j, call) in message.tool_calls.iter().enumerate() {
                    let Ok(arguments) = parsed_arguments(call) else { continue };
                    let Some(tool) = tools.get(&call.name) else { continue };
                    if tool.raw_code {
                        continue;
                    }
                    // Values the schema itself offers (enum members, defaults) are choices, not guesses.
                    let mut allowed = Vec::new();
                    collect_schema_values(&tool.parameters, &mut allowed);
                    let args_path = paths.arguments(&call_origin(call, i, j));
                    let mut leaves = Vec::new();
                    leaf_values(&arguments, String::new(), &mut leaves);
                    for (sub, value) in leaves {
                        if allowed.contains(&value) {
                            continue;
                        }
                        let grounded = match value {
                            Value::String(s) => context.has_string(s),
                            Value::Number(n) => n.as_f64().is_none_or(|x| context.has_number(x)),
                            _ => true,
                        };
                        if !grounded {
                            out.push(
                                Finding::warning(
                                    "ungrounded_argument",
                                    below(&args_path, &sub),
                                    format!(
                                        "`{}` gets {}, which appears nowhere in the system prompt, the user's messages or earlier tool results",
                                        call.name,
                                        super::locate::preview(value)
                                    ),
                                )
                                .at_step(i),
                            );
                        }
                    }
                }
            }
        }
    }
}

/// The string and number leaves of an argument value, with their paths below the arguments.
fn leaf_values<'v>(value: &'v Value, path: String, out: &mut Vec<(String, &'v Value)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                leaf_values(v, join_key(&path, k), out);
            }
        }
        Value::Array(items) => {
            for (k, v) in items.iter().enumerate() {
                leaf_values(v, format!("{path}[{k}]"), out);
            }
        }
        Value::String(_) | Value::Number(_) => out.push((path, value)),
        _ => {}
    }
}

/// Enum members, constants and defaults anywhere in a schema.
fn collect_schema_values<'s>(schema: &'s Value, out: &mut Vec<&'s Value>) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Array(members)) = map.get("enum") {
                out.extend(members.iter());
            }
            for key in ["default", "const"] {
                if let Some(v) = map.get(key) {
                    out.push(v);
                }
            }
            for v in map.values() {
                collect_schema_values(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_schema_values(v, out)),
        _ => {}
    }
}

/// What in a tool result an answer that used it would likely repeat.
#[derive(Debug, PartialEq)]
enum Salient {
    Number(f64),
    /// A short value: a name, an id, a status phrase.
    Phrase(String),
    /// A content word of a longer text.
    Word(String),
}

fn salient_values(result: &str, out: &mut Vec<Salient>) {
    match serde_json::from_str::<Value>(result) {
        Ok(value @ (Value::Object(_) | Value::Array(_))) => salient_json(&value, out),
        _ => salient_text(result, out),
    }
}

fn salient_json(value: &Value, out: &mut Vec<Salient>) {
    match value {
        Value::Object(map) => map.values().for_each(|v| salient_json(v, out)),
        Value::Array(items) => items.iter().for_each(|v| salient_json(v, out)),
        Value::Number(n) => out.extend(n.as_f64().map(Salient::Number)),
        Value::String(s) => salient_text(s, out),
        _ => {}
    }
}

fn salient_text(text: &str, out: &mut Vec<Salient>) {
    let text = text.trim();
    let word_count = words(text).len();
    out.extend(numbers(text).into_iter().map(Salient::Number));
    if word_count >= 5 {
        out.extend(content_words(text, 4).into_iter().map(Salient::Word));
        return;
    }
    // A short string is salient when it is more than a bare lowercase status word (`sent`, `ok`):
    // it has a capital, a digit, non-ASCII letters or several words.
    let notable = text.chars().any(|c| c.is_uppercase() || c.is_ascii_digit() || !c.is_ascii()) || word_count >= 2;
    if notable && !text.is_empty() {
        out.push(Salient::Phrase(text.to_string()));
    }
}

/// Whether `answer` repeats a salient value.
fn shares(
    answer: &str,
    answer_words: &std::collections::HashSet<String>,
    answer_numbers: &[f64],
    item: &Salient,
) -> bool {
    match item {
        Salient::Number(x) => answer_numbers.iter().any(|&a| same_number(a, *x)),
        Salient::Word(w) => answer_words.contains(stem(w)),
        Salient::Phrase(p) => {
            let lower = p.to_lowercase();
            if answer.contains(&lower) {
                return true;
            }
            if has_cjk(p) {
                return cjk_bigrams(p).iter().any(|g| answer.contains(g.as_str()));
            }
            let salient = content_words(p, 3);
            !salient.is_empty() && salient.iter().any(|w| answer_words.contains(stem(w)))
        }
    }
}

/// `unused_result` for every turn whose final answer follows tool results.
pub(super) fn results(conversation: &Conversation, out: &mut Vec<Finding>) {
    for turn in conversation.user_turns() {
        let messages = &conversation.messages[turn.clone()];
        let Some(last_tool) = messages.iter().rposition(|m| m.role == Role::Tool) else { continue };
        let Some(answer) = messages[last_tool..]
            .iter()
            .rev()
            .find(|m| m.role == Role::Assistant && m.tool_calls.is_empty() && !m.content.trim().is_empty())
        else {
            continue;
        };
        let results: Vec<&str> = messages.iter().filter(|m| m.role == Role::Tool).map(|m| m.content.as_str()).collect();
        if results.iter().all(|r| cases::is_error_result(r)) {
            continue; // an answer that reports a failure need not repeat the error text
        }
        let mut items = Vec::new();
        for r in results.iter().filter(|r| !cases::is_error_result(r)) {
            salient_values(r, &mut items);
        }
        if items.is_empty() {
            continue;
        }
        let lower = answer.content.to_lowercase();
        let answer_words: std::collections::HashSet<String> =
            words(&answer.content).iter().map(|w| stem(w).to_string()).collect();
        let answer_numbers = numbers(&answer.content);
        if items.iter().any(|item| shares(&lower, &answer_words, &answer_numbers, item)) {
            continue;
        }
        let examples: Vec<String> = items
            .iter()
            .take(3)
            .map(|i| match i {
                Salient::Number(x) => format!("{x}"),
                Salient::Phrase(s) | Salient::Word(s) => format!("`{s}`"),
            })
            .collect();
        out.push(Finding::warning(
            "unused_result",
            &answer.origin,
            format!(
                "the answer shares no value with this turn's tool results (which hold e.g. {}): it may ignore them",
                examples.join(", ")
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(text: &str) -> Context {
        let mut c = Context::default();
        c.add(text);
        c
    }

    #[test]
    fn strings_are_found_through_paraphrase() {
        let c = context(
            "What's the weather in San Francisco on December 3? Order ord-88231, I have chicken and bell peppers",
        );
        assert!(c.has_string("San Francisco, CA"));
        assert!(c.has_string("2026-12-03"));
        assert!(c.has_string("ORD 88231"));
        assert!(c.has_string("bell pepper"));
        assert!(!c.has_string("2026-12-04"));
        assert!(!c.has_string("HND"));
        assert!(!c.has_string("ORD-88232"));
    }

    #[test]
    fn known_rewritings_are_grounded() {
        let c = context("把5000日元换成英镑; 我需要安排在2022年3月15日10点整开会; meet at 11am");
        assert!(c.has_string("JPY") && c.has_string("GBP") && !c.has_string("USD"));
        assert!(c.has_string("2022年3月15日 10:00:00"));
        assert!(!c.has_string("2022年3月16日"));
        assert!(c.has_string("11:00"));
    }

    #[test]
    fn numbers_are_found_as_values() {
        let c = context("I'd like two tickets for $1,180 at 4.5%");
        assert!(c.has_number(2.0) && c.has_number(1180.0) && c.has_number(0.045) && c.has_number(4.5));
        assert!(!c.has_number(3.0));
    }

    #[test]
    fn salient_values_skip_status_words() {
        let mut items = Vec::new();
        salient_values(r#"{"status": "sent", "id": "T-4410", "eta": "Thursday"}"#, &mut items);
        assert_eq!(
            items,
            [Salient::Number(4410.0), Salient::Phrase("T-4410".into()), Salient::Phrase("Thursday".into())]
        );
    }
}
