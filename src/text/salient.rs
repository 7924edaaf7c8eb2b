//! Grounding of answers: does a final answer use what its tool results returned?
//!
//! One rule for `validate`'s `unused_result` warning, `eval`'s grounding metric and the `score`
//! reward built on it, and `pairs`' `ignores_result` rejected answers (which must fail it):
//!
//! - The salient values of a result are its numbers, its dates and times, its short string values
//!   when they say more than a status word (`T-4410`, `Thursday`, `showers`, not `ok` or
//!   `success`), and the content words of its longer texts. Results that report an error are
//!   skipped when the turn has others (the answer is about the retry that worked); when every
//!   result failed they count: an answer after a failure says what failed ("unsupported currency:
//!   BTC"), and one that answers as if the call had worked is the defect to catch.
//! - Values the user already said are dropped: repeating the city the user asked about proves
//!   nothing about the result. (Only the user's words: a long policy prompt mentions many values a
//!   result may hold, and a confirmation that repeats its call's arguments, "NS43RC now has 3
//!   bags", is how a write is reported. Both, dropped, made `unused_result` warn on 24 of the 36
//!   long tau-airline records instead of 6.) A value inside an identifier the user gave (`mia` in
//!   `mia_smith_5326`) was not said.
//! - An answer uses the results when it repeats one remaining value: a number that
//!   [says](super::numbers::Number::says) it (rounded to the digits written), a date or time as
//!   written (an ISO date also as "December 3", "3 Dec", "12/03"), a string value (any case; CJK by
//!   character pairs; a longer one by one of its own content words), or a content word.
//! - Results with no salient value left ground any answer: there was nothing to use.

use std::collections::HashSet;

use serde_json::Value;

use super::numbers::{iso_date_forms, numbers, numbers_and_literals, same_value};
use super::{cjk_bigrams, contains_word, content_words, has_cjk, stem, words};
use crate::conversation::{Message, Role};

/// What the tool results of a turn said that the conversation had not said before.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Salient {
    items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Number(f64),
    /// A date or a time, as written (`07:56`, `2026-12-19`).
    Literal(String),
    /// A short string value as written, lowercased, and its content words and (CJK) character
    /// pairs the user did not say.
    Phrase {
        text: String,
        lower: String,
        own: Vec<String>,
        grams: Vec<String>,
    },
    /// A content word of a longer text.
    Word(String),
}

impl Salient {
    /// The salient values of the results in `messages[turn_start..answer]` that the user's
    /// messages before `answer` did not hold.
    pub fn before_answer(messages: &[Message], turn_start: usize, answer: usize) -> Salient {
        let results: Vec<&str> = messages[turn_start.min(answer)..answer]
            .iter()
            .filter(|m| m.role == Role::Tool)
            .map(|m| m.content.as_str())
            .collect();
        let mut said = String::new();
        for m in messages[..answer].iter().filter(|m| m.role == Role::User) {
            said.push_str(&m.content);
            said.push('\n');
        }
        Salient::of(&results, &said)
    }

    /// The salient values of `results` (tool result texts) that `known` (what the user said) does
    /// not hold.
    pub fn of(results: &[&str], known: &str) -> Salient {
        // Each result parsed once, for the failure test and for its values.
        let parsed: Vec<(&str, Option<Value>)> =
            results.iter().map(|r| (r.trim(), serde_json::from_str(r.trim()).ok())).collect();
        let failed: Vec<bool> = parsed.iter().map(|(text, value)| reports_failure(text, value.as_ref())).collect();
        // After a failed call that was retried, the answer is about the retry's result.
        let skip_failed = failed.contains(&false);
        let mut items = Vec::new();
        for ((text, value), failed) in parsed.iter().zip(failed) {
            match value {
                _ if skip_failed && failed => {}
                Some(value @ (Value::Object(_) | Value::Array(_))) => from_json(value, &mut items),
                _ => from_text(text, &mut items),
            }
        }
        let known_lower = known.to_lowercase();
        let (known_numbers, known_literals) = numbers_and_literals(known);
        let known_numbers: Vec<f64> = known_numbers.iter().filter(|n| !n.in_literal).map(|n| n.value).collect();
        // Split as identifiers: `mia_smith_5326` is one word the user gave, not "mia" and "smith".
        let known_words: HashSet<String> = known_lower
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .map(|w| stem(w).to_string())
            .collect();
        // CJK is written without spaces: said inside a longer run is said.
        let said = |text: &str| match has_cjk(text) {
            true => known_lower.contains(text),
            false => contains_word(&known_lower, text),
        };
        let mut kept: Vec<Item> = Vec::new();
        let mut seen = HashSet::new();
        for item in items {
            // The same value said twice by the results is one value (and judged once).
            if !seen.insert(item.key()) {
                continue;
            }
            let item = match item {
                Item::Number(x) if known_numbers.iter().any(|&k| same_value(k, x)) => continue,
                Item::Literal(l) if known_literals.contains(&l) => continue,
                Item::Phrase { lower, .. } if said(&lower) => continue,
                Item::Phrase { text, lower, .. } => {
                    let own = content_words(&lower, 3)
                        .into_iter()
                        .filter(|w| !(known_words.contains(stem(w)) || has_cjk(w) && said(w)))
                        .collect();
                    let grams = cjk_bigrams(&lower).into_iter().filter(|g| !said(g)).collect();
                    Item::Phrase { text, lower, own, grams }
                }
                Item::Word(w) if known_words.contains(stem(&w)) || (has_cjk(&w) && said(&w)) => continue,
                other => other,
            };
            kept.push(item);
        }
        Salient { items: kept }
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether `answer` repeats at least one value (always true when there is none to use).
    pub fn used_by(&self, answer: &str) -> bool {
        if self.is_empty() {
            return true;
        }
        let lower = answer.to_lowercase();
        let answer_words: HashSet<String> = words(answer).iter().map(|w| stem(w).to_string()).collect();
        let answer_numbers: Vec<_> = numbers(answer).into_iter().filter(|n| !n.in_literal).collect();
        self.items.iter().any(|item| match item {
            Item::Number(x) => answer_numbers.iter().any(|n| n.says(*x)),
            Item::Literal(l) => {
                lower.contains(l.as_str())
                    || iso_date_forms(l).is_some_and(|forms| forms.iter().any(|f| lower.contains(f.as_str())))
                    || without_seconds(l).is_some_and(|t| lower.contains(t))
            }
            Item::Phrase { lower: p, own, grams, .. } => {
                lower.contains(p.as_str())
                    || grams.iter().any(|g| lower.contains(g.as_str()))
                    || own.iter().any(|w| answer_words.contains(stem(w)))
            }
            Item::Word(w) => answer_words.contains(stem(w)),
        })
    }

    /// Up to `n` of the values, as a warning quotes them (`1180`, `` `T-4410` ``).
    pub fn examples(&self, n: usize) -> Vec<String> {
        let show = |item: &Item| match item {
            Item::Number(x) => format!("{x}"),
            Item::Literal(s) | Item::Phrase { text: s, .. } | Item::Word(s) => format!("`{s}`"),
        };
        self.items.iter().take(n).map(show).collect()
    }
}

/// `10:00` of `10:00:00`: a time is said without its seconds.
fn without_seconds(literal: &str) -> Option<&str> {
    let parts: Vec<&str> = literal.split(':').collect();
    (parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())))
        .then(|| &literal[..literal.rfind(':').unwrap_or(literal.len())])
}

impl Item {
    /// What makes two values the same value, for deduplication.
    fn key(&self) -> (u8, u64, String) {
        match self {
            Item::Number(x) => (0, x.to_bits(), String::new()),
            Item::Literal(l) => (1, 0, l.clone()),
            Item::Phrase { lower, .. } => (2, 0, lower.clone()),
            Item::Word(w) => (3, 0, w.clone()),
        }
    }
}

fn from_json(value: &Value, out: &mut Vec<Item>) {
    match value {
        Value::Object(map) => map.values().for_each(|v| from_json(v, out)),
        Value::Array(items) => items.iter().for_each(|v| from_json(v, out)),
        Value::Number(n) => out.extend(n.as_f64().map(Item::Number)),
        Value::String(s) => from_text(s, out),
        Value::Bool(_) | Value::Null => {}
    }
}

fn from_text(text: &str, out: &mut Vec<Item>) {
    let text = text.trim();
    let (numbers, literals) = numbers_and_literals(text);
    out.extend(numbers.iter().filter(|n| !n.in_literal).map(|n| Item::Number(n.value)));
    out.extend(literals.into_iter().map(Item::Literal));
    let word_count = words(text).len();
    if word_count >= 5 {
        out.extend(content_words(text, 4).into_iter().map(Item::Word));
        return;
    }
    // A short string is salient when it says more than a status word (`ok`, `success`, `true`):
    // a capital, a digit, non-ASCII letters, several words or one content word (`showers`). A
    // bare number or date is read above.
    let notable = text.chars().any(|c| c.is_uppercase() || c.is_ascii_digit() || !c.is_ascii())
        || word_count >= 2
        || !content_words(text, 3).is_empty();
    if notable && text.chars().any(char::is_alphabetic) {
        out.push(Item::Phrase {
            text: text.to_string(),
            lower: text.to_lowercase(),
            own: Vec::new(),
            grams: Vec::new(),
        });
    }
}

/// Whether a tool result reports a failure: an `error` field, a failed status, `success: false`,
/// or text that starts like an error or a traceback.
pub fn is_error_result(content: &str) -> bool {
    let text = content.trim();
    reports_failure(text, serde_json::from_str(text).ok().as_ref())
}

/// [`is_error_result`] of a trimmed result and its JSON value, when it is JSON.
fn reports_failure(text: &str, parsed: Option<&Value>) -> bool {
    if let Some(Value::Object(map)) = parsed {
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
    fn answers_must_use_a_value_the_user_did_not_give() {
        let results = [r#"{"city": "Lyon", "temp_c": 18.4, "conditions": "light rain"}"#];
        let s = Salient::of(&results, "What's the weather in Lyon?");
        assert!(s.used_by("Lyon: 18.4°C and light rain."));
        assert!(s.used_by("About 18°C in Lyon."), "rounded to the answer's digits");
        assert!(!s.used_by("About 19°C in Lyon."), "18.4 does not round to 19");
        assert!(s.used_by("Expect LIGHT RAIN."));
        assert!(!s.used_by("The weather in Lyon looks fine."), "Lyon came from the user");
    }

    #[test]
    fn numbers_dates_and_plain_text_results() {
        let s = Salient::of(&["TGV 6611 leaves at 07:56, 1,234.50 EUR"], "Paris to Lyon");
        assert!(s.used_by("It costs 1234.5 euros."));
        assert!(s.used_by("Departure 07:56."));
        assert!(!s.used_by("Departure at 8."));
        assert!(Salient::of(&["ok"], "").used_by("Done."), "nothing to use");
        let date = Salient::of(&[r#"{"date": "2026-12-03"}"#], "");
        assert!(date.used_by("It is on December 3.") && !date.used_by("It is on day 3."));
    }

    #[test]
    fn status_words_are_not_values_but_errors_are() {
        let s = Salient::of(&[r#"{"status": "success", "ok": "true", "id": "T-4410", "eta": "Thursday"}"#], "");
        assert_eq!(s.examples(5), ["4410", "`T-4410`", "`Thursday`"]);
        let failed = Salient::of(&[r#"{"error": "unsupported currency: BTC"}"#], "Convert 100 bitcoin");
        assert!(
            failed.used_by("It returned \"unsupported currency: BTC\".") && !failed.used_by("That is 6,500,000 USD.")
        );
        let retried = Salient::of(&["ValueError: x not in list", r#"["Alpha", "Beta"]"#], "alpha, beta, gamma");
        assert!(retried.is_empty(), "the retry's values were all given; the error is not what to use");
    }

    #[test]
    fn cjk_the_user_wrote_is_not_a_value_of_the_result() {
        let s = Salient::of(&[r#"{"city": "上海市", "forecast": "雷阵雨"}"#], "上海市明天天气怎么样？");
        assert!(!s.used_by("上海市明天天气很好"), "only the user's words repeated");
        assert!(s.used_by("上海市明天有雷阵雨"));
    }

    #[test]
    fn ranges_and_times_as_people_write_them() {
        let range = Salient::of(&[r#"{"low_c": 10, "high_c": 12}"#], "");
        assert!(range.used_by("Tomorrow: 10-12°C."));
        let days = Salient::of(&[r#"{"min_days": 3, "max_days": 5}"#], "");
        assert!(days.used_by("It takes 3-5 days."));
        let hours = Salient::of(&[r#"{"open": "10:00-12:00", "departs": "10:00:00"}"#], "");
        assert!(hours.used_by("Open 10:00 to 12:00.") && hours.used_by("It leaves at 10:00."));
        assert!(!hours.used_by("It leaves at 11:00."));
    }

    #[test]
    fn a_long_listing_is_read_whole() {
        // 60,000 values: deduplicating them pairwise took minutes here; a set takes a moment.
        let listing: String =
            (0..20_000).map(|i| format!("Item {i} at 2026-01-{:02} costs {i}.5 EUR\n", i % 28 + 1)).collect();
        let s = Salient::of(&[listing.as_str()], "");
        assert!(!s.is_empty() && s.used_by("Item 19999 costs 19999.5 EUR"));
    }

    #[test]
    fn a_phrase_is_used_through_its_own_words() {
        let s = Salient::of(&[r#"{"hotel": "Hotel Lumière Lyon"}"#], "a hotel in Lyon");
        assert!(s.used_by("The Lumière has rooms."));
        assert!(!s.used_by("There is a hotel in Lyon."), "hotel and Lyon came from the user");
    }

    #[test]
    fn errors_are_recognised() {
        assert!(is_error_result(r#"{"error": "not found"}"#) && is_error_result("Traceback (most recent call last):"));
        assert!(is_error_result(r#"{"status": 404}"#) && !is_error_result(r#"{"status": "ok", "error": null}"#));
    }
}
