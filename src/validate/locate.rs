//! JSON paths into the source record (`turns[1].steps[0].assistant_tool.arguments.date`).
//!
//! Ingest records where each message and call came from; a finding often needs one step further
//! (the content of a message, the arguments of a call), and how to get there depends on the shape
//! the source used (`function.arguments` in OpenAI calls, `value` in ShareGPT), so it is looked up
//! in the record itself rather than guessed.

use serde_json::Value;

/// Paths into one parsed record.
pub(crate) struct Paths<'a> {
    record: &'a Value,
}

impl<'a> Paths<'a> {
    pub fn new(record: &'a Value) -> Self {
        Paths { record }
    }

    /// The value at `path`, when the path leads somewhere in the record.
    pub fn lookup(&self, path: &str) -> Option<&'a Value> {
        let mut at = self.record;
        for segment in segments(path)? {
            at = match segment {
                Segment::Key(k) => at.get(k.as_str())?,
                Segment::Index(i) => at.get(i)?,
            };
        }
        Some(at)
    }

    /// Where the text of the message that came from `origin` is: the origin itself when it is a
    /// string (`turns[0].user`), else its `content` or ShareGPT `value` field.
    pub fn content(&self, origin: &str) -> String {
        match self.lookup(origin) {
            Some(Value::Object(m)) if m.contains_key("content") => join_key(origin, "content"),
            Some(Value::Object(m)) if m.contains_key("value") => join_key(origin, "value"),
            _ => origin.to_string(),
        }
    }

    /// Where the arguments of the call that came from `origin` are (inside `function` for OpenAI
    /// calls). For a ShareGPT call, whose origin is a string of JSON, the path continues into it.
    pub fn arguments(&self, origin: &str) -> String {
        match self.lookup(origin) {
            Some(Value::Object(m)) if m.get("function").is_some_and(Value::is_object) => {
                join_key(&join_key(origin, "function"), "arguments")
            }
            // An ADP api_action's arguments.
            Some(Value::Object(m)) if m.contains_key("kwargs") && m.contains_key("class_") => {
                join_key(origin, "kwargs")
            }
            _ => join_key(origin, "arguments"),
        }
    }
}

enum Segment {
    Key(String),
    Index(usize),
}

/// Split `a.b[2]["odd key"]` into its steps; `None` when it is not a path this module wrote.
fn segments(path: &str) -> Option<Vec<Segment>> {
    let mut out = Vec::new();
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'.' => i += 1,
            b'[' if bytes.get(i + 1) == Some(&b'"') => {
                let rest = &path[i + 1..];
                let (key, used) = quoted_key(rest)?;
                out.push(Segment::Key(key));
                i += 1 + used + 1; // past the closing quote and bracket
            }
            b'[' => {
                let close = path[i..].find(']')? + i;
                out.push(Segment::Index(path[i + 1..close].parse().ok()?));
                i = close + 1;
            }
            _ => {
                let end = path[i..].find(['.', '[']).map_or(path.len(), |e| e + i);
                out.push(Segment::Key(path[i..end].to_string()));
                i = end;
            }
        }
    }
    Some(out)
}

/// A JSON string at the start of `text`, and how many bytes it used.
fn quoted_key(text: &str) -> Option<(String, usize)> {
    let mut de = serde_json::Deserializer::from_str(text).into_iter::<String>();
    let key = de.next()?.ok()?;
    Some((key, de.byte_offset()))
}

/// `path.key`, or `path["key"]` when the key is not a plain identifier.
pub(crate) fn join_key(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '$')
        && !key.starts_with(|c: char| c.is_ascii_digit());
    match (path.is_empty(), plain) {
        (true, true) => key.to_string(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{}]", Value::String(key.to_string())),
    }
}

/// A value as short JSON for messages.
pub(crate) fn preview(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= 60 {
        text
    } else {
        format!("{}…", text.chars().take(57).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_follow_the_source_shape() {
        let record = json!({"messages": [
            {"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": "{}"}}]},
            {"role": "user", "content": "x"}],
            "turns": [{"user": "u", "odd key": {"a b": 1}}]});
        let paths = Paths::new(&record);
        assert_eq!(paths.arguments("messages[0].tool_calls[0]"), "messages[0].tool_calls[0].function.arguments");
        assert_eq!(paths.content("messages[1]"), "messages[1].content");
        assert_eq!(paths.content("turns[0].user"), "turns[0].user");
        let odd = join_key(&join_key("turns[0]", "odd key"), "a b");
        assert_eq!(odd, r#"turns[0]["odd key"]["a b"]"#);
        assert_eq!(paths.lookup(&odd), Some(&json!(1)));
    }
}
