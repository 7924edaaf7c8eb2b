//! A minijinja environment that behaves like the Python jinja2 environment transformers renders chat
//! templates with: `trim_blocks`, `lstrip_blocks`, loop controls, Python string and dict methods,
//! `tojson` as `json.dumps`, `raise_exception`, `strftime_now`, and `{% generation %}` blocks.
//!
//! Supervised spans leave the renderer as Unicode noncharacters wrapped around the text they cover;
//! [`super::split_markers`] turns them into byte ranges of the clean text. Noncharacters are reserved
//! for internal use by the Unicode standard, and input containing them is refused, so a marker can
//! never be confused with content.

use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Environment, Error, ErrorKind};

use crate::pyjson::{dumps_template_value, dumps_with, DumpOptions};

pub const TRAIN_OPEN: char = '\u{FDD0}';
pub const TRAIN_CLOSE: char = '\u{FDD1}';
pub const NO_LOSS_OPEN: char = '\u{FDD2}';
pub const NO_LOSS_CLOSE: char = '\u{FDD3}';
/// Text to encode as ordinary text even where it spells a control token (Harmony content).
pub const ORDINARY_OPEN: char = '\u{FDD4}';
pub const ORDINARY_CLOSE: char = '\u{FDD5}';

/// Prefix of the error `raise_exception` produces, so callers can tell a template's own refusal
/// from a template bug.
pub const RAISED: &str = "template raised: ";

/// Limits that keep a hostile or buggy user template from running forever.
const FUEL: u64 = 200_000_000;

/// Build the environment with one template, `chat`, compiled from `source`.
pub fn environment(source: &str, date: Date) -> Result<Environment<'static>, Error> {
    let mut env = Environment::new();
    env.set_syntax(minijinja::syntax::SyntaxConfig::builder().trim_blocks(true).lstrip_blocks(true).build()?);
    env.set_fuel(Some(FUEL));
    minijinja_contrib::add_to_environment(&mut env);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    super::pycompat::install(&mut env);
    env.add_filter("tojson", tojson);
    env.add_filter("_trajkit_generation", |s: String| format!("{TRAIN_OPEN}{s}{TRAIN_CLOSE}"));
    env.add_filter(
        "context_only",
        |s: String, when: bool| {
            if when {
                format!("{NO_LOSS_OPEN}{s}{NO_LOSS_CLOSE}")
            } else {
                s
            }
        },
    );
    env.add_filter("ordinary", |s: String| format!("{ORDINARY_OPEN}{s}{ORDINARY_CLOSE}"));
    env.add_function("raise_exception", |message: String| -> Result<Value, Error> {
        Err(Error::new(ErrorKind::InvalidOperation, format!("{RAISED}{message}")))
    });
    env.add_function("strftime_now", move |format: String| Value::from(date.strftime(&format)));
    env.add_template_owned("chat", rewrite_generation_tags(&jinja_newlines(source)))?;
    Ok(env)
}

/// Jinja2 (and so transformers) reads every `\r\n` and `\r` of a template's source as `\n` before
/// lexing; minijinja keeps them. A template saved with Windows line endings (TRL's
/// glm4moe_training.jinja) would otherwise render `\r\n` where the model saw `\n`.
fn jinja_newlines(source: &str) -> std::borrow::Cow<'_, str> {
    if source.contains('\r') {
        std::borrow::Cow::Owned(source.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        std::borrow::Cow::Borrowed(source)
    }
}

/// `tojson` as transformers defines it: `json.dumps(x, ensure_ascii=False, indent=None,
/// separators=None, sort_keys=False)`; positional arguments follow that order.
fn tojson(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    if value.is_undefined() {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "tojson: Object of type Undefined is not JSON serializable",
        ));
    }
    let options = dump_options(&args, &kwargs);
    // The values templates dump are written directly; anything else goes through serde_json, with
    // its errors first as before.
    if let Ok(options) = &options {
        if *options == DumpOptions::default() {
            if let Some(text) = super::context::dumped_tool(value) {
                return Ok(Value::from_safe_string(text.to_string()));
            }
        }
        if let Some(text) = dumps_template_value(value, options) {
            return Ok(Value::from_safe_string(text));
        }
    }
    let json =
        serde_json::to_value(value).map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("tojson: {e}")))?;
    Ok(Value::from_safe_string(dumps_with(&json, &options?)))
}

fn dump_options(args: &Rest<Value>, kwargs: &Kwargs) -> Result<DumpOptions, Error> {
    if args.is_empty() && kwargs.args().next().is_none() {
        return Ok(DumpOptions::default()); // `x | tojson`, by far the most common
    }
    let positional = |i: usize| args.get(i).cloned();
    let ensure_ascii = kwargs.get::<Option<bool>>("ensure_ascii")?.or(positional(0).map(|v| v.is_true()));
    let indent: Option<Value> = kwargs.get::<Option<Value>>("indent")?.or(positional(1));
    let separators: Option<Value> = kwargs.get::<Option<Value>>("separators")?.or(positional(2));
    let sort_keys = kwargs.get::<Option<bool>>("sort_keys")?.or(positional(3).map(|v| v.is_true()));
    kwargs.assert_all_used()?;
    let indent = match indent {
        None => None,
        Some(v) if v.is_none() || v.is_undefined() => None,
        Some(v) => match v.as_i64() {
            Some(n) => Some(" ".repeat(n.max(0) as usize)),
            None => Some(v.to_string()),
        },
    };
    let mut options =
        DumpOptions { ensure_ascii: ensure_ascii.unwrap_or(false), ..Default::default() }.with_indent(indent);
    if let Some(sep) = separators.filter(|v| !v.is_none() && !v.is_undefined()) {
        let items: Vec<String> = sep.try_iter()?.map(|v| v.to_string()).collect();
        if let [item, key] = &items[..] {
            options.item_separator = item.clone();
            options.key_separator = key.clone();
        }
    }
    options.sort_keys = sort_keys.unwrap_or(false);
    Ok(options)
}

/// Whether a template marks trainable spans with `{% generation %}` (the test transformers uses).
pub fn has_generation_tags(source: &str) -> bool {
    let mut rest = source;
    while let Some(at) = rest.find("{%") {
        let tag = rest[at + 2..].trim_start_matches(['-', '+']).trim_start();
        if tag.starts_with("generation")
            && tag["generation".len()..].trim_start().trim_start_matches(['-', '+']).starts_with("%}")
        {
            return true;
        }
        rest = &rest[at + 2..];
    }
    false
}

/// A template that does not compile, said in terms of the construct that is not supported.
pub fn explain_compile_error(e: &Error) -> String {
    let mut text = e.to_string();
    if let Some(line) = e.line() {
        if !text.contains("line") {
            text.push_str(&format!(" (template line {line})"));
        }
    }
    match e.kind() {
        ErrorKind::UnknownFilter | ErrorKind::UnknownTest | ErrorKind::UnknownFunction => {
            format!("{text}: this construct is not available in trajkit's Jinja (minijinja with Python compatibility)")
        }
        ErrorKind::SyntaxError => format!("{text}: trajkit's Jinja (minijinja) cannot parse this construct"),
        _ => text,
    }
}

/// A template that failed while rendering, naming what it tried to do when that is a Python
/// feature minijinja lacks.
pub fn explain_render_error(e: &Error, described: &str) -> String {
    match e.kind() {
        ErrorKind::UnknownMethod | ErrorKind::UnknownFilter | ErrorKind::UnknownTest | ErrorKind::UnknownFunction => {
            format!("{described} (a Python/Jinja2 feature trajkit's Jinja does not provide)")
        }
        _ => described.to_string(),
    }
}

/// minijinja has no `{% generation %}` tag (a transformers extension); a filter block with the same
/// whitespace control is equivalent and keeps `trim_blocks`/`lstrip_blocks` behaving as for a tag.
pub fn rewrite_generation_tags(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(start) = rest.find("{%") {
        let Some(len) = rest[start..].find("%}") else { break };
        let tag = &rest[start..start + len + 2];
        let inner = &tag[2..tag.len() - 2];
        let left = inner.strip_prefix(['-', '+']).map_or("", |_| &inner[..1]);
        let right = inner.strip_suffix(['-', '+']).map_or("", |_| &inner[inner.len() - 1..]);
        let word = inner.trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace());
        out.push_str(&rest[..start]);
        match word {
            "generation" => out.push_str(&format!("{{%{left} filter _trajkit_generation {right}%}}")),
            "endgeneration" => out.push_str(&format!("{{%{left} endfilter {right}%}}")),
            _ => out.push_str(tag),
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

/// The date `strftime_now` sees: fixed by `--date` so renders are reproducible, else today (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date {
    pub year: i64,
    pub month: u32,
    pub day: u32,
}

impl Date {
    pub fn parse(s: &str) -> Option<Date> {
        let mut it = s.splitn(3, '-');
        let year = it.next()?.parse().ok()?;
        let month: u32 = it.next()?.parse().ok()?;
        let day: u32 = it.next()?.get(..2)?.parse().ok()?;
        ((1..=12).contains(&month) && (1..=31).contains(&day)).then_some(Date { year, month, day })
    }

    pub fn today() -> Date {
        let secs =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        Date::from_days(secs.div_euclid(86_400))
    }

    /// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    fn from_days(z: i64) -> Date {
        let z = z + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date { year, month, day }
    }

    fn days(self) -> i64 {
        let y = self.year - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The strftime directives chat templates use; the time of day is noon.
    pub fn strftime(self, format: &str) -> String {
        const MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        const DAYS: [&str; 7] = ["Thursday", "Friday", "Saturday", "Sunday", "Monday", "Tuesday", "Wednesday"];
        let weekday = DAYS[self.days().rem_euclid(7) as usize];
        let month = MONTHS[(self.month - 1) as usize];
        let mut out = String::new();
        let mut chars = format.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('d') => out.push_str(&format!("{:02}", self.day)),
                Some('-') => match chars.next() {
                    Some('d') => out.push_str(&self.day.to_string()),
                    Some('m') => out.push_str(&self.month.to_string()),
                    Some(other) => out.push_str(&format!("%-{other}")),
                    None => out.push_str("%-"),
                },
                Some('m') => out.push_str(&format!("{:02}", self.month)),
                Some('Y') => out.push_str(&self.year.to_string()),
                Some('y') => out.push_str(&format!("{:02}", self.year.rem_euclid(100))),
                Some('B') => out.push_str(month),
                Some('b') => out.push_str(&month[..3]),
                Some('A') => out.push_str(weekday),
                Some('a') => out.push_str(&weekday[..3]),
                Some('H') => out.push_str("12"),
                Some('I') => out.push_str("12"),
                Some('p') => out.push_str("PM"),
                Some('M') | Some('S') => out.push_str("00"),
                Some('j') => {
                    let jan1 = Date { year: self.year, month: 1, day: 1 };
                    out.push_str(&format!("{:03}", self.days() - jan1.days() + 1))
                }
                Some('%') => out.push('%'),
                Some(other) => {
                    out.push('%');
                    out.push(other)
                }
                None => out.push('%'),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(source: &str, ctx: Value) -> String {
        let env = environment(source, Date { year: 2026, month: 1, day: 15 }).unwrap();
        env.get_template("chat").unwrap().render(ctx).unwrap()
    }

    #[test]
    fn windows_line_endings_render_as_jinja2_renders_them() {
        // Jinja2 with transformers' settings renders this as 'a\n1\nb'.
        let got = render("a\r\n{{ x }}\rb\r\n", minijinja::context! { x => 1 });
        assert_eq!(got, "a\n1\nb");
        // trim_blocks sees the normalized newline after a block tag (Jinja2 gives 'x\ny' here).
        let got = render("{% if 1 %}\r\nx\r\n{% endif %}\r\ny", minijinja::context! {});
        assert_eq!(got, "x\ny");
    }

    #[test]
    fn tojson_is_python_json_dumps() {
        let ctx =
            Value::from(minijinja::value::Serde(serde_json::json!({"x": {"b": 1e-7, "a": "<&>'", "c": [true, null]}})));
        assert_eq!(render("{{ x | tojson }}", ctx.clone()), r#"{"b": 1e-07, "a": "<&>'", "c": [true, null]}"#);
        assert_eq!(render("{{ x | tojson(indent=2) }}", ctx.clone()).lines().count(), 8);
        assert_eq!(
            render("{{ x | tojson(separators=(',', ':'), sort_keys=true) }}", ctx),
            r#"{"a":"<&>'","b":1e-07,"c":[true,null]}"#
        );
    }

    #[test]
    fn generation_tags_become_markers_and_keep_whitespace_rules() {
        let out = render("a\n{% generation %}\nb\n{% endgeneration %}\nc", Value::UNDEFINED);
        assert_eq!(out, format!("a\n{TRAIN_OPEN}b\n{TRAIN_CLOSE}c"));
        let out = render("a {%- generation -%} b {%- endgeneration -%} c", Value::UNDEFINED);
        assert_eq!(out, format!("a{TRAIN_OPEN}b{TRAIN_CLOSE}c"));
    }

    #[test]
    fn python_string_methods_and_raise_exception() {
        let ctx = Value::from(minijinja::value::Serde(serde_json::json!({"s": "\n x \n"})));
        assert_eq!(render("[{{ s.strip('\\n') }}]{{ s.startswith('\\n') }}", ctx), "[ x ]True"); // Python prints booleans as True/False
        let env = environment("{{ raise_exception('no tools') }}", Date::today()).unwrap();
        let err = env.get_template("chat").unwrap().render(Value::UNDEFINED).unwrap_err();
        assert!(err.to_string().contains("template raised: no tools"), "{err}");
    }

    #[test]
    fn strftime_on_a_fixed_date() {
        let d = Date::parse("2026-01-15").unwrap();
        assert_eq!(d.strftime("%d %b %Y, %A %B %-d %j"), "15 Jan 2026, Thursday January 15 015");
        assert_eq!(Date::from_days(d.days()), d);
    }
}
