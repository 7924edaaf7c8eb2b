//! The tools a gold turn offers, compiled once, to tell whether a predicted call is valid.
//!
//! A call is schema-valid when it names an offered tool and its arguments validate against that
//! tool's `parameters`. The checking is `trajkit validate`'s own ([`ToolSet`]): the same
//! jsonschema validation (required keys, types, enums, patterns, `additionalProperties: false`), the
//! same normalization of BFCL-style schemas (`dict`, `float` …), and the same leniency where a
//! schema cannot be used (a broken schema, a code-interpreter tool): such a tool accepts any
//! arguments, since judging calls against a wrong schema would blame the model for the dataset.
//!
//! Compiling a schema costs far more than checking a call, and a reward server sees the same tool
//! list in every request of a training run, so compiled sets are cached by the list's JSON text.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::validate::ToolSet;

/// The tools of one record, ready to check calls against.
pub struct ToolSchemas {
    set: ToolSet,
}

impl Default for ToolSchemas {
    fn default() -> Self {
        ToolSchemas::build(&[])
    }
}

impl ToolSchemas {
    /// Compile `tools` (OpenAI shape, as ingest normalizes them). Problems with the schemas
    /// themselves are `trajkit validate`'s to report, not the model's.
    pub fn build(tools: &[Value]) -> ToolSchemas {
        ToolSchemas { set: ToolSet::build(tools, None, "tools", &mut Vec::new()) }
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// Whether a tool of this name is offered.
    pub fn offers(&self, name: &str) -> bool {
        self.set.get(name).is_some()
    }

    /// Check one call: `Err` says why it is invalid.
    pub fn check(&self, name: &str, arguments: &Value) -> Result<(), String> {
        let Some(tool) = self.set.get(name) else {
            return Err(format!("`{name}` is not an offered tool"));
        };
        match tool.violations(arguments).into_iter().next() {
            Some((path, message)) if path.is_empty() => Err(format!("arguments of `{name}`: {message}")),
            Some((path, message)) => Err(format!("arguments of `{name}`, {path}: {message}")),
            None => Ok(()),
        }
    }
}

/// Compiled tool sets by the JSON text of the tool list. Bounded: a run with endlessly varying tool
/// lists starts over instead of growing without limit.
#[derive(Default)]
pub struct SchemaCache {
    sets: Mutex<HashMap<String, Arc<ToolSchemas>>>,
}

const CACHE_LIMIT: usize = 4096;

impl SchemaCache {
    pub fn get(&self, tools: &[Value]) -> Arc<ToolSchemas> {
        if tools.is_empty() {
            return Arc::new(ToolSchemas::default());
        }
        let key = serde_json::to_string(tools).unwrap_or_default();
        self.get_or_build(key, || Ok(ToolSchemas::build(tools))).expect("building from values cannot fail")
    }

    /// The tools of a JSON text (a list of schemas, as a dataset column holds it), parsed only the
    /// first time that text is seen.
    pub fn get_text(&self, text: &str) -> Result<Arc<ToolSchemas>, String> {
        self.get_or_build(text.to_string(), || {
            let tools: Vec<Value> =
                serde_json::from_str(text).map_err(|e| format!("`tools` is not a JSON list: {e}"))?;
            let tools: Vec<Value> = tools.into_iter().map(crate::conversation::normalize_tool).collect();
            Ok(ToolSchemas::build(&tools))
        })
    }

    fn get_or_build(
        &self,
        key: String,
        build: impl FnOnce() -> Result<ToolSchemas, String>,
    ) -> Result<Arc<ToolSchemas>, String> {
        let mut sets = self.sets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(set) = sets.get(&key) {
            return Ok(set.clone());
        }
        if sets.len() >= CACHE_LIMIT {
            sets.clear();
        }
        let set = Arc::new(build()?);
        sets.insert(key, set.clone());
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn calls_are_checked_against_offered_schemas() {
        let tools = ToolSchemas::build(&[
            json!({"type": "function", "function": {"name": "f", "parameters": {
            "type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"], "additionalProperties": false}}}),
            json!({"type": "function", "function": {"name": "bfcl", "parameters": {"type": "dict", "properties": {"x": {"type": "float"}}}}}),
            json!({"type": "function", "function": {"name": "broken", "parameters": {"type": "object", "required": "x"}}}),
        ]);
        assert!(tools.check("f", &json!({"n": 1})).is_ok());
        assert!(tools.check("f", &json!({})).unwrap_err().contains("missing required property `n`"));
        assert!(tools.check("f", &json!({"n": 1, "x": 2})).is_err());
        assert!(tools.check("g", &json!({})).is_err());
        assert!(tools.check("bfcl", &json!({"x": 1.5})).is_ok(), "BFCL types are normalized");
        assert!(tools.check("bfcl", &json!({"x": "a"})).is_err());
        assert!(tools.check("broken", &json!({"anything": 1})).is_ok(), "an unusable schema accepts anything");
    }
}
