//! Judging one prediction against its task: every fact the metrics and the reward are made of.
//!
//! Calls are compared as a set of tool names (selection) and, for each reference call, with the
//! predicted call of the same tool whose arguments agree best (order does not matter: parallel
//! calls come in any order). Arguments are compared as JSON values, numbers by value (`1` equals
//! `1.0`), strings exactly. A prediction that does not parse fails every check the reference
//! defines (it made no valid call and gave no usable answer).

use std::collections::BTreeSet;

use serde_json::Value;

use super::task::{Task, TurnKind};
use super::text::{exact_match, token_f1};
use crate::completion::ParseError;
use crate::conversation::Message;
use crate::text::phrases::asks_for_information;

/// How one argument key of a matched call came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    Correct,
    /// Present in both, different values.
    Wrong,
    /// In the reference, not in the prediction.
    Missing,
    /// In the prediction, not in the reference.
    Extra,
}

/// A reference call and the predicted call of the same tool matched to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub tool: String,
    pub exact: bool,
    pub keys: Vec<(String, KeyStatus)>,
}

impl Pair {
    /// Share of keys (of either side) that agree; 1 for two empty argument lists.
    pub fn key_score(&self) -> f64 {
        if self.keys.is_empty() {
            return 1.0;
        }
        self.keys.iter().filter(|(_, s)| *s == KeyStatus::Correct).count() as f64 / self.keys.len() as f64
    }
}

/// Everything known about one prediction.
#[derive(Debug, Clone)]
pub struct Judgement {
    pub parse_error: Option<ParseError>,
    pub predicted: Option<Message>,
    pub gold_calls: usize,
    pub pred_calls: usize,
    /// Why predicted calls are invalid (unknown tool, arguments against the schema), one per call.
    pub invalid_calls: Vec<String>,
    /// Some when the reference calls tools: the same set of tool names was called.
    pub tool_selection: Option<bool>,
    /// Jaccard similarity of the called and the reference tool names.
    pub name_overlap: f64,
    pub pairs: Vec<Pair>,
    /// Reference calls with no predicted call of that tool left to match.
    pub unmatched_gold: usize,
    pub no_tool: Option<bool>,
    pub clarification: Option<bool>,
    pub decline: Option<bool>,
    pub grounded: Option<bool>,
    pub exact_match: Option<bool>,
    pub f1: Option<f64>,
    /// Predicted calls that repeat a call (same tool, same arguments) made earlier in the output or
    /// earlier in the same user turn.
    pub repeated_calls: usize,
}

impl Judgement {
    pub fn parsed(&self) -> bool {
        self.parse_error.is_none()
    }

    /// Parsed and made no call.
    pub fn answered(&self) -> bool {
        self.parsed() && self.pred_calls == 0
    }

    /// Some when the prediction made calls: all of them are valid.
    pub fn schema(&self) -> Option<bool> {
        (self.parsed() && self.pred_calls > 0).then_some(self.invalid_calls.is_empty())
    }

    /// Some when a call was matched: every matched call has exactly the reference's arguments.
    pub fn arguments(&self) -> Option<bool> {
        (!self.pairs.is_empty()).then(|| self.pairs.iter().all(|p| p.exact))
    }

    /// The checks this prediction fails, by metric name (see docs/eval.md).
    pub fn failed(&self) -> Vec<&'static str> {
        let parsed = self.parsed();
        let checks = [
            ("format", Some(parsed)),
            ("schema", self.schema()),
            ("tool_selection", self.tool_selection),
            ("arguments", self.arguments()),
            ("no_tool", self.no_tool),
            ("clarification", self.clarification),
            ("decline", self.decline),
            ("grounding", self.grounded),
            ("exact_match", self.exact_match),
            ("over_calling", parsed.then_some(self.pred_calls <= self.gold_calls)),
            ("under_calling", parsed.then_some(self.pred_calls >= self.gold_calls)),
            ("repeated_call", parsed.then_some(self.repeated_calls == 0)),
        ];
        checks.iter().filter(|(_, ok)| *ok == Some(false)).map(|(name, _)| *name).collect()
    }
}

/// Judge a parsed (or unparseable) prediction for `task`.
pub fn judge(task: &Task, prediction: Result<Message, ParseError>) -> Judgement {
    let gold = task.reference();
    let kind = task.kind;
    let gold_calls = gold.tool_calls.len();
    let mut j = Judgement {
        parse_error: None,
        predicted: None,
        gold_calls,
        pred_calls: 0,
        invalid_calls: Vec::new(),
        tool_selection: (gold_calls > 0).then_some(false),
        name_overlap: 0.0,
        pairs: Vec::new(),
        unmatched_gold: gold_calls,
        no_tool: kind.no_call().then_some(false),
        clarification: (kind == TurnKind::Clarification).then_some(false),
        decline: (kind == TurnKind::Decline).then_some(false),
        grounded: None,
        exact_match: None,
        f1: None,
        repeated_calls: 0,
    };
    let m = match prediction {
        Ok(m) => m,
        Err(e) => {
            j.parse_error = Some(e);
            return j;
        }
    };
    j.pred_calls = m.tool_calls.len();
    let calls: Vec<(&str, Value)> =
        m.tool_calls.iter().map(|c| (c.name.as_str(), c.arguments.parsed().unwrap_or(Value::Null))).collect();
    for (name, args) in &calls {
        if let Err(why) = task.tools.check(name, args) {
            j.invalid_calls.push(why);
        }
    }
    let gold_names: BTreeSet<&str> = gold.tool_calls.iter().map(|c| c.name.as_str()).collect();
    let pred_names: BTreeSet<&str> = calls.iter().map(|(n, _)| *n).collect();
    if gold_calls > 0 {
        j.tool_selection = Some(gold_names == pred_names);
        let union = gold_names.union(&pred_names).count();
        j.name_overlap = gold_names.intersection(&pred_names).count() as f64 / union as f64;
    }
    let mut used = vec![false; calls.len()];
    j.unmatched_gold = 0;
    for g in &gold.tool_calls {
        let want = g.arguments.parsed().unwrap_or(Value::Null);
        let best = calls
            .iter()
            .enumerate()
            .filter(|(i, (name, _))| !used[*i] && *name == g.name)
            .map(|(i, (_, args))| (i, compare(&want, args)))
            .max_by(|a, b| {
                (a.1.exact, a.1.key_score()).partial_cmp(&(b.1.exact, b.1.key_score())).unwrap().then(b.0.cmp(&a.0))
            });
        match best {
            Some((i, mut pair)) => {
                used[i] = true;
                pair.tool = g.name.clone();
                j.pairs.push(pair);
            }
            None => j.unmatched_gold += 1,
        }
    }
    for (i, (name, args)) in calls.iter().enumerate() {
        let again = calls[..i].iter().any(|(n, a)| n == name && same_value(a, args))
            || task.earlier_calls.iter().any(|(n, a)| n == name && same_value(a, args));
        j.repeated_calls += usize::from(again);
    }
    let answered = j.pred_calls == 0;
    if kind.no_call() {
        j.no_tool = Some(answered);
        if answered {
            j.exact_match = Some(exact_match(&m.content, &gold.content));
            j.f1 = Some(token_f1(&m.content, &gold.content));
        }
    }
    if kind == TurnKind::Clarification {
        j.clarification = Some(answered && asks_for_information(&m.content).is_some());
    }
    if kind == TurnKind::Decline {
        j.decline = Some(answered && !m.content.trim().is_empty());
    }
    if kind == TurnKind::Answer && answered {
        j.grounded = Some(task.salient.used_by(&m.content));
    }
    j.predicted = Some(m);
    j
}

/// Key by key comparison of reference and predicted arguments.
fn compare(gold: &Value, pred: &Value) -> Pair {
    let empty = serde_json::Map::new();
    let g = gold.as_object().unwrap_or(&empty);
    let p = pred.as_object().unwrap_or(&empty);
    let mut keys = Vec::new();
    for (k, v) in g {
        let status = match p.get(k) {
            None => KeyStatus::Missing,
            Some(x) if same_value(v, x) => KeyStatus::Correct,
            Some(_) => KeyStatus::Wrong,
        };
        keys.push((k.clone(), status));
    }
    for k in p.keys().filter(|k| !g.contains_key(*k)) {
        keys.push((k.clone(), KeyStatus::Extra));
    }
    let exact = keys.iter().all(|(_, s)| *s == KeyStatus::Correct) && (gold.is_object() == pred.is_object());
    Pair { tool: String::new(), exact, keys }
}

/// JSON equality with numbers compared by value.
pub fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
            (Some(x), Some(y), _, _) => x == y,
            (_, _, Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_value(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_compare_by_value_and_keys_by_status() {
        assert!(same_value(&json!({"a": [1, 2.0]}), &json!({"a": [1.0, 2]})));
        assert!(!same_value(&json!("1"), &json!(1)));
        let p = compare(&json!({"city": "Lyon", "days": 3}), &json!({"city": "Lyon", "days": 2, "unit": "c"}));
        assert!(!p.exact);
        assert_eq!(
            p.keys.iter().map(|(_, s)| *s).collect::<Vec<_>>(),
            vec![KeyStatus::Correct, KeyStatus::Wrong, KeyStatus::Extra]
        );
        assert!((p.key_score() - 1.0 / 3.0).abs() < 1e-9);
    }
}
