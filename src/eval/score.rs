//! `trajkit score`'s protocol: one JSON request (a completion with its reference turn, or the `id`
//! and `turn` of a gold turn) → one JSON response (the reward, its components, the turn's kind, a
//! parse error). The binary's `score` (file mode and `--serve`) and the Python package's `Scorer`
//! both answer with [`Scorer::score_line`], so a reward is the same whichever way it is asked for.

use serde_json::{json, Map, Value};

use super::task::{tasks, tasks_with_tools, GoldSet, Task};
use super::OutputReader;
use super::{judge, prediction, reward, Key, SchemaCache, Weights};
use crate::ingest::{ingest_value, IngestOptions};

/// Everything a request is scored with; read once, shared by threads.
pub struct Scorer {
    pub reader: OutputReader,
    pub weights: Weights,
    pub cache: SchemaCache,
    /// `--gold`: turns that requests name by `id` and `turn` instead of carrying a `reference`.
    pub gold: Option<GoldSet>,
}

impl Scorer {
    pub fn new(reader: OutputReader, weights: Weights, gold: Option<GoldSet>, cache: SchemaCache) -> Scorer {
        Scorer { reader, weights, cache, gold }
    }

    /// One request line → one response object; a bad request is answered with `error` (and a null
    /// reward) rather than ending the session.
    pub fn score_line(&self, line: &str) -> Value {
        let request: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => return json!({"reward": null, "error": format!("request is not JSON: {e}")}),
        };
        let mut response = Map::new();
        for key in ["id", "turn", "custom_id"] {
            if let Some(v) = request.get(key) {
                response.insert(key.into(), v.clone());
            }
        }
        match self.score(&request) {
            Ok(fields) => response.extend(fields),
            Err(e) => {
                response.insert("reward".into(), Value::Null);
                response.insert("error".into(), Value::String(e));
            }
        }
        Value::Object(response)
    }

    fn score(&self, request: &Value) -> Result<Map<String, Value>, String> {
        let output = prediction::output(request)?
            .ok_or("no completion: expected `completion`, `completion_ids`, `output`, `choices` … (docs/eval.md)")?;
        let inline;
        let task: &Task = if request.get("reference").is_some_and(|r| !r.is_null()) {
            inline = inline_task(request, &self.cache)?;
            &inline
        } else {
            let gold = self.gold.as_ref().ok_or("no `reference` (and no --gold to look `id` and `turn` up in)")?;
            match prediction::key(request)? {
                Some(Key::Turn { id, turn }) => {
                    let i = gold.get(&id, turn).ok_or_else(|| format!("no gold turn {turn} of record {id:?}"))?;
                    &gold.tasks[i]
                }
                _ => return Err("no `reference`, and no `id` and `turn` naming a gold turn".into()),
            }
        };
        let parsed = self.reader.parse(&output)?;
        let j = judge(task, parsed);
        let r = reward(task, &j, &self.weights);
        let mut m = Map::new();
        m.insert("reward".into(), json!(r.total));
        m.insert("components".into(), r.to_json());
        m.insert("kind".into(), json!(task.kind.as_str()));
        m.insert("parse_error".into(), json!(j.parse_error.as_ref().map(|e| e.to_string())));
        Ok(m)
    }
}

/// A task from a request that carries its own context: `reference` (the gold assistant message, or
/// its text), `tools`, the conversation so far as `history`, `messages` or `prompt` (a list of messages), and
/// optionally `case`.
fn inline_task(request: &Value, cache: &SchemaCache) -> Result<Task, String> {
    let mut reference = request.get("reference").cloned().unwrap_or(Value::Null);
    if let Value::String(s) = &reference {
        // A datasets column holds the message as a JSON string; plain text is the answer itself.
        reference = match serde_json::from_str::<Value>(s) {
            Ok(m @ Value::Object(_)) if m.get("content").is_some() || m.get("tool_calls").is_some() => m,
            _ => json!({"content": s}),
        };
    }
    let Value::Object(mut reference) = reference else { return Err("`reference` must be a message or text".into()) };
    reference.insert("role".into(), json!("assistant"));
    let history = ["history", "messages", "prompt"].iter().find_map(|k| request.get(*k).filter(|v| !v.is_null()));
    let mut messages: Vec<Value> = match history {
        Some(Value::Array(m)) => m.clone(),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Array(m)) => m,
            _ => Vec::new(), // a rendered prompt: no history to ground against
        },
        _ => Vec::new(),
    };
    messages.push(Value::Object(reference));
    let mut record = Map::new();
    record.insert("messages".into(), Value::Array(messages));
    let case = request.get("case").filter(|c| c.as_str().is_some_and(|c| !c.trim().is_empty()));
    if let Some(case) = case {
        record.insert("case".into(), case.clone());
    }
    // Tools as a JSON string (a dataset column) are compiled once per distinct text. The
    // conversation itself needs them only to infer the case when the request names none.
    let tools = match request.get("tools") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if case.is_some() => Some(cache.get_text(text)?),
        Some(tools) => {
            record.insert("tools".into(), tools.clone());
            None
        }
    };
    let ingested = ingest_value(Value::Object(record), "request", &IngestOptions::default())
        .map_err(|e| format!("request: {e}"))?;
    let conversation = ingested.conversation;
    let tasks = match tools {
        Some(tools) => tasks_with_tools(conversation, tools),
        None => tasks(conversation, cache),
    };
    tasks.into_iter().next_back().ok_or_else(|| "request: no assistant reference".to_string())
}
