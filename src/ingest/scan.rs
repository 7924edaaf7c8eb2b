//! What serde_json would read differently from Python's `json.loads`, found in a record's text before
//! it is parsed, each with the JSON path of the value:
//!
//! - **duplicate keys**: both keep the last value (in the first key's place); a warning, since the
//!   record still converts as Python would see it;
//! - **integers beyond 64 bits**: Python keeps them exact, serde_json would round them to a float and
//!   the rendered text would differ; the record is rejected;
//! - **numbers beyond the float range** (`1e400`) and the non-finite numbers Python writes (`NaN`,
//!   `Infinity`), which JSON cannot hold; the record is rejected.

use crate::diagnostic::{Code, Diagnostic};
use std::borrow::Cow;
use std::collections::HashSet;

/// What the scan found: at most one error (the record is then rejected) and any warnings.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct JsonCheck {
    pub error: Option<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
    /// The record's top-level `id` (string or number), so a rejected record can be named.
    pub id: Option<String>,
}

/// Scan a record's JSON text. Text that is not JSON at all is left for the parser to report.
pub fn check_json(text: &str) -> JsonCheck {
    let bytes = text.as_bytes();
    let mut check = JsonCheck::default();
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'{' => stack.push(Frame::Object { key: None, keys: Keys::default(), expect_key: true }),
            b'[' => stack.push(Frame::Array { index: 0 }),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Object { expect_key, .. }) => *expect_key = true,
                Some(Frame::Array { index }) => *index += 1,
                None => {}
            },
            b':' => {
                if let Some(Frame::Object { expect_key, .. }) = stack.last_mut() {
                    *expect_key = false;
                }
            }
            b'"' => {
                let end = string_end(bytes, i);
                let quoted = &text[i..end];
                let duplicate = match stack.last_mut() {
                    Some(Frame::Object { key, keys, expect_key: true }) => {
                        let name = unquote(quoted);
                        let duplicate = keys.seen_before(name.clone());
                        *key = Some(name);
                        duplicate
                    }
                    _ => {
                        if is_top_level_id(&stack) {
                            check.id = Some(unquote(quoted).into_owned());
                        }
                        false
                    }
                };
                if duplicate {
                    check.warnings.push(Diagnostic::warning(
                        Code::DuplicateKey,
                        path(&stack),
                        format!(
                            "key `{}` appears more than once; the last value is used, as Python's json does",
                            unquote(quoted)
                        ),
                    ));
                }
                i = end;
                continue;
            }
            b'-' | b'0'..=b'9' => {
                let end =
                    i + bytes[i..].iter().position(|b| !b"0123456789+-.eE".contains(b)).unwrap_or(bytes.len() - i);
                let literal = &text[i..end];
                if literal == "-" && text[end..].starts_with("Infinity") {
                    check.error = Some(non_finite(&stack, "-Infinity"));
                    return check;
                }
                if let Some(problem) = number_problem(literal, &stack) {
                    check.error = Some(problem);
                    return check;
                }
                if is_top_level_id(&stack) {
                    check.id = Some(literal.to_string());
                }
                i = end;
                continue;
            }
            b'N' | b'I' => {
                for word in ["NaN", "Infinity"] {
                    if text[i..].starts_with(word) {
                        check.error = Some(non_finite(&stack, word));
                        return check;
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    check
}

/// One open container: an object (its keys so far, and the key whose value comes next) or an array
/// (the index of the element being read).
enum Frame<'a> {
    Object { key: Option<Cow<'a, str>>, keys: Keys<'a>, expect_key: bool },
    Array { index: usize },
}

/// The keys of one object; a short list for the usual handful, a set for objects with many.
#[derive(Default)]
struct Keys<'a> {
    few: Vec<Cow<'a, str>>,
    many: HashSet<Cow<'a, str>>,
}

impl<'a> Keys<'a> {
    const FEW: usize = 16;

    fn seen_before(&mut self, key: Cow<'a, str>) -> bool {
        if self.many.is_empty() && self.few.len() < Self::FEW {
            let seen = self.few.contains(&key);
            if !seen {
                self.few.push(key);
            }
            return seen;
        }
        self.many.extend(self.few.drain(..));
        !self.many.insert(key)
    }
}

/// The JSON path of the value being read, as ingest writes paths: `turns[0].assistant_tool.arguments`.
fn path(stack: &[Frame]) -> String {
    let mut out = String::new();
    for frame in stack {
        match frame {
            Frame::Object { key: Some(key), .. } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Frame::Object { key: None, .. } => {}
            Frame::Array { index } => out.push_str(&format!("[{index}]")),
        }
    }
    out
}

fn is_top_level_id(stack: &[Frame]) -> bool {
    matches!(stack, [Frame::Object { key: Some(key), expect_key: false, .. }] if key == "id")
}

/// The byte just past the string that starts (with its quote) at `start`.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// A quoted JSON string's value; escapes are decoded only when there are any.
fn unquote(quoted: &str) -> Cow<'_, str> {
    let inner = quoted.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(quoted);
    if !inner.contains('\\') {
        return Cow::Borrowed(inner);
    }
    serde_json::from_str::<String>(quoted).map(Cow::Owned).unwrap_or(Cow::Borrowed(inner))
}

fn number_problem(literal: &str, stack: &[Frame]) -> Option<Diagnostic> {
    let digits = literal.strip_prefix('-').unwrap_or(literal);
    let integer = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    if integer {
        if literal.parse::<i64>().is_ok() || literal.parse::<u64>().is_ok() {
            return None;
        }
        return Some(Diagnostic::error(
            Code::NumberOutOfRange,
            path(stack),
            format!(
                "integer {} does not fit in 64 bits: it would be rounded, while Python keeps it exact",
                abbreviated(literal)
            ),
        ));
    }
    match literal.parse::<f64>() {
        Ok(x) if x.is_infinite() => Some(Diagnostic::error(
            Code::NumberOutOfRange,
            path(stack),
            format!(
                "{} is beyond the range of a 64-bit float (Python reads it as inf, which JSON cannot hold)",
                abbreviated(literal)
            ),
        )),
        _ => None,
    }
}

fn non_finite(stack: &[Frame], word: &str) -> Diagnostic {
    Diagnostic::error(
        Code::NonFiniteNumber,
        path(stack),
        format!("{word} is not JSON (Python's json.dumps writes it unless allow_nan=False)"),
    )
}

fn abbreviated(literal: &str) -> Cow<'_, str> {
    if literal.len() <= 40 {
        return Cow::Borrowed(literal);
    }
    Cow::Owned(format!("{}… ({} digits)", &literal[..20], literal.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_warn_with_their_path() {
        let c = check_json(r#"{"id": "a", "turns": [{"user": "x", "user": "y"}], "x": {"k": 1, "\u006b": 2}}"#);
        assert_eq!(c.error, None);
        let got: Vec<_> = c.warnings.iter().map(|w| (w.code.as_str(), w.path.as_str())).collect();
        assert_eq!(got, [("duplicate_key", "turns[0].user"), ("duplicate_key", "x.k")]);
        assert_eq!(c.id.as_deref(), Some("a"));
    }

    #[test]
    fn many_keys_use_a_set_and_still_find_duplicates() {
        let keys: Vec<String> = (0..40).map(|k| format!("\"k{k}\": {k}")).collect();
        let text = format!("{{{}, \"k3\": 0}}", keys.join(", "));
        let c = check_json(&text);
        assert_eq!(c.warnings.len(), 1);
        assert_eq!(c.warnings[0].path, "k3");
    }

    #[test]
    fn big_integers_and_non_finite_numbers_are_errors_with_paths() {
        let c = check_json(r#"{"id": 7, "messages": [{"content": "NaN"}, {"n": 123456789012345678901234567890}]}"#);
        let e = c.error.unwrap();
        assert_eq!((e.code.as_str(), e.path.as_str()), ("number_out_of_range", "messages[1].n"));
        assert_eq!(c.id.as_deref(), Some("7"));
        let e = check_json(r#"{"a": [1, 2, NaN]}"#).error.unwrap();
        assert_eq!((e.code.as_str(), e.path.as_str()), ("non_finite_number", "a[2]"));
        let e = check_json(r#"{"a": {"b": -Infinity}}"#).error.unwrap();
        assert_eq!((e.code.as_str(), e.path.as_str()), ("non_finite_number", "a.b"));
        let e = check_json(r#"{"a": 1e400}"#).error.unwrap();
        assert_eq!(e.code.as_str(), "number_out_of_range");
    }

    #[test]
    fn ordinary_numbers_and_strings_pass() {
        let c =
            check_json(r#"{"a": [-9223372036854775808, 18446744073709551615, 1e-400, 1.5e300, -0.0], "s": "a\"}{[,"}"#);
        assert_eq!(c, JsonCheck::default());
    }
}
