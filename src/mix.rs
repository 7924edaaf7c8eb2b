//! What a dataset teaches: its case mix (stats' classification), calls per record, tokens per row,
//! the tools offered and called, and the mix problems that will show up in the trained model.
//! `trajkit stats` prints it and `trajkit report` draws it; both count records through
//! [`record_stats`] and [`Totals::add`], so they agree.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::diagnostic::Code;
use crate::ingest;
use crate::pipeline::Converter;
use crate::source::RawRecord;
use crate::validate::cases::{classify, Case, Classification, Flags};

/// What one record contributes.
pub struct RecordStats {
    pub id: String,
    pub class: Classification,
    tools_offered: Vec<String>,
    /// Tokens of each row the record becomes, or the code of why it does not render.
    pub tokens: Result<Vec<usize>, Code>,
    /// The codes of ingest's warnings (for `report`).
    pub warnings: Vec<Code>,
}

/// Read, classify and render one record.
pub fn record_stats(converter: &Converter, record: &RawRecord) -> Result<RecordStats, String> {
    let ingested = ingest::read(record, &converter.ingest).map_err(|e| e.to_string())?;
    let warnings = ingested.warnings.iter().map(|w| w.code).collect();
    let conversation = ingested.conversation;
    let class = classify(&conversation);
    let tools_offered = conversation.tool_names().into_iter().map(str::to_string).collect();
    let tokens = converter
        .convert_conversation(conversation.clone(), Vec::new())
        .map(|done| done.rows.iter().map(|r| r.input_ids.len()).collect())
        .map_err(|p| p.code);
    Ok(RecordStats { id: conversation.id, class, tools_offered, tokens, warnings })
}

#[derive(Default)]
pub struct Totals {
    pub records: usize,
    /// Records that could not be read (counted by the caller, which reports them).
    pub unreadable: usize,
    pub cases: BTreeMap<String, usize>,
    pub flags: BTreeMap<&'static str, usize>,
    /// Records whose explicit `case` differs from what the rules infer.
    disagreements: usize,
    calls: Vec<usize>,
    row_tokens: Vec<usize>,
    not_rendered: BTreeMap<Code, usize>,
    /// Tool name → (records offering it, calls to it).
    tools: BTreeMap<String, (usize, usize)>,
}

impl Totals {
    pub fn add(&mut self, stats: RecordStats) {
        self.records += 1;
        *self.cases.entry(stats.class.case.clone()).or_default() += 1;
        for flag in stats.class.flags.names() {
            *self.flags.entry(flag).or_default() += 1;
        }
        if stats.class.explicit && stats.class.case != stats.class.inferred.as_str() {
            self.disagreements += 1;
        }
        self.calls.push(stats.class.calls);
        match stats.tokens {
            Ok(rows) => self.row_tokens.extend(rows),
            Err(code) => *self.not_rendered.entry(code).or_default() += 1,
        }
        for name in stats.tools_offered {
            self.tools.entry(name).or_default().0 += 1;
        }
        for name in stats.class.tools_called {
            self.tools.entry(name).or_default().1 += 1;
        }
    }

    fn count(&self, case: Case) -> usize {
        self.cases.get(case.as_str()).copied().unwrap_or(0)
    }

    fn share(&self, n: usize) -> f64 {
        if self.records == 0 {
            0.0
        } else {
            n as f64 / self.records as f64
        }
    }

    /// The mix problems that will show up in the trained model, in plain words.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.records == 0 {
            return w;
        }
        let direct = self.count(Case::NoTool) + self.count(Case::IrrelevantTool);
        if direct == 0 {
            w.push(
                "No record answers without calling a tool: the model will learn to call a tool for everything \
                 (over-calling). Add direct answers, with and without tools offered."
                    .into(),
            );
        }
        if self.count(Case::Clarification) == 0 {
            w.push(
                "No record asks the user for missing information: the model will learn to guess arguments it \
                 was not given."
                    .into(),
            );
        }
        if self.count(Case::UnavailableTool) + self.count(Case::IrrelevantTool) == 0 {
            w.push(
                "No record declines when the tools cannot do the task or do not fit it: the model will learn to \
                 force a call with the nearest tool."
                    .into(),
            );
        }
        if self.count(Case::FailedTool) == 0 {
            w.push(
                "No record has a tool that fails: the model will not learn what to do when a call returns an \
                 error."
                    .into(),
            );
        }
        let required = self.share(self.count(Case::ToolRequired));
        if required >= 0.9 && self.records >= 20 {
            w.push(format!(
                "{:.0}% of records call a tool: the model will learn that every request needs one.",
                required * 100.0
            ));
        }
        let total_calls: usize = self.tools.values().map(|(_, c)| c).sum();
        let offered = self.tools.values().filter(|(o, _)| *o > 0).count();
        if let Some((name, (_, calls))) = self.tools.iter().max_by_key(|(_, (_, c))| *c) {
            let share = *calls as f64 / total_calls.max(1) as f64;
            if offered >= 3 && total_calls >= 10 && share > 0.5 {
                w.push(format!(
                    "`{name}` makes {:.0}% of all calls: the model will lean towards it whatever the request.",
                    share * 100.0
                ));
            }
        }
        if self.disagreements > 0 {
            w.push(format!(
                "{} record(s) carry a `case` field that differs from what trajkit infers; check those labels \
                 (--per-record lists both).",
                self.disagreements
            ));
        }
        w
    }

    /// The table `trajkit stats` prints.
    pub fn text(&self, template: &str) -> String {
        let mut s = format!("{} records", self.records);
        if self.unreadable > 0 {
            s.push_str(&format!(" ({} more could not be read)", self.unreadable));
        }
        s.push_str("\n\ncase               records   share\n");
        let mut cases: Vec<(String, usize)> =
            Case::ALL.iter().map(|c| (c.as_str().to_string(), self.count(*c))).collect();
        cases.extend(self.cases.iter().filter(|(k, _)| Case::parse(k).is_none()).map(|(k, v)| (k.clone(), *v)));
        for (case, n) in cases {
            s.push_str(&format!("{case:<17}  {n:>7}  {:>5.1}%\n", self.share(n) * 100.0));
        }
        s.push_str("\nflag               records   share\n");
        for flag in Flags::NAMES {
            let n = self.flags.get(flag).copied().unwrap_or(0);
            s.push_str(&format!("{flag:<17}  {n:>7}  {:>5.1}%\n", self.share(n) * 100.0));
        }
        let calls = Summary::of(&self.calls);
        let with_calls = self.calls.iter().filter(|&&c| c > 0).count();
        s.push_str(&format!(
            "\ncalls per record: mean {:.2}, median {}, max {}; {} record(s) with calls\n",
            calls.mean, calls.median, calls.max, with_calls
        ));
        let tokens = Summary::of(&self.row_tokens);
        s.push_str(&format!(
            "tokens per row ({template}): min {}, median {}, p95 {}, max {} over {} row(s)\n",
            tokens.min,
            tokens.median,
            tokens.p95,
            tokens.max,
            self.row_tokens.len()
        ));
        if !self.not_rendered.is_empty() {
            let why: Vec<String> = self.not_rendered.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            s.push_str(&format!("records that do not render: {}\n", why.join(", ")));
        }
        let offered = self.tools.values().filter(|(o, _)| *o > 0).count();
        let called = self.tools.values().filter(|(_, c)| *c > 0).count();
        s.push_str(&format!("\ntools: {offered} offered, {called} called\n"));
        let mut by_calls: Vec<(&String, &(usize, usize))> = self.tools.iter().collect();
        by_calls.sort_by(|a, b| b.1 .1.cmp(&a.1 .1).then(a.0.cmp(b.0)));
        for (name, (offered_in, calls)) in by_calls.iter().take(15) {
            s.push_str(&format!("  {name:<30} offered in {offered_in:>5} record(s), called {calls:>5} time(s)\n"));
        }
        if by_calls.len() > 15 {
            s.push_str(&format!("  … and {} more\n", by_calls.len() - 15));
        }
        let never: Vec<&str> =
            self.tools.iter().filter(|(_, (o, c))| *o > 0 && *c == 0).map(|(n, _)| n.as_str()).collect();
        if !never.is_empty() {
            let shown: Vec<&str> = never.iter().take(10).copied().collect();
            let more = if never.len() > 10 { format!(" and {} more", never.len() - 10) } else { String::new() };
            s.push_str(&format!("  offered but never called: {}{more}\n", shown.join(", ")));
        }
        let warnings = self.warnings();
        if !warnings.is_empty() {
            s.push_str("\nwarnings:\n");
            for w in warnings {
                s.push_str(&format!("  - {w}\n"));
            }
        }
        s
    }

    /// `trajkit stats --format json`.
    pub fn json(&self, template: &str) -> Value {
        let cases: serde_json::Map<String, Value> = Case::ALL
            .iter()
            .map(|c| c.as_str().to_string())
            .chain(self.cases.keys().filter(|k| Case::parse(k).is_none()).cloned())
            .map(|c| {
                let n = self.cases.get(&c).copied().unwrap_or(0);
                (c, json!({"records": n, "share": self.share(n)}))
            })
            .collect();
        let flags: serde_json::Map<String, Value> = Flags::NAMES
            .iter()
            .map(|f| {
                let n = self.flags.get(f).copied().unwrap_or(0);
                (f.to_string(), json!({"records": n, "share": self.share(n)}))
            })
            .collect();
        let calls = Summary::of(&self.calls);
        let tokens = Summary::of(&self.row_tokens);
        let tools: serde_json::Map<String, Value> = self
            .tools
            .iter()
            .map(|(name, (offered, called))| (name.clone(), json!({"offered_in": offered, "calls": called})))
            .collect();
        json!({
            "records": self.records,
            "unreadable": self.unreadable,
            "cases": cases,
            "flags": flags,
            "explicit_case_disagreements": self.disagreements,
            "calls_per_record": {"mean": calls.mean, "median": calls.median, "max": calls.max},
            "tokens_per_row": {"template": template, "rows": self.row_tokens.len(), "min": tokens.min,
                               "median": tokens.median, "p95": tokens.p95, "max": tokens.max},
            "not_rendered": self.not_rendered,
            "tools": tools,
            "warnings": self.warnings(),
        })
    }
}

/// Min, median, 95th percentile (nearest rank), max and mean of a list of counts.
struct Summary {
    min: usize,
    median: usize,
    p95: usize,
    max: usize,
    mean: f64,
}

impl Summary {
    fn of(values: &[usize]) -> Summary {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        let rank = |p: f64| {
            if sorted.is_empty() {
                0
            } else {
                sorted[((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1]
            }
        };
        Summary {
            min: sorted.first().copied().unwrap_or(0),
            median: rank(0.5),
            p95: rank(0.95),
            max: sorted.last().copied().unwrap_or(0),
            mean: if sorted.is_empty() { 0.0 } else { sorted.iter().sum::<usize>() as f64 / sorted.len() as f64 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let s = Summary::of(&(1..=20).collect::<Vec<_>>());
        assert_eq!((s.min, s.median, s.p95, s.max), (1, 10, 19, 20));
        let empty = Summary::of(&[]);
        assert_eq!((empty.min, empty.max), (0, 0));
    }
}
