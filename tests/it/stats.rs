//! `trajkit stats` as a user runs it: case inference against human labels, the shared samples'
//! own labels, and the report's shape.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::run;
use run::trajkit;

fn temp_dir(name: &str) -> PathBuf {
    run::folder(&format!("stats-{name}"))
}

/// Records of `paths` with their `case` field taken out, and the labels taken.
fn unlabelled(paths: &[&Path], dir: &Path) -> (PathBuf, Vec<Option<String>>) {
    let text: String = paths.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect::<Vec<_>>().join("\n");
    let mut labels = Vec::new();
    let mut out = String::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut record: Value = serde_json::from_str(line).unwrap();
        let map = record.as_object_mut().unwrap();
        labels.push(map.remove("case").and_then(|c| c.as_str().map(str::to_string)));
        map.remove("note");
        out.push_str(&record.to_string());
        out.push('\n');
    }
    let file = dir.join("unlabelled.jsonl");
    std::fs::write(&file, out).unwrap();
    (file, labels)
}

/// `stats --per-record` on `file`: the per-record lines, in input order.
fn per_record(file: &Path, dir: &Path) -> Vec<Value> {
    let per = dir.join("per-record.jsonl");
    let out = trajkit(&["stats", file.to_str().unwrap(), "--per-record", per.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::read_to_string(per).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The issue's measure: clarification vs unavailable_tool vs tool_required (everything else one
/// bucket), inferred without the label, against the hand labels of fixtures/labelled (both batches;
/// see the README there for how they were written and what the first runs measured).
#[test]
fn case_inference_agrees_with_human_labels() {
    let dir = temp_dir("labelled");
    let batches = [Path::new("fixtures/labelled/cases.jsonl"), Path::new("fixtures/labelled/cases_batch2.jsonl")];
    let (file, labels) = unlabelled(&batches, &dir);
    assert!(labels.len() >= 150, "the labelled set must have at least 150 records");
    let rows = per_record(&file, &dir);
    assert_eq!(rows.len(), labels.len());
    let bucket = |c: &str| match c {
        "clarification" | "unavailable_tool" | "tool_required" => c.to_string(),
        _ => "other".to_string(),
    };
    let mut confusion: BTreeMap<(String, String), usize> = BTreeMap::new();
    let (mut agree, mut exact) = (0, 0);
    let mut misses = Vec::new();
    for (row, label) in rows.iter().zip(&labels) {
        let label = label.as_deref().unwrap();
        let got = row["case"].as_str().unwrap();
        assert_eq!(row["explicit"], false);
        *confusion.entry((bucket(label), bucket(got))).or_default() += 1;
        exact += usize::from(got == label);
        if bucket(got) == bucket(label) {
            agree += 1;
        } else {
            misses.push(format!("{}: labelled {label}, inferred {got}; {}", row["id"], row["evidence"]));
        }
    }
    let n = labels.len() as f64;
    eprintln!("agreement (3 cases + other): {agree}/{} = {:.1}%", labels.len(), 100.0 * agree as f64 / n);
    eprintln!("exact case agreement (all 6 cases): {exact}/{} = {:.1}%", labels.len(), 100.0 * exact as f64 / n);
    for ((want, got), count) in &confusion {
        eprintln!("  labelled {want:<16} inferred {got:<16} {count}");
    }
    for miss in &misses {
        eprintln!("  miss: {miss}");
    }
    assert!(agree as f64 / n >= 0.9, "agreement {agree}/{} is under 90%", labels.len());
}

/// Every labelled record of ../shared/samples/raw.jsonl is classified as its label says once the
/// label is removed; skipped when ../shared is absent.
#[test]
fn shared_samples_classify_as_labelled() {
    let sample = Path::new("../shared/samples/raw.jsonl");
    if !sample.exists() {
        eprintln!("../shared absent: skipped");
        return;
    }
    let dir = temp_dir("shared");
    let (file, labels) = unlabelled(&[sample], &dir);
    let rows = per_record(&file, &dir);
    assert_eq!(rows.len(), labels.len());
    for (row, label) in rows.iter().zip(&labels) {
        if let Some(label) = label {
            assert_eq!(row["case"], label.as_str(), "{}: {}", row["id"], row["evidence"]);
        }
    }
}

#[test]
fn an_explicit_case_wins_and_disagreements_are_reported() {
    let dir = temp_dir("explicit");
    let file = dir.join("in.jsonl");
    std::fs::write(
        &file,
        concat!(
            r#"{"id": "a", "case": "no_tool", "turns": [{"user": "Book a table", "assistant_answer": "For how many people?"}]}"#,
            "\n",
            r#"{"id": "b", "turns": [{"user": "Hi", "assistant_answer": "Hello!"}]}"#,
            "\n"
        ),
    )
    .unwrap();
    let rows = per_record(&file, &dir);
    assert_eq!((rows[0]["case"].as_str(), rows[0]["explicit"].as_bool()), (Some("no_tool"), Some(true)));
    assert_eq!(rows[0]["inferred"], "clarification");
    assert_eq!(rows[1]["case"], "no_tool");
    let out = trajkit(&["stats", file.to_str().unwrap(), "--format", "json"]);
    let report: Value = serde_json::from_str(&String::from_utf8_lossy(&out.stdout)).unwrap();
    assert_eq!(report["records"], 2);
    assert_eq!(report["cases"]["no_tool"]["records"], 2);
    assert_eq!(report["explicit_case_disagreements"], 1);
    assert!(report["tokens_per_row"]["max"].as_u64().unwrap() > 0);
    let warnings = report["warnings"].as_array().unwrap();
    assert!(warnings.iter().any(|w| w.as_str().unwrap().contains("missing information")), "{warnings:?}");
}

#[test]
fn text_report_shows_cases_flags_tokens_tools_and_warnings() {
    let out = trajkit(&["stats", "fixtures/validate/clean.jsonl"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "9 records",
        "tool_required",
        "clarification",
        "failed_tool",
        "parallel_calls",
        "multi_step",
        "tokens per row (qwen3): min",
        "tools: 3 offered, 3 called",
        "get_weather",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    assert!(!text.contains("No record has a tool that fails"), "{text}");
}
