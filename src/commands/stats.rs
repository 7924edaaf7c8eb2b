//! `trajkit stats`: what a dataset is made of, and whether that mix will teach the right habits.

use std::collections::BTreeMap;
use std::io::Write as _;

use anyhow::{Context as _, Result};
use serde_json::{json, Value};

use super::settings::{converter, for_each_record, thread_pool};
use super::{Exit, Output};
use crate::cli::{FormatArg, StatsArgs};
use trajkit::ingest;
use trajkit::mix::{record_stats, RecordStats, Totals};
use trajkit::pairs::input::read_pair;
use trajkit::pairs::{Pair, Side};
use trajkit::source::RawRecord;

pub fn run(args: StatsArgs) -> Result<Exit> {
    if let Some(exit) = stats_if_pairs(&args.inputs, matches!(args.format, FormatArg::Json))? {
        return Ok(exit);
    }
    let converter = converter(&args.render, true)?;
    let pool = thread_pool(args.render.threads)?;
    let mut per_record = match &args.per_record {
        Some(path) => Some(Output::open(Some(path)).with_context(|| format!("--per-record {path}"))?),
        None => None,
    };
    let work = |record: &RawRecord| record_stats(&converter, record);
    let mut totals = Totals::default();
    for_each_record(&args.inputs, &pool, work, |record, stats| {
        let stats = match stats {
            Ok(s) => s,
            Err(message) => {
                totals.unreadable += 1;
                eprintln!("error: {}: {message}", record.location);
                return Ok(true);
            }
        };
        if let Some(out) = &mut per_record {
            out.line(&per_record_line(record, &stats).to_string())?;
        }
        totals.add(stats);
        Ok(true)
    })?;
    if let Some(out) = &mut per_record {
        out.finish()?;
    }
    let mut out = Output::open(None)?;
    match args.format {
        FormatArg::Json => out.line(&totals.json(&converter.template.name).to_string())?,
        FormatArg::Text => out.line(totals.text(&converter.template.name).trim_end())?,
    };
    out.finish()?;
    let _ = std::io::stderr().flush();
    Ok(if totals.unreadable > 0 { Exit::Problems } else { Exit::Success })
}

fn per_record_line(record: &RawRecord, stats: &RecordStats) -> Value {
    json!({
        "id": stats.id,
        "file": &*record.location.file,
        "line": record.location.line,
        "case": stats.class.case,
        "explicit": stats.class.explicit,
        "inferred": stats.class.inferred.as_str(),
        "flags": stats.class.flags.names(),
        "calls": stats.class.calls,
        "tools_called": stats.class.tools_called,
        "tokens": stats.tokens.as_ref().ok(),
        "evidence": stats.class.evidence,
    })
}

/// `stats` on a file of pairs (its first record is a pair): pairs by kind, and what each side does.
/// `None` when the input holds trajectories.
fn stats_if_pairs(inputs: &[String], json: bool) -> Result<Option<Exit>> {
    let first = inputs.first().and_then(|input| {
        let mut reader = trajkit::source::RecordReader::open(input, 0).ok()?;
        let record = reader.next()?.ok()?;
        let value: serde_json::Value = serde_json::from_str(record.text.as_ref().ok()?).ok()?;
        Some(trajkit::pairs::is_pair_record(&value))
    });
    if first != Some(true) {
        return Ok(None);
    }
    let pool = thread_pool(None)?;
    let work = |record: &trajkit::source::RawRecord| -> Result<Pair, String> {
        let parsed = ingest::parse(record).map_err(|e| e.to_string())?;
        read_pair(&parsed.value, &ingest::default_id(&parsed.location), &Default::default()).map_err(|p| p.to_string())
    };
    let (mut pairs, mut unreadable) = (0usize, 0usize);
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut calls: BTreeMap<&'static str, usize> = BTreeMap::new();
    for_each_record(inputs, &pool, work, |record, pair| {
        match pair {
            Ok(pair) => {
                pairs += 1;
                *kinds.entry(pair.kind.clone().unwrap_or_else(|| "(none)".into())).or_default() += 1;
                for side in [Side::Chosen, Side::Rejected] {
                    if pair.answer(side).iter().any(|m| !m.tool_calls.is_empty()) {
                        *calls.entry(side.as_str()).or_default() += 1;
                    }
                }
            }
            Err(message) => {
                unreadable += 1;
                eprintln!("error: {}: {message}", record.location);
            }
        }
        Ok(true)
    })?;
    let mut out = Output::open(None)?;
    if json {
        let line = serde_json::json!({"pairs": pairs, "unreadable": unreadable, "kinds": kinds,
            "chosen_with_calls": calls.get("chosen").copied().unwrap_or(0),
            "rejected_with_calls": calls.get("rejected").copied().unwrap_or(0)});
        out.line(&line.to_string())?;
    } else {
        let mut s = format!("{pairs} pairs ({unreadable} unreadable)\n\nkind                      pairs\n");
        for (kind, n) in &kinds {
            s.push_str(&format!("{kind:<24}  {n:>5}\n"));
        }
        s.push_str(&format!(
            "\nchosen side calls a tool in {} pairs, rejected side in {}",
            calls.get("chosen").copied().unwrap_or(0),
            calls.get("rejected").copied().unwrap_or(0)
        ));
        out.line(&s)?;
    }
    out.finish()?;
    Ok(Some(if unreadable > 0 { Exit::Problems } else { Exit::Success }))
}
