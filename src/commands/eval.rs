//! `trajkit eval`: model outputs against gold trajectories → tool-use metrics, overall and per case.
//! With `--prompts`, the prompts to generate those outputs from.

use std::collections::HashMap;

use anyhow::{bail, Context as _, Result};
use serde_json::{json, Value};

use super::settings::{output_settings, read_gold, SHOWN};
use super::{Exit, Output};
use crate::cli::{EvalArgs, ReportFormatArg};
use trajkit::completion::ParseError;
use trajkit::conversation::ArgumentsForm;
use trajkit::emit::{messages_column, tools_column};
use trajkit::eval::task::{prompt_text, GoldSet};
use trajkit::eval::OutputReader;
use trajkit::eval::{judge, prediction, reward, Key, Report, SchemaCache, Weights};
use trajkit::source::RecordReader;

pub fn run(args: EvalArgs) -> Result<Exit> {
    let reader = output_settings(&args.output_flags).reader()?;
    let cache = SchemaCache::default();
    let gold = read_gold(&args.gold, &cache)?;
    let mut out = Output::open(args.output.as_deref())?;
    if args.prompts {
        return write_prompts(&reader, &gold, &mut out);
    }
    let pred_path = args.pred.as_deref().expect("clap requires --pred without --prompts");
    let mut details = match &args.details {
        Some(p) => Some(Output::open(Some(p)).with_context(|| format!("--details {p}"))?),
        None => None,
    };
    let weights = Weights::default();
    let mut prompts: Option<HashMap<String, usize>> = None;
    let mut seen = vec![false; gold.tasks.len()];
    let (mut read, mut unmatched, mut duplicates, mut unreadable) = (0usize, 0usize, 0usize, 0usize);
    let mut report = Report::default();
    let complain = |counter: &mut usize, line: String| {
        *counter += 1;
        if *counter <= SHOWN {
            eprintln!("warning: {line}");
        }
    };
    for record in RecordReader::open(pred_path, 0).with_context(|| format!("cannot open {pred_path}"))? {
        let record = record.with_context(|| format!("reading {pred_path}"))?;
        read += 1;
        let at = record.location.to_string();
        let value: Value = match record.text.as_deref().map(serde_json::from_str) {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => {
                complain(&mut unreadable, format!("{at}: not JSON: {e}"));
                continue;
            }
            Err(e) => {
                complain(&mut unreadable, format!("{at}: {e}"));
                continue;
            }
        };
        let pred = match prediction::read(&value) {
            Ok(p) => p,
            Err(e) => {
                complain(&mut unreadable, format!("{at}: {e}"));
                continue;
            }
        };
        let task = match &pred.key {
            Some(Key::Turn { id, turn }) => gold.get(id, *turn),
            Some(Key::Prompt(text)) => {
                let by_prompt = prompts.get_or_insert_with(|| prompt_index(&reader, &gold));
                by_prompt.get(text).or_else(|| by_prompt.get(text.trim_end())).copied()
            }
            None => {
                complain(&mut unreadable, format!("{at}: no `id` and `turn` (or `custom_id`, or `prompt`)"));
                continue;
            }
        };
        let Some(t) = task else {
            complain(&mut unmatched, format!("{at}: matches no gold turn ({})", describe(&pred.key)));
            continue;
        };
        if std::mem::replace(&mut seen[t], true) {
            complain(&mut duplicates, format!("{at}: a second prediction for {} (ignored)", describe(&pred.key)));
            continue;
        }
        let task = &gold.tasks[t];
        let parsed = match reader.parse(&pred.output) {
            Ok(p) => p,
            Err(e) => bail!("{at}: {e}"),
        };
        let j = judge(task, parsed);
        report.add(task, &j);
        if let Some(d) = &mut details {
            let r = reward(task, &j, &weights);
            let line = json!({
                "id": task.id, "turn": task.turn, "case": task.case, "kind": task.kind.as_str(),
                "parse_error": j.parse_error.as_ref().map(|e| e.to_string()),
                "parse_error_code": j.parse_error.as_ref().map(ParseError::code),
                "failed": j.failed(), "pred_calls": j.pred_calls, "gold_calls": j.gold_calls,
                "f1": j.f1, "reward": r.total, "components": r.to_json(),
            });
            d.line(&line.to_string()).context("cannot write --details")?;
        }
    }
    if let Some(mut d) = details {
        d.finish().context("cannot write --details")?;
    }
    let evaluated = report.overall.predictions;
    let missing = gold.tasks.len() - evaluated;
    if evaluated == 0 {
        bail!("no prediction in {pred_path} matches a gold turn (read {read}; see docs/eval.md for the keys)");
    }
    let header = json!({
        "template": reader.template.name, "parser": reader.format.name(),
        "gold_records": gold.records, "gold_turns": gold.tasks.len(), "predictions_read": read,
        "evaluated": evaluated, "missing": missing, "unmatched": unmatched, "duplicates": duplicates,
        "unreadable": unreadable,
    });
    match args.format {
        ReportFormatArg::Json => {
            let mut all = report.to_json();
            if let (Value::Object(all), Value::Object(h)) = (&mut all, header) {
                for (k, v) in h.into_iter().rev() {
                    all.shift_insert(0, k, v);
                }
            }
            out.line(&all.to_string())?;
        }
        ReportFormatArg::Text => {
            out.line(&format!(
                "trajkit eval · {} gold turns in {} records · {evaluated} predictions judged ({missing} missing, {unmatched} unmatched, {duplicates} duplicate, {unreadable} unreadable) · parser {}",
                gold.tasks.len(),
                gold.records,
                reader.format.name()
            ))?;
            out.line("")?;
            out.line(report.table().trim_end())?;
        }
    }
    out.finish()?;
    Ok(Exit::Success)
}

fn describe(key: &Option<Key>) -> String {
    match key {
        Some(Key::Turn { id, turn }) => format!("id {id:?}, turn {turn}"),
        Some(Key::Prompt(p)) => format!("prompt of {} bytes", p.len()),
        None => "no key".into(),
    }
}

/// Every gold turn's rendered prompt → its task, for predictions keyed by prompt.
fn prompt_index(reader: &OutputReader, gold: &GoldSet) -> HashMap<String, usize> {
    let mut index = HashMap::new();
    for (i, task) in gold.tasks.iter().enumerate() {
        if let Some(Ok(text)) = prompt_text(task, &reader.template, &reader.render, reader.format) {
            index.entry(text).or_insert(i);
        }
    }
    index
}

/// `--prompts`: one line per gold turn with everything needed to generate and to score it.
fn write_prompts(reader: &OutputReader, gold: &GoldSet, out: &mut Output) -> Result<Exit> {
    let mut failed = 0;
    for task in &gold.tasks {
        let prompt = match prompt_text(task, &reader.template, &reader.render, reader.format) {
            None => bail!("--prompts needs a built-in template (qwen3, chatml, harmony) to know the generation prompt"),
            Some(Ok(p)) => p,
            Some(Err(e)) => {
                failed += 1;
                if failed <= SHOWN {
                    eprintln!("warning: {} turn {}: cannot render the prompt: {e}", task.id, task.turn);
                }
                continue;
            }
        };
        let messages = messages_column(task.history(), ArgumentsForm::String, true);
        let line = json!({
            "id": task.id, "turn": task.turn, "case": task.case, "kind": task.kind.as_str(),
            "prompt": prompt,
            "history": messages,
            "reference": task.reference().to_json(ArgumentsForm::String, true).to_string(),
            "tools": tools_column(&task.conversation.tools),
        });
        if !out.line(&line.to_string())? {
            break;
        }
    }
    out.finish()?;
    Ok(if failed > 0 { Exit::Problems } else { Exit::Success })
}
