//! Tool schemas: find the broken ones, normalize the BFCL-style ones, compile the rest.
//!
//! Arguments can only be checked against a schema that is itself sound. A schema that cannot be
//! used at all is an `invalid_tool_schema` error (and its calls are not schema-checked, so one
//! mistake is reported once). Schemas written with Python/BFCL type names (`dict`, `float`, `tuple`,
//! `str, optional`, `List[int]` …), common in public function-calling sets, are normalized to JSON
//! Schema with a `nonstandard_schema` warning: the intent is clear, and the template renders them
//! as written either way.

use jsonschema::error::ValidationErrorKind;
use jsonschema::paths::LocationSegment;
use serde_json::{Map, Value};

use super::locate::{join_key, preview};
use crate::diagnostic::{Code, Diagnostic};

/// A tool the record offers, ready to check calls against.
pub struct Tool {
    pub name: String,
    /// The parameters after normalization (`{}` when none were given), for enum values and defaults.
    pub parameters: Value,
    /// Compiled parameters; `None` when the tool takes anything (no schema) or its schema is broken.
    validator: Option<jsonschema::Validator>,
    /// Calls to it carry raw code, not JSON (functionary's `{"type": "code_interpreter"}` offers
    /// `python`, whose arguments are the program).
    pub raw_code: bool,
}

/// The tools a record offers, by name.
pub struct ToolSet {
    tools: Vec<Tool>,
}

impl ToolSet {
    /// Check and compile `tools` (OpenAI shape, as ingest normalized them). `source` is the same list
    /// as written, to tell bare schemas from wrapped ones in paths; `prefix` names the list (`tools`,
    /// or `""` for a `--tools` file whose top level is the list).
    pub fn build(tools: &[Value], source: Option<&[Value]>, prefix: &str, findings: &mut Vec<Diagnostic>) -> ToolSet {
        let mut set = ToolSet { tools: Vec::new() };
        for (i, tool) in tools.iter().enumerate() {
            let base = if prefix.is_empty() { format!("[{i}]") } else { format!("{prefix}[{i}]") };
            let wrapped = source.and_then(|s| s.get(i)).is_none_or(|t| t.get("function").is_some());
            let function_path = if wrapped { format!("{base}.function") } else { base.clone() };
            if let Some(tool) = build_tool(tool, &base, &function_path, findings) {
                if set.get(&tool.name).is_some() {
                    findings.push(Diagnostic::error(
                        Code::InvalidToolSchema,
                        join_key(&function_path, "name"),
                        format!("a second tool named `{}`: calls to it are ambiguous", tool.name),
                    ));
                    continue;
                }
                set.tools.push(tool);
            }
        }
        set
    }

    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    pub fn get(&self, name: &str) -> Option<&Tool> {
        self.tools.iter().find(|t| t.name == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Tool> {
        self.tools.iter()
    }
}

impl Tool {
    /// Every way `arguments` breaks the schema, as (path below the arguments, message); empty when
    /// the tool has no usable schema.
    pub fn violations(&self, arguments: &Value) -> Vec<(String, String)> {
        let Some(validator) = &self.validator else { return Vec::new() };
        let mut out = Vec::new();
        for error in validator.iter_errors(arguments) {
            let mut path = String::new();
            for segment in error.instance_path().iter() {
                match segment {
                    LocationSegment::Property(name) => path = join_key(&path, &name),
                    LocationSegment::Index(k) => path.push_str(&format!("[{k}]")),
                }
            }
            match error.kind() {
                ValidationErrorKind::Required { property } => {
                    let name = property.as_str().map(str::to_string).unwrap_or_else(|| property.to_string());
                    out.push((join_key(&path, &name), format!("missing required property `{name}`")));
                }
                ValidationErrorKind::AdditionalProperties { unexpected } => {
                    for name in unexpected {
                        out.push((
                            join_key(&path, name),
                            format!("property `{name}` is not in the schema, which allows no others"),
                        ));
                    }
                }
                ValidationErrorKind::Enum { options } => {
                    out.push((path, format!("{} is not one of {}", preview(error.instance()), options)))
                }
                ValidationErrorKind::Pattern { pattern } => {
                    out.push((path, format!("{} does not match the pattern `{pattern}`", preview(error.instance()))))
                }
                _ => out.push((path, error.to_string())),
            }
        }
        out
    }
}

fn build_tool(tool: &Value, base: &str, function_path: &str, findings: &mut Vec<Diagnostic>) -> Option<Tool> {
    if tool.get("type").and_then(Value::as_str) == Some("code_interpreter") && tool.get("function").is_none() {
        return Some(Tool {
            name: "python".into(),
            parameters: Value::Object(Map::new()),
            validator: None,
            raw_code: true,
        });
    }
    let invalid = |path: String, message: String| Diagnostic::error(Code::InvalidToolSchema, path, message);
    let Some(function) = tool.get("function").and_then(Value::as_object) else {
        findings.push(invalid(
            base.to_string(),
            "not a tool schema: expected {\"name\", \"description\", \"parameters\"} or the OpenAI {\"type\": \"function\", \"function\": {…}} shape".into(),
        ));
        return None;
    };
    let name = match function.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => {
            findings.push(invalid(join_key(function_path, "name"), "a tool needs a non-empty string name".into()));
            return None;
        }
    };
    let params_path = join_key(function_path, "parameters");
    let mut parameters = match function.get("parameters") {
        None | Some(Value::Null) => {
            return Some(Tool { name, parameters: Value::Object(Map::new()), validator: None, raw_code: false })
        }
        Some(v @ Value::Object(_)) => v.clone(),
        Some(other) => {
            findings.push(invalid(
                params_path,
                format!("parameters must be a JSON Schema object, found {}", preview(other)),
            ));
            return Some(Tool { name, parameters: Value::Object(Map::new()), validator: None, raw_code: false });
        }
    };
    let mut changes = Vec::new();
    normalize(&mut parameters, "", &mut changes);
    // Some exports put `required` next to `parameters` instead of inside it.
    if let (Some(required), Some(params)) = (function.get("required"), parameters.as_object_mut()) {
        if !params.contains_key("required") && required.is_array() {
            params.insert("required".into(), required.clone());
            changes.push(format!("`required` moved into parameters from {}", join_key(function_path, "required")));
        }
    }
    if !changes.is_empty() {
        let shown: Vec<&str> = changes.iter().take(4).map(String::as_str).collect();
        let more = if changes.len() > 4 { format!(" and {} more", changes.len() - 4) } else { String::new() };
        findings.push(Diagnostic::warning(
            Code::NonstandardSchema,
            params_path.clone(),
            format!("not JSON Schema, normalized for checking: {}{more}", shown.join("; ")),
        ));
    }
    if let Some(problem) = shape_problem(&parameters) {
        findings.push(invalid(params_path, problem));
        return Some(Tool { name, parameters, validator: None, raw_code: false });
    }
    let compiled = jsonschema::options().should_validate_formats(false).build(&parameters).or_else(|first| {
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .should_validate_formats(false)
            .build(&parameters)
            .map_err(|_| first)
    });
    match compiled {
        Ok(validator) => Some(Tool { name, parameters, validator: Some(validator), raw_code: false }),
        Err(e) => {
            findings.push(invalid(params_path, format!("not a valid JSON Schema: {e}")));
            Some(Tool { name, parameters, validator: None, raw_code: false })
        }
    }
}

/// What makes parameters unusable for named arguments even when they are valid JSON Schema.
fn shape_problem(parameters: &Value) -> Option<String> {
    if let Some(t) = parameters.get("type") {
        if t.as_str() != Some("object") {
            return Some(format!("parameters must describe an object (named arguments), found type {t}"));
        }
    }
    let required = parameters.get("required")?;
    let Some(names) = required.as_array() else {
        return Some(format!("`required` must be a list of property names, found {}", preview(required)));
    };
    let properties = parameters.get("properties").and_then(Value::as_object);
    for name in names {
        match (name.as_str(), properties) {
            (None, _) => return Some(format!("`required` must hold property names, found {}", preview(name))),
            (Some(n), Some(p)) if !p.contains_key(n) => {
                return Some(format!("`required` names `{n}`, which is not among the properties"))
            }
            _ => {}
        }
    }
    None
}

/// Rewrite Python/BFCL type names into JSON Schema, recording each change as `at: from → to`.
fn normalize(schema: &mut Value, at: &str, changes: &mut Vec<String>) {
    let Value::Object(map) = schema else { return };
    let type_path = join_key(at, "type");
    match map.get("type").cloned() {
        Some(Value::String(t)) => match standard_type(&t) {
            Mapped::Same => {}
            Mapped::Remove => {
                map.remove("type");
                changes.push(format!("{type_path}: `{t}` → any type"));
            }
            Mapped::To(new, items) => {
                changes.push(format!("{type_path}: `{t}` → `{new}`"));
                map.insert("type".into(), Value::String(new.into()));
                if let Some(items) = items {
                    map.entry("items").or_insert_with(|| serde_json::json!({ "type": items }));
                }
            }
        },
        Some(Value::Array(types)) => {
            let mapped: Vec<Value> = types
                .iter()
                .map(|t| match t.as_str().map(standard_type) {
                    Some(Mapped::To(new, _)) => Value::String(new.into()),
                    _ => t.clone(),
                })
                .collect();
            if mapped != types {
                changes.push(format!("{type_path}: {} → {}", Value::Array(types), Value::Array(mapped.clone())));
                map.insert("type".into(), Value::Array(mapped));
            }
        }
        _ => {}
    }
    for key in ["properties", "patternProperties", "$defs", "definitions"] {
        if let Some(Value::Object(children)) = map.get_mut(key) {
            for (name, child) in children.iter_mut() {
                let child_path = join_key(&join_key(at, key), name);
                // `{"city": "string"}`: a bare type name where a schema belongs.
                if let Value::String(t) = child {
                    changes.push(format!("{child_path}: `\"{t}\"` → {{\"type\": …}}"));
                    *child = serde_json::json!({ "type": t.clone() });
                }
                normalize(child, &child_path, changes);
            }
        }
    }
    for key in ["items", "additionalProperties", "not", "if", "then", "else", "contains", "additionalItems"] {
        match map.get_mut(key) {
            Some(child @ Value::Object(_)) => normalize(child, &join_key(at, key), changes),
            Some(Value::Array(children)) if key == "items" => {
                for (k, child) in children.iter_mut().enumerate() {
                    normalize(child, &format!("{}[{k}]", join_key(at, key)), changes);
                }
            }
            _ => {}
        }
    }
    for key in ["anyOf", "oneOf", "allOf", "prefixItems"] {
        if let Some(Value::Array(children)) = map.get_mut(key) {
            for (k, child) in children.iter_mut().enumerate() {
                normalize(child, &format!("{}[{k}]", join_key(at, key)), changes);
            }
        }
    }
}

enum Mapped {
    Same,
    /// No type constraint (`any`).
    Remove,
    /// The JSON Schema type, and for `List[X]` the items' type.
    To(&'static str, Option<&'static str>),
}

fn standard_type(t: &str) -> Mapped {
    let mut s = t.trim();
    let mut changed = s != t;
    for suffix in [", optional", ",optional", " (optional)"] {
        if s.len() > suffix.len() && s[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix) {
            s = s[..s.len() - suffix.len()].trim_end();
            changed = true;
        }
    }
    if let Some(inner) = s.strip_prefix("Optional[").and_then(|r| r.strip_suffix(']')) {
        s = inner;
        changed = true;
    }
    let (head, inner) = match s.find('[') {
        Some(open) if s.ends_with(']') => (&s[..open], Some(&s[open + 1..s.len() - 1])),
        _ => (s, None),
    };
    let base = match head.to_ascii_lowercase().as_str() {
        "string" | "number" | "integer" | "boolean" | "object" | "array" | "null" if inner.is_none() => {
            return if changed { Mapped::To(canonical(head), None) } else { Mapped::Same }
        }
        "str" | "text" | "string" => "string",
        "float" | "double" | "decimal" | "number" => "number",
        "int" | "long" | "integer" => "integer",
        "bool" | "boolean" => "boolean",
        "dict" | "dictionary" | "map" | "object" | "mapping" => "object",
        "tuple" | "list" | "set" | "array" | "sequence" => "array",
        "any" => return Mapped::Remove,
        _ => return Mapped::Same,
    };
    let items = match (base, inner) {
        ("array", Some(inner)) if !inner.contains(',') => match standard_type(inner) {
            Mapped::To(t, _) => Some(t),
            Mapped::Same if is_standard(inner) => Some(canonical(inner)),
            _ => None,
        },
        _ => None,
    };
    Mapped::To(base, items)
}

fn is_standard(t: &str) -> bool {
    matches!(t, "string" | "number" | "integer" | "boolean" | "object" | "array" | "null")
}

fn canonical(t: &str) -> &'static str {
    match t.to_ascii_lowercase().as_str() {
        "string" => "string",
        "number" => "number",
        "integer" => "integer",
        "boolean" => "boolean",
        "object" => "object",
        "array" => "array",
        _ => "null",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn build(tools: Value) -> (ToolSet, Vec<(&'static str, String)>) {
        let tools: Vec<Value> =
            tools.as_array().unwrap().iter().cloned().map(crate::conversation::normalize_tool).collect();
        let mut findings = Vec::new();
        let set = ToolSet::build(&tools, Some(&tools), "tools", &mut findings);
        (set, findings.into_iter().map(|f| (f.code.as_str(), f.path)).collect())
    }

    #[test]
    fn bfcl_types_are_normalized_with_one_warning() {
        let (set, findings) = build(json!([{"name": "f", "parameters": {"type": "dict", "properties": {
            "x": {"type": "float"}, "xs": {"type": "List[int]"}, "s": {"type": "str, optional"}, "t": {"type": "tuple"}}}}]));
        assert_eq!(findings, vec![("nonstandard_schema", "tools[0].function.parameters".to_string())]);
        let tool = set.get("f").unwrap();
        assert_eq!(tool.parameters["properties"]["xs"], json!({"type": "array", "items": {"type": "integer"}}));
        assert!(tool.violations(&json!({"x": 1.5, "xs": [1, 2], "s": "a", "t": [1]})).is_empty());
        assert_eq!(tool.violations(&json!({"xs": ["a"]})).len(), 1);
    }

    #[test]
    fn violations_are_located_below_the_arguments() {
        let (set, _) = build(json!([{"name": "f", "parameters": {"type": "object", "additionalProperties": false,
            "properties": {"n": {"type": "integer"}, "u": {"enum": ["c", "f"]}, "d": {"type": "string", "pattern": "^[0-9]{4}$"}},
            "required": ["n"]}}]));
        let got: Vec<String> = set
            .get("f")
            .unwrap()
            .violations(&json!({"u": "k", "d": "x", "extra": 1}))
            .into_iter()
            .map(|v| v.0)
            .collect();
        let mut sorted = got.clone();
        sorted.sort();
        assert_eq!(sorted, ["d", "extra", "n", "u"]);
    }

    #[test]
    fn broken_schemas_are_invalid() {
        let (_, findings) = build(json!([
            {"name": "a", "parameters": {"type": "object", "properties": {"x": {"type": "strng"}}}},
            {"name": "b", "parameters": {"type": "object", "properties": {}, "required": ["ghost"]}},
            {"type": "function"},
            {"name": "c", "parameters": "none"}]));
        let codes: Vec<&str> = findings.iter().map(|f| f.0).collect();
        assert_eq!(codes, ["invalid_tool_schema"; 4]);
        assert_eq!(findings[2].1, "tools[2]");
    }

    #[test]
    fn code_interpreter_offers_python_with_raw_code() {
        let (set, findings) = build(json!([{"type": "code_interpreter"}]));
        assert!(findings.is_empty());
        assert!(set.get("python").unwrap().raw_code);
    }
}
