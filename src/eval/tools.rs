//! The tools a gold turn offers, compiled once, to tell whether a predicted call is valid.
//!
//! A call is schema-valid when it names an offered tool and its arguments validate against that
//! tool's `parameters` (JSON Schema, checked with the jsonschema crate: required keys, types, enums,
//! patterns, `additionalProperties: false`). A tool whose schema cannot be compiled (BFCL-style
//! `dict`/`float` types, a broken schema) accepts any arguments: judging calls against a schema that
//! is itself wrong would blame the model for the dataset. `trajkit validate` reports such schemas.
//!
//! Compiling a schema costs far more than checking a call, and a reward server sees the same tool
//! list in every request of a training run, so compiled sets are cached by the list's JSON text.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

/// One offered tool.
struct Tool {
    name: String,
    validator: Option<jsonschema::Validator>,
}

/// The tools of one record, ready to check calls against.
#[derive(Default)]
pub struct ToolSchemas {
    tools: Vec<Tool>,
}

impl ToolSchemas {
    /// Compile `tools` (OpenAI shape, or bare `{name, parameters}`).
    pub fn build(tools: &[Value]) -> ToolSchemas {
        let tools = tools
            .iter()
            .filter_map(|t| {
                let f = t.get("function").unwrap_or(t);
                let name = f.get("name")?.as_str()?.to_string();
                let validator =
                    f.get("parameters").filter(|p| p.is_object()).and_then(|p| jsonschema::validator_for(p).ok());
                Some(Tool { name, validator })
            })
            .collect();
        ToolSchemas { tools }
    }

    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    /// Whether a tool of this name is offered.
    pub fn offers(&self, name: &str) -> bool {
        self.tools.iter().any(|t| t.name == name)
    }

    /// Check one call: `Err` says why it is invalid.
    pub fn check(&self, name: &str, arguments: &Value) -> Result<(), String> {
        let Some(tool) = self.tools.iter().find(|t| t.name == name) else {
            return Err(format!("`{name}` is not an offered tool"));
        };
        match &tool.validator {
            Some(v) if !v.is_valid(arguments) => {
                let first = v.iter_errors(arguments).next().map(|e| e.to_string()).unwrap_or_default();
                Err(format!("arguments of `{name}` break its schema: {first}"))
            }
            _ => Ok(()),
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
        let mut sets = self.sets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(set) = sets.get(&key) {
            return set.clone();
        }
        if sets.len() >= CACHE_LIMIT {
            sets.clear();
        }
        let set = Arc::new(ToolSchemas::build(tools));
        sets.insert(key, set.clone());
        set
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
            json!({"name": "loose", "parameters": {"type": "dict", "properties": {}}}),
        ]);
        assert!(tools.check("f", &json!({"n": 1})).is_ok());
        assert!(tools.check("f", &json!({})).is_err());
        assert!(tools.check("f", &json!({"n": 1, "x": 2})).is_err());
        assert!(tools.check("g", &json!({})).is_err());
        assert!(tools.check("loose", &json!({"anything": 1})).is_ok(), "an unusable schema accepts anything");
    }
}
