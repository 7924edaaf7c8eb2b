//! What minijinja's Python compatibility (minijinja-contrib `pycompat`) leaves different from
//! transformers' jinja2, found by rendering real model templates against transformers:
//!
//! - printing a value (`{{ x }}`, `x | string`) is Python's `str()`: `1e-07` and `1e+16` for floats
//!   (minijinja writes `0.0000001`), also inside lists and dicts (`[0.5, 'a', None]`);
//! - the `iterable` and `sequence` tests answer as jinja2's do: `none` is not iterable, strings
//!   and dicts are sequences;
//! - `tojson` of an undefined value is an error (`Object of type Undefined is not JSON
//!   serializable`), so templates that refuse a conversation that way refuse it here too.
//!
//! One gap remains: `~` concatenation formats floats minijinja's way (it cannot be hooked); no
//! template in the golden set concatenates floats.

use minijinja::value::{Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Output, State};

use crate::pyjson::float_repr;

/// Install the overrides on an environment.
pub fn install(env: &mut Environment<'static>) {
    env.set_formatter(format);
    env.add_filter("string", |v: &Value| Value::from(python_str(v)));
    env.add_test("iterable", |v: &Value| is_iterable(v));
    env.add_test("sequence", |v: &Value| is_sequence(v));
}

/// jinja2's `iterable`: anything `iter()` accepts, including Undefined (it iterates as empty).
fn is_iterable(v: &Value) -> bool {
    matches!(v.kind(), ValueKind::String | ValueKind::Seq | ValueKind::Map | ValueKind::Iterable | ValueKind::Undefined)
}

/// jinja2's `sequence`: has a length and item access (strings, lists, dicts; Undefined too).
fn is_sequence(v: &Value) -> bool {
    matches!(v.kind(), ValueKind::String | ValueKind::Seq | ValueKind::Map | ValueKind::Undefined)
}

fn format(out: &mut Output, _state: &mut State, value: &Value) -> Result<(), Error> {
    let written = match value.as_str() {
        Some(s) => out.write_str(s),
        None => out.write_str(&python_str(value)),
    };
    written.map_err(|_| Error::new(ErrorKind::WriteFailure, "cannot write the rendered text"))
}

/// Python's `str(value)`.
pub fn python_str(v: &Value) -> String {
    match v.kind() {
        ValueKind::Undefined => String::new(),
        ValueKind::String => v.as_str().unwrap_or_default().to_string(),
        _ => python_repr(v),
    }
}

/// Python's `repr(value)` for what a template can hold.
fn python_repr(v: &Value) -> String {
    match v.kind() {
        ValueKind::Undefined => String::new(),
        ValueKind::None => "None".into(),
        ValueKind::Bool => if v.is_true() { "True" } else { "False" }.into(),
        ValueKind::String => repr_str(v.as_str().unwrap_or_default()),
        ValueKind::Number if !v.is_integer() => match f64::try_from(v.clone()) {
            Ok(f) if f.is_nan() => "nan".into(),
            Ok(f) if f.is_infinite() => if f > 0.0 { "inf" } else { "-inf" }.into(),
            Ok(f) => float_repr(f),
            Err(_) => v.to_string(),
        },
        ValueKind::Seq if has_float(v) => {
            let items: Vec<String> = v.try_iter().map(|it| it.map(|x| python_repr(&x)).collect()).unwrap_or_default();
            format!("[{}]", items.join(", "))
        }
        ValueKind::Map if has_float(v) => {
            let items: Vec<String> = v
                .try_iter()
                .map(|it| {
                    it.map(|k| {
                        let item = v.get_item(&k).unwrap_or_default();
                        format!("{}: {}", python_repr(&k), python_repr(&item))
                    })
                    .collect()
                })
                .unwrap_or_default();
            format!("{{{}}}", items.join(", "))
        }
        // minijinja already writes strings, lists and dicts as Python does.
        _ => v.to_string(),
    }
}

/// Python's `repr(str)`: single quotes unless the text has a `'` and no `"`.
fn repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || (0x7f..0xa0).contains(&(c as u32)) => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

fn has_float(v: &Value) -> bool {
    match v.kind() {
        ValueKind::Number => !v.is_integer(),
        ValueKind::Seq => v.try_iter().is_ok_and(|mut it| it.any(|x| has_float(&x))),
        ValueKind::Map => v.try_iter().is_ok_and(|mut it| it.any(|k| v.get_item(&k).is_ok_and(|x| has_float(&x)))),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(source: &str) -> String {
        let mut env = Environment::new();
        minijinja_contrib::add_to_environment(&mut env);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        install(&mut env);
        env.render_str(source, ()).unwrap()
    }

    #[test]
    fn printing_is_python_str() {
        assert_eq!(render("{{ 1e-7 }} {{ 1e16 }} {{ 100.0 }} {{ 2 }}"), "1e-07 1e+16 100.0 2");
        assert_eq!(render("{{ [0.5, 'a', none, true] }}|{{ {'k': 1e-7} }}"), "[0.5, 'a', None, True]|{'k': 1e-07}");
        assert_eq!(render("{{ 1e-7 | string }}{{ none }}{{ undefined_name }}"), "1e-07None");
    }

    #[test]
    fn iterable_and_sequence_tests_are_jinja2s() {
        assert_eq!(
            render("{{ none is iterable }} {{ 's' is sequence }} {{ {'a': 1} is sequence }} {{ 1 is iterable }}"),
            "False True True False"
        );
    }
}
