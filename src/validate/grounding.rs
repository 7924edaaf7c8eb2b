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
use crate::conversation::{Conversation, Role};
use crate::diagnostic::{Code, Diagnostic};
use crate::text::numbers::{iso_date_forms, same_value, values};
use crate::text::salient::Salient;
use crate::text::{cjk_bigrams, content_words, has_cjk, stem, words};

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
        self.numbers.extend(values(text));
        self.numbers.extend(number_words(&lower));
    }

    fn has_number(&self, x: f64) -> bool {
        // 4.5 (%) given as 0.045, or the other way round; a sign lost to a dash ("ORD-1002").
        self.numbers
            .iter()
            .any(|&n| same_value(n.abs(), x.abs()) || same_value(n, x * 100.0) || same_value(n * 100.0, x))
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
        if let Some(forms) = iso_date_forms(value) {
            return forms.iter().any(|f| self.lower.contains(f.as_str()));
        }
        let digits = value.chars().any(|c| c.is_ascii_digit());
        // CJK dates and clock times ("2022年3月15日 10:00:00", "11:00") are written many ways: every
        // number in them (but zeros) must have been seen.
        if digits && (has_cjk(value) || is_clock_time(value)) {
            let found = values(value).iter().filter(|&&n| n != 0.0).all(|&n| self.has_number(n));
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

/// `ungrounded_argument` for every string or number argument of every call.
pub(super) fn arguments(conversation: &Conversation, tools: &ToolSet, paths: &Paths, out: &mut Vec<Diagnostic>) {
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
                                Diagnostic::warning(
                                    Code::UngroundedArgument,
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

/// `unused_result` for every turn whose final answer follows tool results.
pub(super) fn results(conversation: &Conversation, out: &mut Vec<Diagnostic>) {
    let messages = &conversation.messages;
    for turn in conversation.user_turns() {
        let Some(last_tool) = messages[turn.clone()].iter().rposition(|m| m.role == Role::Tool) else { continue };
        let Some(answer) = (turn.start + last_tool..turn.end).rev().find(|&i| {
            messages[i].role == Role::Assistant
                && messages[i].tool_calls.is_empty()
                && !messages[i].content.trim().is_empty()
        }) else {
            continue;
        };
        let salient = Salient::before_answer(messages, turn.start, answer);
        if salient.used_by(&messages[answer].content) {
            continue;
        }
        out.push(Diagnostic::warning(
            Code::UnusedResult,
            &messages[answer].origin,
            format!(
                "the answer shares no value with this turn's tool results (which hold e.g. {}): it may ignore them",
                salient.examples(3).join(", ")
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
}
