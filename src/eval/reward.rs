//! The decomposed reward of one completion, for GRPO.
//!
//! Which components apply depends only on the reference turn, so every completion of the same
//! prompt is scored on the same components and their totals compare (GRPO normalizes rewards within
//! a group of completions of one prompt):
//!
//! | reference turn | components |
//! |---|---|
//! | calls tools | format, schema, tool_selection, arguments |
//! | answers after tool results | format, no_tool, correctness, grounding |
//! | asks for clarification | format, no_tool, correctness, clarification |
//! | answers directly / declines | format, no_tool, correctness |
//!
//! Each component is in [0, 1]: format 1 when the output parses; schema the share of calls valid
//! for their tool's schema (0 without calls); tool_selection the Jaccard overlap of called and
//! reference tool names; arguments the mean over reference calls of the share of argument keys that
//! agree (0 for a reference call with no call of that tool); no_tool 1 without calls; correctness
//! the token F1 of the answer (0 when there is none); grounding 1 when the answer uses a value from
//! the tool results; clarification 1 when it asks a question. An output that does not parse scores
//! 0 on every component. `cost_penalty` counts calls beyond the reference's.
//!
//! total = Σ weight·component / Σ weight (over the components that apply) − cost_penalty_weight ·
//! cost_penalty, so a flawless completion scores 1.

use serde_json::{json, Map, Value};

use super::judge::Judgement;
use super::task::{Task, TurnKind};

/// The components in the order they are reported.
pub const COMPONENTS: [&str; 8] =
    ["format", "schema", "tool_selection", "arguments", "grounding", "correctness", "no_tool", "clarification"];

/// Weight of each component (same order as [`COMPONENTS`]) and of the cost penalty.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    pub components: [f64; 8],
    /// Subtracted from the total per call beyond the reference's count.
    pub cost_penalty: f64,
}

impl Default for Weights {
    /// Format, selection, arguments, correctness and behaviour (no_tool, clarification) weigh 1;
    /// schema and grounding, which partly repeat arguments and correctness, weigh 0.5; each extra
    /// call costs 0.1.
    fn default() -> Self {
        Weights { components: [1.0, 0.5, 1.0, 1.0, 0.5, 1.0, 1.0, 1.0], cost_penalty: 0.1 }
    }
}

impl Weights {
    /// Defaults overridden by a JSON object such as `{"arguments": 2, "cost_penalty": 0.2}`.
    pub fn from_json(value: &Value) -> Result<Weights, String> {
        let Value::Object(map) = value else { return Err("weights must be a JSON object".into()) };
        let mut w = Weights::default();
        for (key, v) in map {
            let x = v
                .as_f64()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| format!("weight `{key}` must be a non-negative number, found {v}"))?;
            match COMPONENTS.iter().position(|c| c == key) {
                Some(i) => w.components[i] = x,
                None if key == "cost_penalty" => w.cost_penalty = x,
                None => return Err(format!("unknown weight `{key}` (known: {}, cost_penalty)", COMPONENTS.join(", "))),
            }
        }
        Ok(w)
    }

    pub fn to_json(&self) -> Value {
        let mut m: Map<String, Value> =
            COMPONENTS.iter().zip(self.components).map(|(c, w)| (c.to_string(), json!(w))).collect();
        m.insert("cost_penalty".into(), json!(self.cost_penalty));
        Value::Object(m)
    }
}

/// One completion's reward.
#[derive(Debug, Clone, PartialEq)]
pub struct Reward {
    /// Per component (order of [`COMPONENTS`]); `None` when it does not apply to this turn.
    pub components: [Option<f64>; 8],
    /// Calls beyond the reference's count.
    pub cost_penalty: f64,
    pub total: f64,
}

impl Reward {
    pub fn get(&self, name: &str) -> Option<f64> {
        COMPONENTS.iter().position(|c| *c == name).and_then(|i| self.components[i])
    }

    pub fn to_json(&self) -> Value {
        let mut m: Map<String, Value> =
            COMPONENTS.iter().zip(self.components).map(|(c, v)| (c.to_string(), json!(v.map(round6)))).collect();
        m.insert("cost_penalty".into(), json!(self.cost_penalty));
        Value::Object(m)
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// The reward of a judged completion.
pub fn reward(task: &Task, j: &Judgement, weights: &Weights) -> Reward {
    let parsed = j.parsed();
    let score = |x: f64| if parsed { x } else { 0.0 };
    let flag = |x: Option<bool>| score(f64::from(u8::from(x.unwrap_or(false))));
    let mut c: [Option<f64>; 8] = [None; 8];
    c[0] = Some(score(1.0));
    if task.kind == TurnKind::Call {
        c[1] = Some(if j.pred_calls == 0 {
            0.0
        } else {
            score((j.pred_calls - j.invalid_calls.len()) as f64 / j.pred_calls as f64)
        });
        c[2] = Some(score(j.name_overlap));
        let per_call: f64 = j.pairs.iter().map(|p| p.key_score()).sum();
        c[3] = Some(score(per_call / j.gold_calls.max(1) as f64));
    } else {
        c[6] = Some(flag(j.no_tool));
        c[5] = Some(score(j.f1.unwrap_or(0.0)));
        if task.kind == TurnKind::Answer {
            c[4] = Some(flag(j.grounded));
        }
        if task.kind == TurnKind::Clarification {
            c[7] = Some(flag(j.clarification));
        }
    }
    let cost_penalty = if parsed { j.pred_calls.saturating_sub(j.gold_calls) as f64 } else { 0.0 };
    let (mut sum, mut total_weight) = (0.0, 0.0);
    for (value, w) in c.iter().zip(weights.components) {
        if let Some(v) = value {
            sum += w * v;
            total_weight += w;
        }
    }
    let base = if total_weight > 0.0 { sum / total_weight } else { 0.0 };
    Reward { components: c, cost_penalty, total: round6(base - weights.cost_penalty * cost_penalty) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_override_defaults_and_reject_unknown_names() {
        let w = Weights::from_json(&json!({"arguments": 2, "cost_penalty": 0.5})).unwrap();
        assert_eq!((w.components[3], w.cost_penalty, w.components[0]), (2.0, 0.5, 1.0));
        assert!(Weights::from_json(&json!({"argumnets": 1})).is_err());
        assert!(Weights::from_json(&json!({"format": -1})).is_err());
    }
}
