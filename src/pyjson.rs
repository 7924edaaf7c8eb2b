//! Python's `json.dumps`, byte for byte.
//!
//! Chat templates serialize tool schemas and arguments with `tojson`, which transformers defines as
//! `json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)`. Its output
//! differs from serde_json's (`", "` and `": "` separators, Python float repr such as `1e-07`),
//! and every byte of it becomes tokens the model trains on (TRAPS 12).

use serde_json::Value;

/// The knobs of `json.dumps` that templates use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpOptions {
    pub ensure_ascii: bool,
    pub indent: Option<String>,
    pub item_separator: String,
    pub key_separator: String,
    pub sort_keys: bool,
}

impl Default for DumpOptions {
    fn default() -> Self {
        DumpOptions {
            ensure_ascii: false,
            indent: None,
            item_separator: ", ".into(),
            key_separator: ": ".into(),
            sort_keys: false,
        }
    }
}

impl DumpOptions {
    /// Python's rule: with an indent, the default item separator loses its trailing space.
    pub fn with_indent(mut self, indent: Option<String>) -> Self {
        if indent.is_some() && self.item_separator == ", " {
            self.item_separator = ",".into();
        }
        self.indent = indent;
        self
    }
}

/// `json.dumps(value, ensure_ascii=False)`.
pub fn dumps(value: &Value) -> String {
    dumps_with(value, &DumpOptions::default())
}

pub fn dumps_with(value: &Value, options: &DumpOptions) -> String {
    let mut out = String::new();
    write_value(&mut out, value, options, 0);
    out
}

fn write_value(out: &mut String, value: &Value, o: &DumpOptions, depth: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.push_str(&i.to_string());
            } else if let Some(u) = n.as_u64() {
                out.push_str(&u.to_string());
            } else {
                out.push_str(&float_repr(n.as_f64().unwrap_or(f64::NAN)));
            }
        }
        Value::String(s) => write_string(out, s, o.ensure_ascii),
        Value::Array(items) => {
            write_list(out, o, depth, items.iter(), |out, item| {
                write_value(out, item, o, depth + 1);
                Some(())
            });
        }
        Value::Object(map) => {
            let entries = map.iter().map(|(k, v)| (k.as_str(), v)).collect();
            write_map(out, o, depth, entries, |out, v| {
                write_value(out, v, o, depth + 1);
                Some(())
            });
        }
    }
}

/// [`dumps_with`] of `serde_json::to_value(value)` for a minijinja value, written directly, for the
/// values templates pass to `tojson` (numbers, strings, booleans, none, and lists and maps built from
/// them); `None` for anything else (the caller then goes through serde_json).
pub fn dumps_template_value(value: &minijinja::Value, options: &DumpOptions) -> Option<String> {
    let mut out = String::new();
    write_template_value(&mut out, value, options, 0)?;
    Some(out)
}

fn write_template_value(out: &mut String, value: &minijinja::Value, o: &DumpOptions, depth: usize) -> Option<()> {
    use minijinja::value::ValueKind;
    match value.kind() {
        ValueKind::None | ValueKind::Undefined => out.push_str("null"),
        ValueKind::Bool => out.push_str(if value.is_true() { "true" } else { "false" }),
        ValueKind::Number if value.is_integer() => match i64::try_from(value.clone()) {
            Ok(i) => out.push_str(&i.to_string()),
            Err(_) => out.push_str(&u64::try_from(value.clone()).ok()?.to_string()),
        },
        ValueKind::Number => {
            let f = f64::try_from(value.clone()).ok()?;
            // serde_json turns a non-finite float into null.
            match f.is_finite() {
                true => out.push_str(&float_repr(f)),
                false => out.push_str("null"),
            }
        }
        ValueKind::String => write_string(out, value.as_str()?, o.ensure_ascii),
        ValueKind::Seq => {
            let items = value.downcast_object_ref::<Vec<minijinja::Value>>()?;
            write_list(out, o, depth, items.iter(), |out, item| write_template_value(out, item, o, depth + 1))?;
        }
        ValueKind::Map => {
            let map = value.downcast_object_ref::<indexmap::IndexMap<minijinja::Value, minijinja::Value>>()?;
            let entries = map.iter().map(|(k, v)| Some((k.as_str()?, v))).collect::<Option<_>>()?;
            write_map(out, o, depth, entries, |out, v| write_template_value(out, v, o, depth + 1))?;
        }
        _ => return None,
    }
    Some(())
}

/// `[…]` with Python's separators and indentation; `write_item` writes one item at `depth + 1`.
fn write_list<T>(
    out: &mut String,
    o: &DumpOptions,
    depth: usize,
    items: impl ExactSizeIterator<Item = T>,
    write_item: impl FnMut(&mut String, T) -> Option<()>,
) -> Option<()> {
    write_container(out, o, depth, ['[', ']'], items, write_item)
}

/// `{…}` of `entries` (sorted by key under `sort_keys`); `write_value` writes one value.
fn write_map<V>(
    out: &mut String,
    o: &DumpOptions,
    depth: usize,
    mut entries: Vec<(&str, V)>,
    mut write_value: impl FnMut(&mut String, V) -> Option<()>,
) -> Option<()> {
    if o.sort_keys {
        entries.sort_by(|a, b| a.0.cmp(b.0));
    }
    write_container(out, o, depth, ['{', '}'], entries.into_iter(), |out, (k, v)| {
        write_string(out, k, o.ensure_ascii);
        out.push_str(&o.key_separator);
        write_value(out, v)
    })
}

fn write_container<T>(
    out: &mut String,
    o: &DumpOptions,
    depth: usize,
    [open, close]: [char; 2],
    items: impl ExactSizeIterator<Item = T>,
    mut write_item: impl FnMut(&mut String, T) -> Option<()>,
) -> Option<()> {
    out.push(open);
    let empty = items.len() == 0;
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push_str(&o.item_separator);
        }
        newline_indent(out, o, depth + 1);
        write_item(out, item)?;
    }
    if !empty {
        newline_indent(out, o, depth);
    }
    out.push(close);
    Some(())
}

fn newline_indent(out: &mut String, o: &DumpOptions, depth: usize) {
    if let Some(indent) = &o.indent {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(indent);
        }
    }
}

fn write_string(out: &mut String, s: &str, ensure_ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if ensure_ascii && !c.is_ascii() => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{:04x}", unit));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Python's `repr(float)` as `json.dumps` writes it: shortest round-trip digits, positional
/// notation when the decimal exponent is in (-4, 16], else `d.ddde±XX`; `.0` on whole numbers.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    let sci = format!("{f:e}");
    let (mantissa, exponent) = sci.split_once('e').expect("LowerExp always writes an exponent");
    let exponent: i32 = exponent.parse().expect("exponent is an integer");
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let decpt = exponent + 1;
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if -4 < decpt && decpt <= 16 {
        let n = digits.len() as i32;
        if decpt <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-decpt) as usize));
            out.push_str(&digits);
        } else if decpt >= n {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', (decpt - n) as usize));
            out.push_str(".0");
        } else {
            out.push_str(&digits[..decpt as usize]);
            out.push('.');
            out.push_str(&digits[decpt as usize..]);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exponent < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exponent.abs()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_match_python_repr() {
        // Values checked against CPython 3.11 `json.dumps`.
        let cases = [
            (588.8, "588.8"),
            (100.0, "100.0"),
            (1e-7, "1e-07"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (-0.0, "-0.0"),
            (0.1 + 0.2, "0.30000000000000004"),
            (-2.5e-10, "-2.5e-10"),
            (f64::INFINITY, "Infinity"),
        ];
        for (f, want) in cases {
            assert_eq!(float_repr(f), want, "{f}");
        }
    }

    #[test]
    fn separators_order_and_escapes_match_python() {
        let v = json!({"b": [1, 2.5, "é\n\"\u{1}"], "a": {}, "c": []});
        assert_eq!(dumps(&v), r#"{"b": [1, 2.5, "é\n\"\u0001"], "a": {}, "c": []}"#);
        let o = DumpOptions { sort_keys: true, ensure_ascii: true, ..Default::default() };
        assert_eq!(dumps_with(&v, &o), r#"{"a": {}, "b": [1, 2.5, "\u00e9\n\"\u0001"], "c": []}"#);
    }

    #[test]
    fn template_values_dump_as_their_json() {
        let v = json!({"b": [1, -2, 18446744073709551615u64, 2.5, 1e-7, 100.0, "é\n\"\u{1}", true, null], "a": {}, "c": [], "d": {"z": [{}]}});
        let value = minijinja::Value::from(minijinja::value::Serde(&v));
        for options in [
            DumpOptions::default(),
            DumpOptions { sort_keys: true, ensure_ascii: true, ..Default::default() },
            DumpOptions::default().with_indent(Some("  ".into())),
        ] {
            let json = serde_json::to_value(&value).unwrap();
            assert_eq!(dumps_template_value(&value, &options).unwrap(), dumps_with(&json, &options));
        }
        let direct = crate::render::context::json_value(&v);
        assert_eq!(dumps_template_value(&direct, &DumpOptions::default()).unwrap(), dumps(&v));
        assert_eq!(dumps_template_value(&minijinja::Value::from(f64::NAN), &DumpOptions::default()).unwrap(), "null");
        assert!(dumps_template_value(&minijinja::Value::from(i128::MAX), &DumpOptions::default()).is_none());
    }

    #[test]
    fn indent_uses_python_layout() {
        let v = json!({"a": [1, {"b": null}], "c": {}});
        let o = DumpOptions::default().with_indent(Some("  ".into()));
        assert_eq!(dumps_with(&v, &o), "{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ],\n  \"c\": {}\n}");
    }
}
