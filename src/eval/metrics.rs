//! Metrics: judgements summed overall and per case type, as a table for people and JSON for
//! machines.
//!
//! Every rate is `ok / n` with its own `n`, the predictions it applies to (see docs/eval.md):
//! format validity over all predictions, schema validity over predictions that call tools, tool
//! selection over turns whose reference calls tools, argument accuracy over matched calls, no-tool
//! accuracy over turns whose reference calls none, clarification and decline accuracy over turns
//! that should ask or decline, grounding and answer correctness over answers given where the
//! reference answers.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{json, Map, Value};

use super::judge::{Judgement, KeyStatus};
use super::task::Task;

/// `ok` out of `n`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rate {
    pub ok: usize,
    pub n: usize,
}

impl Rate {
    fn add(&mut self, outcome: Option<bool>) {
        if let Some(ok) = outcome {
            self.n += 1;
            self.ok += usize::from(ok);
        }
    }

    pub fn value(&self) -> Option<f64> {
        (self.n > 0).then(|| self.ok as f64 / self.n as f64)
    }

    fn json(&self) -> Value {
        json!({"value": self.value().map(round4), "ok": self.ok, "n": self.n})
    }

    /// The share that failed, as a rate of its own.
    fn failures(&self) -> Rate {
        Rate { ok: self.n - self.ok, n: self.n }
    }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Sums over a set of judgements.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub predictions: usize,
    pub format: Rate,
    pub schema: Rate,
    pub tool_selection: Rate,
    /// Per matched call.
    pub arguments: Rate,
    pub keys: Rate,
    pub keys_missing: usize,
    pub keys_wrong: usize,
    pub keys_extra: usize,
    pub no_tool: Rate,
    pub clarification: Rate,
    pub decline: Rate,
    pub grounding: Rate,
    pub exact_match: Rate,
    pub f1_sum: f64,
    /// Parsed predictions: the base of the call counts.
    pub parsed: usize,
    pub pred_calls: usize,
    pub gold_calls: usize,
    /// Parsed predictions with at most as many calls as the reference (the others over-called).
    pub within_calls: Rate,
    /// Parsed predictions with at least as many calls as the reference (the others under-called).
    pub enough_calls: Rate,
    /// Parsed predictions that repeat no call.
    pub no_repeats: Rate,
    pub repeated_calls: usize,
}

impl Summary {
    pub fn add(&mut self, j: &Judgement) {
        self.predictions += 1;
        self.format.add(Some(j.parsed()));
        self.schema.add(j.schema());
        self.tool_selection.add(j.tool_selection);
        for p in &j.pairs {
            self.arguments.add(Some(p.exact));
            for (_, status) in &p.keys {
                self.keys.add(Some(*status == KeyStatus::Correct));
                match status {
                    KeyStatus::Missing => self.keys_missing += 1,
                    KeyStatus::Wrong => self.keys_wrong += 1,
                    KeyStatus::Extra => self.keys_extra += 1,
                    KeyStatus::Correct => {}
                }
            }
        }
        self.no_tool.add(j.no_tool);
        self.clarification.add(j.clarification);
        self.decline.add(j.decline);
        self.grounding.add(j.grounded);
        self.exact_match.add(j.exact_match);
        self.f1_sum += j.f1.unwrap_or(0.0);
        if j.parsed() {
            self.parsed += 1;
            self.pred_calls += j.pred_calls;
            self.gold_calls += j.gold_calls;
            self.within_calls.add(Some(j.pred_calls <= j.gold_calls));
            self.enough_calls.add(Some(j.pred_calls >= j.gold_calls));
            self.no_repeats.add(Some(j.repeated_calls == 0));
            self.repeated_calls += j.repeated_calls;
        }
    }

    pub fn f1(&self) -> Option<f64> {
        (self.exact_match.n > 0).then(|| self.f1_sum / self.exact_match.n as f64)
    }

    fn per_turn(&self, calls: usize) -> Option<f64> {
        (self.parsed > 0).then(|| calls as f64 / self.parsed as f64)
    }

    /// The accuracy rows of the report: name, JSON key, rate (`ok` of `n` is good).
    fn rates(&self) -> Vec<(&'static str, &'static str, Rate)> {
        vec![
            ("format validity", "format_validity", self.format),
            ("schema validity", "schema_validity", self.schema),
            ("tool selection", "tool_selection", self.tool_selection),
            ("arguments, exact (per call)", "argument_accuracy", self.arguments),
            ("arguments, per key", "argument_key_accuracy", self.keys),
            ("no-tool accuracy", "no_tool_accuracy", self.no_tool),
            ("clarification accuracy", "clarification_accuracy", self.clarification),
            ("decline accuracy", "decline_accuracy", self.decline),
            ("grounding", "grounding", self.grounding),
            ("answer exact match", "answer_exact_match", self.exact_match),
        ]
    }

    /// The failure-rate rows: name, JSON key, (count, n) of parsed predictions.
    fn failure_rates(&self) -> Vec<(&'static str, &'static str, Rate)> {
        vec![
            ("over-calling rate", "over_calling_rate", self.within_calls.failures()),
            ("under-calling rate", "under_calling_rate", self.enough_calls.failures()),
            ("repeated-call rate", "repeated_call_rate", self.no_repeats.failures()),
        ]
    }

    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("predictions".into(), json!(self.predictions));
        for (_, key, rate) in self.rates() {
            m.insert(key.into(), rate.json());
        }
        for (_, key, rate) in self.failure_rates() {
            m.insert(key.into(), json!({"value": rate.value().map(round4), "count": rate.ok, "n": rate.n}));
        }
        if let Some(Value::Object(keys)) = m.get_mut("argument_key_accuracy") {
            keys.insert("missing".into(), json!(self.keys_missing));
            keys.insert("wrong".into(), json!(self.keys_wrong));
            keys.insert("extra".into(), json!(self.keys_extra));
        }
        m.insert("answer_token_f1".into(), json!({"value": self.f1().map(round4), "n": self.exact_match.n}));
        m.insert(
            "calls_per_turn".into(),
            json!({"predicted": self.per_turn(self.pred_calls).map(round4), "gold": self.per_turn(self.gold_calls).map(round4), "n": self.parsed}),
        );
        m.insert("repeated_calls".into(), json!(self.repeated_calls));
        Value::Object(m)
    }
}

/// A whole evaluation run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub overall: Summary,
    pub by_case: BTreeMap<String, Summary>,
    /// Per argument key, as `tool.key`.
    pub by_key: BTreeMap<String, Rate>,
    pub parse_errors: BTreeMap<&'static str, usize>,
}

impl Report {
    pub fn add(&mut self, task: &Task, j: &Judgement) {
        self.overall.add(j);
        self.by_case.entry(task.case.clone()).or_default().add(j);
        for p in &j.pairs {
            for (key, status) in &p.keys {
                self.by_key.entry(format!("{}.{key}", p.tool)).or_default().add(Some(*status == KeyStatus::Correct));
            }
        }
        if let Some(e) = &j.parse_error {
            *self.parse_errors.entry(e.code()).or_default() += 1;
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "overall": self.overall.to_json(),
            "by_case": self.by_case.iter().map(|(k, v)| (k.clone(), v.to_json())).collect::<Map<_, _>>(),
            "by_argument_key": self.by_key.iter().map(|(k, v)| (k.clone(), v.json())).collect::<Map<_, _>>(),
            "parse_errors": self.parse_errors.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<Map<_, _>>(),
        })
    }

    /// The readable table: every metric overall with its count, then one row per case type.
    pub fn table(&self) -> String {
        let o = &self.overall;
        let mut out = String::new();
        let _ = writeln!(out, "{:<30} {:>7} {:>11}", "metric", "value", "count");
        for (name, _, rate) in o.rates() {
            let _ = writeln!(out, "{:<30} {:>7} {:>11}", name, fmt(rate.value()), format!("{}/{}", rate.ok, rate.n));
        }
        let _ = writeln!(out, "{:<30} {:>7} {:>11}", "answer token F1", fmt(o.f1()), format!("n={}", o.exact_match.n));
        for (name, _, rate) in o.failure_rates() {
            let _ = writeln!(out, "{:<30} {:>7} {:>11}", name, fmt(rate.value()), format!("{}/{}", rate.ok, rate.n));
        }
        let calls = format!("{} / {}", fmt2(o.per_turn(o.pred_calls)), fmt2(o.per_turn(o.gold_calls)));
        let _ = writeln!(out, "{:<30} {:>19}", "calls per turn (pred / gold)", calls);
        if o.keys_missing + o.keys_wrong + o.keys_extra > 0 {
            let _ = writeln!(
                out,
                "argument keys: {} missing, {} wrong, {} extra",
                o.keys_missing, o.keys_wrong, o.keys_extra
            );
        }
        if !self.parse_errors.is_empty() {
            let list: Vec<String> = self.parse_errors.iter().map(|(k, v)| format!("{k} {v}")).collect();
            let _ = writeln!(out, "parse errors: {}", list.join(", "));
        }
        let columns =
            ["format", "schema", "select", "args", "no_tool", "clarif", "decline", "ground", "EM", "F1", "over"];
        let _ = write!(out, "\n{:<18} {:>5}", "case", "n");
        for c in columns {
            let _ = write!(out, " {c:>7}");
        }
        out.push('\n');
        for (case, s) in &self.by_case {
            let _ = write!(out, "{:<18} {:>5}", case, s.predictions);
            let cells = [
                s.format.value(),
                s.schema.value(),
                s.tool_selection.value(),
                s.arguments.value(),
                s.no_tool.value(),
                s.clarification.value(),
                s.decline.value(),
                s.grounding.value(),
                s.exact_match.value(),
                s.f1(),
                s.within_calls.failures().value(),
            ];
            for cell in cells {
                let _ = write!(out, " {:>7}", fmt(cell));
            }
            out.push('\n');
        }
        out
    }
}

fn fmt(x: Option<f64>) -> String {
    x.map_or("–".into(), |x| format!("{x:.3}"))
}

fn fmt2(x: Option<f64>) -> String {
    x.map_or("–".into(), |x| format!("{x:.2}"))
}
