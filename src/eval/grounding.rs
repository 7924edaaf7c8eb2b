//! Grounding: does an answer use what the tools returned?
//!
//! The salient values of a tool result are its numbers, dates and times, and its string values
//! (whole strings of at least three characters; in a result that is not JSON, quoted strings and
//! capitalized words). Values the user or the calls already said (the city the user asked about,
//! the ticker in the arguments) are dropped: repeating them proves nothing about the result. An
//! answer is grounded when it contains at least one remaining value: a number equal to one of the
//! result's (or to it rounded to the answer's decimals: 23.4137 → 23.41), a date or time written
//! the same way, or a string value (case-insensitive).
//!
//! This is the same idea as `trajkit validate`'s `unused_result` warning; a result with no salient
//! values left grounds any answer (there was nothing to use).

use serde_json::Value;

/// What a turn's tool results said that the conversation had not said before.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Salient {
    numbers: Vec<f64>,
    /// Dates, times and other digit tokens that are not plain numbers (`07:56`, `2026-12-19`).
    literals: Vec<String>,
    /// Lowercased string values.
    strings: Vec<String>,
}

impl Salient {
    /// The salient values of `results` that do not occur in `known` (user, system and call text).
    pub fn of(results: &[String], known: &str) -> Salient {
        let mut s = Salient::default();
        for r in results {
            match serde_json::from_str::<Value>(r) {
                Ok(v @ (Value::Object(_) | Value::Array(_))) => s.add_json(&v),
                _ => s.add_text(r),
            }
        }
        let known_lower = known.to_lowercase();
        let (known_numbers, known_literals) = numbers(known);
        s.numbers.retain(|n| !known_numbers.iter().any(|k| same_number(*k, *n)));
        s.literals.retain(|l| !known_literals.contains(l));
        s.strings.retain(|x| !known_lower.contains(x.as_str()));
        s
    }

    pub fn is_empty(&self) -> bool {
        self.numbers.is_empty() && self.literals.is_empty() && self.strings.is_empty()
    }

    /// Whether `answer` uses at least one value (always true when there is none to use).
    pub fn used_by(&self, answer: &str) -> bool {
        if self.is_empty() {
            return true;
        }
        let lower = answer.to_lowercase();
        if self.strings.iter().any(|s| lower.contains(s.as_str())) {
            return true;
        }
        let (numbers_said, literals_said) = numbers_with_decimals(answer);
        literals_said.iter().any(|l| self.literals.contains(l))
            || numbers_said.iter().any(|&(n, decimals)| self.numbers.iter().any(|&r| matches_rounded(r, n, decimals)))
    }

    fn add_json(&mut self, v: &Value) {
        match v {
            Value::Number(n) => self.numbers.extend(n.as_f64()),
            Value::String(s) => self.add_string(s),
            Value::Array(items) => items.iter().for_each(|i| self.add_json(i)),
            Value::Object(map) => map.values().for_each(|i| self.add_json(i)),
            Value::Bool(_) | Value::Null => {}
        }
    }

    fn add_string(&mut self, s: &str) {
        let (n, l) = numbers(s);
        self.numbers.extend(n);
        self.literals.extend(l);
        let t = s.trim();
        if t.chars().count() >= 3 && t.chars().any(char::is_alphabetic) {
            self.strings.push(t.to_lowercase());
        }
    }

    fn add_text(&mut self, text: &str) {
        let (n, l) = numbers(text);
        self.numbers.extend(n);
        self.literals.extend(l);
        for quoted in text.split('"').skip(1).step_by(2) {
            if quoted.trim().chars().count() >= 3 {
                self.strings.push(quoted.trim().to_lowercase());
            }
        }
        for word in text.split(|c: char| !c.is_alphanumeric()) {
            if word.chars().count() >= 3 && word.chars().next().is_some_and(char::is_uppercase) {
                self.strings.push(word.to_lowercase());
            }
        }
    }
}

fn same_number(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// `said` (written with `decimals` decimals) is `result`, or `result` rounded to those decimals.
fn matches_rounded(result: f64, said: f64, decimals: usize) -> bool {
    if same_number(result, said) {
        return true;
    }
    let scale = 10f64.powi(decimals.min(12) as i32);
    same_number((result * scale).round() / scale, said)
}

/// Numbers in free text, and digit tokens that are not plain numbers (dates, times).
fn numbers(text: &str) -> (Vec<f64>, Vec<String>) {
    let (n, l) = numbers_with_decimals(text);
    (n.into_iter().map(|(n, _)| n).collect(), l)
}

fn numbers_with_decimals(text: &str) -> (Vec<(f64, usize)>, Vec<String>) {
    let mut numbers = Vec::new();
    let mut literals = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_alphabetic() {
            // Digits inside a word (`v2`, `A320`) are part of a name, not a number.
            while i < chars.len() && chars[i].is_alphanumeric() {
                i += 1;
            }
            continue;
        }
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len()
            && (chars[i].is_ascii_digit()
                || (matches!(chars[i], '.' | ',' | ':' | '/' | '-')
                    && chars.get(i + 1).is_some_and(|c| c.is_ascii_digit())))
        {
            i += 1;
        }
        let token: String = chars[start..i].iter().collect();
        if token.contains([':', '/', '-']) {
            literals.push(token);
        } else {
            let plain = token.replace(',', "");
            let decimals = plain.split_once('.').map_or(0, |(_, d)| d.len());
            if let Ok(n) = plain.parse::<f64>() {
                numbers.push((n, decimals));
            }
        }
    }
    (numbers, literals)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_must_use_a_value_the_user_did_not_give() {
        let results = vec![r#"{"city": "Lyon", "temp_c": 18.4, "conditions": "light rain"}"#.to_string()];
        let s = Salient::of(&results, "What's the weather in Lyon?");
        assert!(s.used_by("Lyon: 18.4°C and light rain."));
        assert!(s.used_by("About 18°C in Lyon."), "rounded to the answer's decimals");
        assert!(s.used_by("Expect LIGHT RAIN."));
        assert!(!s.used_by("The weather in Lyon looks fine."), "Lyon came from the user");
    }

    #[test]
    fn numbers_dates_and_plain_text_results() {
        let s = Salient::of(&["TGV 6611 leaves at 07:56, 1,234.50 EUR".to_string()], "Paris to Lyon");
        assert!(s.used_by("It costs 1234.5 euros."));
        assert!(s.used_by("Departure 07:56."));
        assert!(!s.used_by("Departure at 8."));
        assert!(Salient::of(&["ok".into()], "").used_by("Done."), "nothing to use");
    }
}
