//! What the Harmony (GPT-OSS) template needs that Jinja does not do well: the tools namespace
//! written as TypeScript, and compact JSON arguments. Written from `docs/harmony-spec.md` (§4, §5,
//! §7), whose rules, odd spots included, are what openai-harmony 0.0.8 produces.
//!
//! The template (`templates/harmony.jinja`) calls these as filters:
//! * `tools | harmony_functions`: the function tools as `{name, typescript}`, where `typescript` is
//!   the tool's entry in the `functions` namespace (`// description` lines, then
//!   `type name = (_: …) => any;` and a newline); tools of other kinds are left out;
//! * `arguments | harmony_arguments`: a call's arguments as the message content: a string verbatim,
//!   anything else as Python's `json.dumps(x, separators=(",", ":"), ensure_ascii=False)`.

use minijinja::value::Value;
use minijinja::{Environment, Error, ErrorKind};
use serde_json::{Map, Value as Json};

use super::env::RAISED;
use crate::pyjson::{dumps_with, DumpOptions};

/// The `Reasoning:` line of the system message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReasoningEffort {
    Low,
    #[default]
    Medium,
    High,
}

impl ReasoningEffort {
    pub fn as_str(self) -> &'static str {
        match self {
            ReasoningEffort::Low => "low",
            ReasoningEffort::Medium => "medium",
            ReasoningEffort::High => "high",
        }
    }
}

/// The system message Harmony puts first in every conversation. The defaults are those of
/// openai-harmony's `SystemContent.new()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HarmonyOptions {
    pub reasoning_effort: ReasoningEffort,
    pub model_identity: String,
    pub knowledge_cutoff: String,
    /// `Current date: …`; no line at all when absent.
    pub current_date: Option<String>,
}

impl Default for HarmonyOptions {
    fn default() -> Self {
        HarmonyOptions {
            reasoning_effort: ReasoningEffort::Medium,
            model_identity: "You are ChatGPT, a large language model trained by OpenAI.".into(),
            knowledge_cutoff: "2024-06".into(),
            current_date: None,
        }
    }
}

impl HarmonyOptions {
    /// The `harmony` object the template reads.
    pub fn to_json(&self) -> Json {
        let mut m = Map::new();
        m.insert("reasoning_effort".into(), Json::String(self.reasoning_effort.as_str().into()));
        m.insert("model_identity".into(), Json::String(self.model_identity.clone()));
        m.insert("knowledge_cutoff".into(), Json::String(self.knowledge_cutoff.clone()));
        if let Some(date) = &self.current_date {
            m.insert("current_date".into(), Json::String(date.clone()));
        }
        Json::Object(m)
    }
}

/// Add the Harmony filters to the environment of the harmony template.
pub fn register(env: &mut Environment<'static>) {
    env.add_filter("harmony_functions", |tools: Value| -> Result<Value, Error> {
        let Json::Array(tools) = to_json(&tools)? else {
            return Err(refuse("harmony: tools must be a list".into()));
        };
        let mut functions = Vec::new();
        for tool in &tools {
            if let Some((name, typescript)) = function_ts(tool).map_err(refuse)? {
                let mut f = Map::new();
                f.insert("name".into(), Json::String(name));
                f.insert("typescript".into(), Json::String(typescript));
                functions.push(Json::Object(f));
            }
        }
        Ok(Value::from(minijinja::value::Serde(Json::Array(functions))))
    });
    env.add_filter("harmony_arguments", |arguments: Value| -> Result<Value, Error> {
        if let Some(s) = arguments.as_str() {
            return Ok(Value::from(s));
        }
        let json = if arguments.is_none() || arguments.is_undefined() {
            Json::Object(Map::new())
        } else {
            to_json(&arguments)?
        };
        Ok(Value::from(compact_json(&json)))
    });
}

fn to_json(value: &Value) -> Result<Json, Error> {
    serde_json::to_value(value).map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("harmony: {e}")))
}

/// A refusal the pipeline reports as the template's own (like `raise_exception`).
fn refuse(message: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, format!("{RAISED}{message}"))
}

/// Python's `json.dumps(x, separators=(",", ":"), ensure_ascii=False)`: what Harmony training data
/// made from TRL rows carries as the content of a call.
pub fn compact_json(value: &Json) -> String {
    let options = DumpOptions { item_separator: ",".into(), key_separator: ":".into(), ..Default::default() };
    dumps_with(value, &options)
}

/// A function tool's name and its entry in the `functions` namespace; `None` for tools of another
/// kind (`{"type": "code_interpreter"}` …), which the namespace has no place for.
pub fn function_ts(tool: &Json) -> Result<Option<(String, String)>, String> {
    match tool.get("type") {
        None | Some(Json::Null) => {}
        Some(Json::String(t)) if t == "function" => {}
        Some(_) => return Ok(None),
    }
    let typescript = tool_ts(tool)?;
    let function = tool.get("function").unwrap_or(tool);
    Ok(Some((function.get("name").and_then(Json::as_str).unwrap_or_default().to_string(), typescript)))
}

/// One tool of the `functions` namespace (spec §4.1): description lines as `// ` comments (Rust
/// `str::lines`), then the type line; `() => any` when the tool has no `parameters`.
pub fn tool_ts(tool: &Json) -> Result<String, String> {
    let function = tool.get("function").unwrap_or(tool);
    let name = match function.get("name") {
        Some(Json::String(name)) if !name.is_empty() => name,
        _ => return Err("harmony: a tool without a name".into()),
    };
    let description = match function.get("description") {
        None | Some(Json::Null) => "",
        Some(Json::String(d)) => d,
        Some(_) => return Err(format!("harmony: tool `{name}`: description is not a string")),
    };
    let mut out = String::new();
    for line in description.lines() {
        out.push_str("// ");
        out.push_str(line);
        out.push('\n');
    }
    match function.get("parameters") {
        None | Some(Json::Null) => out.push_str(&format!("type {name} = () => any;\n")),
        Some(schema @ Json::Object(_)) => {
            out.push_str(&format!("type {name} = (_: {}) => any;\n", schema_ts(schema, "")))
        }
        Some(_) => {
            return Err(format!("harmony: tool `{name}`: parameters must be a JSON schema object"));
        }
    }
    Ok(out)
}

/// A JSON schema as a TypeScript type, at `indent` (spec §5, rules R1–R5 in order).
pub fn schema_ts(schema: &Json, indent: &str) -> String {
    // R1: a `oneOf` array, whatever `type` says.
    if let Some(Json::Array(variants)) = schema.get("oneOf") {
        let mut out = String::new();
        for v in variants {
            out.push_str(&format!("\n{indent} | "));
            out.push_str(&nullable(v, schema_ts(v, &format!("{indent}   "))));
            let mut comments = Vec::new();
            if let Some(Json::String(d)) = v.get("description") {
                comments.push(d.clone());
            }
            if let Some(d) = v.get("default") {
                // Unlike elsewhere, a string default on an enum variant is JSON-quoted here.
                let text = match d {
                    Json::String(s) if !is_enum(v) => format!("\"{s}\""),
                    other => serde_display(other),
                };
                comments.push(format!("default: {text}"));
            }
            if !comments.is_empty() {
                out.push_str(" // ");
                out.push_str(&comments.join(" "));
            }
        }
        return out;
    }
    // R2: a list of type names.
    if let Some(Json::Array(types)) = schema.get("type") {
        let names: Vec<&str> =
            types.iter().filter_map(Json::as_str).map(|t| if t == "integer" { "number" } else { t }).collect();
        if !names.is_empty() {
            return names.join(" | ");
        }
    }
    // R3: one type name.
    if let Some(Json::String(ty)) = schema.get("type") {
        return match ty.as_str() {
            "object" => object_ts(schema, indent),
            "string" => {
                let members: Vec<String> = match schema.get("enum") {
                    Some(Json::Array(e)) => e.iter().filter_map(Json::as_str).map(|s| format!("\"{s}\"")).collect(),
                    _ => Vec::new(),
                };
                if members.is_empty() {
                    "string".into()
                } else {
                    members.join(" | ")
                }
            }
            "number" | "integer" => "number".into(),
            "boolean" => "boolean".into(),
            "array" => match schema.get("items") {
                Some(items) => format!("{}[]", schema_ts(items, indent)),
                None => "Array<any>".into(),
            },
            _ => "any".into(),
        };
    }
    // R4 (a `oneOf` without `type`) is already covered by R1; R5: anything else.
    "any".into()
}

/// An `object` schema: its description above the brace, then one entry per property.
fn object_ts(schema: &Json, indent: &str) -> String {
    let mut out = String::new();
    if let Some(Json::String(d)) = schema.get("description") {
        out.push_str(&format!("{indent}// {d}\n"));
    }
    out.push_str("{\n");
    let required: Vec<&str> = match schema.get("required") {
        Some(Json::Array(r)) => r.iter().filter_map(Json::as_str).collect(),
        _ => Vec::new(),
    };
    if let Some(Json::Object(properties)) = schema.get("properties") {
        for (key, value) in properties {
            let optional = if required.contains(&key.as_str()) { "" } else { "?" };
            out.push_str(&property_ts(key, value, indent, optional));
        }
    }
    out.push_str(&format!("{indent}}}"));
    out
}

/// One property of an object rendered at `indent` (spec §5.1).
fn property_ts(key: &str, value: &Json, indent: &str, optional: &str) -> String {
    let mut out = String::new();
    let has_one_of = value.get("oneOf").is_some();
    let description = value.get("description").and_then(Json::as_str);
    if let Some(Json::String(title)) = value.get("title") {
        out.push_str(&format!("{indent}// {title}\n{indent}//\n"));
    }
    if let (false, Some(d)) = (has_one_of, description) {
        out.push_str(&format!("{indent}// {d}\n"));
    }
    if let Some(Json::Array(examples)) = value.get("examples") {
        if !examples.is_empty() {
            out.push_str(&format!("{indent}// Examples:\n"));
            for example in examples.iter().filter_map(Json::as_str) {
                out.push_str(&format!("{indent}// - \"{example}\"\n"));
            }
        }
    }
    if let Some(Json::Array(variants)) = value.get("oneOf") {
        // A property-level union: one ` | ` line per variant, then a lone comma.
        let skip = description.is_some()
            && variants.first().and_then(|v| v.get("description")).and_then(Json::as_str) == description;
        let mut above = false;
        if let (Some(d), false) = (description, skip) {
            out.push_str(&format!("{indent}// {d}\n"));
            above = true;
        }
        if let Some(d) = value.get("default") {
            out.push_str(&format!("{indent}// default: {}\n", default_text(d, value)));
        }
        out.push_str(&format!("{indent}{key}{optional}:\n"));
        for (i, v) in variants.iter().enumerate() {
            out.push_str(&format!("{indent} | "));
            out.push_str(&nullable(v, schema_ts(v, &format!("{indent}   "))));
            let mut comments = Vec::new();
            if let Some(Json::String(d)) = v.get("description") {
                if !(i == 0 && above) && Some(d.as_str()) != description {
                    comments.push(d.clone());
                }
            }
            if let Some(d) = v.get("default") {
                comments.push(format!("default: {}", default_text(d, v)));
            }
            if !comments.is_empty() {
                out.push_str(" // ");
                out.push_str(&comments.join(" "));
            }
            out.push('\n');
        }
        out.push_str(&format!("{indent},\n"));
        return out;
    }
    out.push_str(&format!("{indent}{key}{optional}: "));
    out.push_str(&nullable(value, schema_ts(value, &format!("{indent}    "))));
    out.push(',');
    if let (false, Some(d)) = (has_one_of, value.get("default")) {
        out.push_str(&format!(" // default: {}", default_text(d, value)));
    }
    out.push('\n');
    out
}

/// `enum` is a non-empty array.
fn is_enum(schema: &Json) -> bool {
    matches!(schema.get("enum"), Some(Json::Array(e)) if !e.is_empty())
}

/// A default as a comment shows it: a string in quotes, unescaped, or bare when the schema has an
/// enum; anything else as compact JSON with serde_json's number spelling (`1e16`, `0.00001`).
fn default_text(default: &Json, schema: &Json) -> String {
    match default {
        Json::String(s) if is_enum(schema) => s.clone(),
        Json::String(s) => format!("\"{s}\""),
        other => serde_display(other),
    }
}

/// A JSON value as harmony's serde_json writes it: compact, key order kept, strings escaped, and
/// floats in ryu's spelling (`3.0`, `0.00001`, `1e16`, `1e-7`), which current serde_json releases
/// no longer use, so it is written here.
fn serde_display(value: &Json) -> String {
    match value {
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(u)) => u.to_string(),
            _ => ryu_float(n.as_f64().unwrap_or(0.0)),
        },
        Json::Array(items) => format!("[{}]", items.iter().map(serde_display).collect::<Vec<_>>().join(",")),
        Json::Object(map) => {
            let entries: Vec<String> =
                map.iter().map(|(k, v)| format!("{}:{}", Json::String(k.clone()), serde_display(v))).collect();
            format!("{{{}}}", entries.join(","))
        }
        other => other.to_string(),
    }
}

/// ryu's `format64`: shortest round-trip digits; positional when the decimal point falls within
/// (-5, 16] digits, else `d[.ddd]e[-]X`.
fn ryu_float(f: f64) -> String {
    let sci = format!("{f:e}");
    let (mantissa, exponent) = sci.split_once('e').expect("LowerExp always writes an exponent");
    let exponent: i32 = exponent.parse().expect("exponent is an integer");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let n = digits.len() as i32;
    let point = exponent + 1; // value = 0.DIGITS × 10^point
    let mut out = String::new();
    if mantissa.starts_with('-') {
        out.push('-');
    }
    if n <= point && point <= 16 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (point - n) as usize));
        out.push_str(".0");
    } else if 0 < point && point <= 16 {
        out.push_str(&digits[..point as usize]);
        out.push('.');
        out.push_str(&digits[point as usize..]);
    } else if -5 < point && point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-point) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if n > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push_str(&format!("e{exponent}"));
    }
    out
}

/// `nullable: true` adds ` | null`, unless the type already mentions `null` anywhere.
fn nullable(schema: &Json, ty: String) -> String {
    if schema.get("nullable") == Some(&Json::Bool(true)) && !ty.contains("null") {
        ty + " | null"
    } else {
        ty
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The text of one tool `f` with description `Desc.` (spec §5.2 shows these).
    fn tool(parameters: Json) -> String {
        tool_ts(
            &json!({"type": "function", "function": {"name": "f", "description": "Desc.", "parameters": parameters}}),
        )
        .unwrap()
    }

    #[test]
    fn enums_defaults_and_optional_properties() {
        let got = tool(
            json!({"type":"object","properties":{"city":{"type":"string","description":"City name"},"unit":{"type":"string","enum":["c","f"],"default":"c"},"days":{"type":"integer","default":3}},"required":["city"]}),
        );
        assert_eq!(
            got,
            "// Desc.\ntype f = (_: {\n// City name\ncity: string,\nunit?: \"c\" | \"f\", // default: c\ndays?: number, // default: 3\n}) => any;\n"
        );
    }

    #[test]
    fn default_values_use_serde_spelling() {
        let got = tool(json!({"type":"object","properties":{
            "quoted":{"type":"string","default":"say \"hi\"\\n"},
            "tiny":{"type":"number","default":1e-05},
            "huge":{"type":"number","default":1e16},
            "whole":{"type":"number","default":3.0},
            "prefs":{"type":"object","default":{"quiet":true,"z":1,"a":[1,2]}},
            "notes":{"type":"string","default":null},
            "mixed":{"type":"string","enum":["x",1,"y",null]},
            "empty":{"type":"string","enum":[]},
            "no_type":{"enum":["a","b"]}}}));
        let want = "// Desc.\ntype f = (_: {\n\
            quoted?: string, // default: \"say \"hi\"\\n\"\n\
            tiny?: number, // default: 0.00001\n\
            huge?: number, // default: 1e16\n\
            whole?: number, // default: 3.0\n\
            prefs?: {\n    }, // default: {\"quiet\":true,\"z\":1,\"a\":[1,2]}\n\
            notes?: string, // default: null\n\
            mixed?: \"x\" | \"y\",\n\
            empty?: string,\n\
            no_type?: any,\n\
            }) => any;\n";
        assert_eq!(got, want);
    }

    #[test]
    fn nested_objects_and_arrays() {
        let got = tool(
            json!({"type":"object","properties":{"user":{"type":"object","description":"The user","properties":{"name":{"type":"string"},"tags":{"type":"array","items":{"type":"string"}}},"required":["name"]},"rows":{"type":"array","items":{"type":"object","properties":{"id":{"type":"integer"}}}}}}),
        );
        assert_eq!(
            got,
            "// Desc.\ntype f = (_: {\n// The user\nuser?:     // The user\n{\n    name: string,\n    tags?: string[],\n    },\nrows?: {\n    id?: number,\n    }[],\n}) => any;\n"
        );
        let got = tool(json!({"type":"object","properties":{
            "e":{"type":"array","items":{"type":"string","enum":["a","b"]}},
            "o":{"type":"object","properties":{"ids":{"type":"array","items":{"oneOf":[{"type":"string"},{"type":"number"}]}}}},
            "any_list":{"type":"array"}}}));
        assert_eq!(
            got,
            "// Desc.\ntype f = (_: {\ne?: \"a\" | \"b\"[],\no?: {\n    ids?: \n         | string\n         | number[],\n    },\nany_list?: Array<any>,\n}) => any;\n"
        );
    }

    #[test]
    fn unions_type_lists_nullable_and_any_of() {
        let got = tool(
            json!({"type":"object","properties":{"q":{"oneOf":[{"type":"string","description":"text"},{"type":"integer","description":"id"}],"description":"Query"},"n":{"type":["string","null"]},"m":{"type":"string","nullable":true},"a":{"anyOf":[{"type":"string"},{"type":"null"}]}}}),
        );
        assert_eq!(
            got,
            "// Desc.\ntype f = (_: {\n// Query\nq?:\n | string\n | number // id\n,\nn?: string | null,\nm?: string | null,\na?: any,\n}) => any;\n"
        );
        let got = tool(
            json!({"type":"object","properties":{"m":{"oneOf":[{"type":"string","enum":["post","courier"]},{"type":"object","description":"custom","properties":{"c":{"type":"string"}},"required":["c"]}],"description":"How"},"d":{"oneOf":[{"type":"integer","default":5},{"type":"string","enum":["all"],"default":"all"}],"default":"all","description":"x"}}}),
        );
        assert_eq!(
            got,
            "// Desc.\ntype f = (_: {\n// How\nm?:\n | \"post\" | \"courier\"\n |    // custom\n{\n   c: string,\n   } // custom\n,\n// x\n// default: \"all\"\nd?:\n | number // default: 5\n | \"all\" // default: all\n,\n}) => any;\n"
        );
    }

    #[test]
    fn top_level_one_of_swallows_the_closing_text() {
        assert_eq!(
            tool(json!({"oneOf":[{"type":"string"},{"type":"number","description":"num"}]})),
            "// Desc.\ntype f = (_: \n | string\n | number // num) => any;\n"
        );
        assert_eq!(
            tool(
                json!({"oneOf":[{"type":"object","properties":{"a":{"type":"string"}}},{"type":"string","enum":["x"],"default":"x","description":"or a string"}]})
            ),
            "// Desc.\ntype f = (_: \n | {\n   a?: string,\n   }\n | \"x\" // or a string default: \"x\") => any;\n"
        );
    }

    #[test]
    fn titles_and_examples() {
        let got = tool(
            json!({"type":"object","properties":{"s":{"type":"string","title":"S","description":"A string","examples":["x","y",3]}}}),
        );
        assert_eq!(got, "// Desc.\ntype f = (_: {\n// S\n//\n// A string\n// Examples:\n// - \"x\"\n// - \"y\"\ns?: string,\n}) => any;\n");
    }

    #[test]
    fn parameter_edge_cases_and_tools_without_parameters() {
        let line = |p: Json| tool(p).trim_start_matches("// Desc.\n").to_string();
        assert_eq!(line(Json::Null), "type f = () => any;\n");
        assert_eq!(line(json!({})), "type f = (_: any) => any;\n");
        assert_eq!(line(json!({"type":"object","properties":{}})), "type f = (_: {\n}) => any;\n");
        assert_eq!(line(json!({"type":"object"})), "type f = (_: {\n}) => any;\n");
        assert_eq!(line(json!({"type":"string","enum":["on","off"]})), "type f = (_: \"on\" | \"off\") => any;\n");
        let bare = tool_ts(&json!({"name": "ping"})).unwrap();
        assert_eq!(bare, "type ping = () => any;\n");
        assert!(
            tool_ts(&json!({"type": "function", "function": {"name": "bad", "parameters": "not a schema"}})).is_err()
        );
        assert_eq!(function_ts(&json!({"type": "code_interpreter"})), Ok(None));
        assert_eq!(function_ts(&json!({"name": "ping"})), Ok(Some(("ping".into(), bare))));
    }

    #[test]
    fn descriptions_split_like_rust_lines() {
        let with = |d: &str| {
            tool_ts(&json!({"name": "f", "description": d}))
                .unwrap()
                .trim_end_matches("type f = () => any;\n")
                .to_string()
        };
        assert_eq!(with(""), "");
        assert_eq!(with("\n"), "// \n");
        assert_eq!(with("Line one.\n\nLine three.\n"), "// Line one.\n// \n// Line three.\n");
        assert_eq!(with("a\r\nb\u{2028}c"), "// a\n// b\u{2028}c\n");
    }

    #[test]
    fn floats_in_defaults_use_ryu_spelling() {
        let cases = [
            (3.0, "3.0"),
            (12.5, "12.5"),
            (0.00001, "0.00001"),
            (0.0001, "0.0001"),
            (1e-7, "1e-7"),
            (1e16, "1e16"),
            (1e15, "1000000000000000.0"),
            (-2.5e-10, "-2.5e-10"),
            (1.2345678901234568e17, "1.2345678901234568e17"),
            (0.1 + 0.2, "0.30000000000000004"),
            (-7.5, "-7.5"),
        ];
        for (f, want) in cases {
            assert_eq!(ryu_float(f), want, "{f}");
        }
        assert_eq!(
            serde_display(&json!({"a": [1, 2.0, "x\"y"], "b": {"c": null}})),
            r#"{"a":[1,2.0,"x\"y"],"b":{"c":null}}"#
        );
    }

    #[test]
    fn compact_arguments_are_python_json() {
        let v = json!({"b": 1e-7, "a": [1, 100.0, "é\n"], "n": 9007199254740993u64, "z": null});
        assert_eq!(compact_json(&v), "{\"b\":1e-07,\"a\":[1,100.0,\"é\\n\"],\"n\":9007199254740993,\"z\":null}");
    }
}
