//! `trajkit eval` and `trajkit score` on the labelled predictions of fixtures/eval (written by
//! fixtures/eval/make_fixtures.py): every metric and every reward component fails on exactly the
//! predictions whose labelled defect says it should, whichever format the predictions come in.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

const GOLD: &str = "fixtures/eval/gold.jsonl";

use crate::run::trajkit;

/// Standard output of an eval or score run (exit 0, or 1 for failures found).
fn stdout(out: &Output) -> String {
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "trajkit failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn jsonl(text: &str) -> Vec<Value> {
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn read_jsonl(path: &str) -> Vec<Value> {
    jsonl(&std::fs::read_to_string(path).unwrap())
}

fn temp(name: &str) -> String {
    crate::run::folder("eval").join(name).to_string_lossy().into_owned()
}

/// The eval checks each labelled defect fails (names as in `--details`' `failed`).
fn eval_failures(defect: &str) -> &'static [&'static str] {
    match defect {
        "correct" => &[],
        "wrong_tool" => &["tool_selection"],
        "missing_argument" => &["schema", "arguments"],
        "wrong_argument" => &["arguments"],
        "missing_call" => &["tool_selection", "under_calling"],
        "malformed_call" => &["format", "tool_selection"],
        "repeated_call" => &["over_calling", "repeated_call"],
        "unnecessary_call" => &["no_tool", "over_calling"],
        "ignored_result" => &["grounding", "exact_match"],
        "wrong_answer" => &["exact_match"],
        "no_clarification" => &["clarification", "exact_match"],
        "call_instead_of_asking" => &["no_tool", "clarification", "over_calling"],
        "call_instead_of_declining" => &["no_tool", "decline", "over_calling"],
        other => panic!("unknown defect {other}"),
    }
}

/// The reward components each labelled defect lowers below 1 (or, for cost_penalty, above 0).
fn reward_failures(defect: &str) -> &'static [&'static str] {
    match defect {
        "correct" => &[],
        "wrong_tool" => &["tool_selection", "arguments"],
        "missing_argument" => &["schema", "arguments"],
        "wrong_argument" => &["arguments"],
        "missing_call" => &["schema", "tool_selection", "arguments"],
        "malformed_call" => &["format", "schema", "tool_selection", "arguments"],
        "repeated_call" => &["cost_penalty"],
        "unnecessary_call" => &["no_tool", "correctness", "cost_penalty"],
        "ignored_result" => &["grounding", "correctness"],
        "wrong_answer" => &["correctness"],
        "no_clarification" => &["clarification", "correctness"],
        "call_instead_of_asking" => &["no_tool", "correctness", "clarification", "cost_penalty"],
        "call_instead_of_declining" => &["no_tool", "correctness", "cost_penalty"],
        other => panic!("unknown defect {other}"),
    }
}

/// `--details`' check names → the report's JSON keys, and whether the key counts failures.
const REPORT_KEYS: &[(&str, &str, bool)] = &[
    ("format", "format_validity", false),
    ("schema", "schema_validity", false),
    ("tool_selection", "tool_selection", false),
    ("arguments", "argument_accuracy", false),
    ("no_tool", "no_tool_accuracy", false),
    ("clarification", "clarification_accuracy", false),
    ("decline", "decline_accuracy", false),
    ("grounding", "grounding", false),
    ("exact_match", "answer_exact_match", false),
    ("over_calling", "over_calling_rate", true),
    ("under_calling", "under_calling_rate", true),
    ("repeated_call", "repeated_call_rate", true),
];

fn sorted(v: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = v.into_iter().collect();
    v.sort();
    v
}

/// Run eval on a prediction file; check every prediction's failed checks and the report's counts.
fn check_eval(pred: &str, extra: &[&str]) -> Value {
    let details = temp(&format!("details-{}.jsonl", pred.replace('/', "_")));
    let mut args = vec!["eval", "--gold", GOLD, "--pred", pred, "--format", "json", "--details", &details];
    args.extend_from_slice(extra);
    let report: Value = serde_json::from_str(&stdout(&trajkit(&args))).unwrap();
    let preds = read_jsonl(pred);
    let details = read_jsonl(&details);
    assert!(preds.len() >= 100, "at least 100 labelled predictions");
    assert_eq!(details.len(), preds.len(), "one detail line per prediction");
    let mut expected_failures: BTreeMap<&str, usize> = BTreeMap::new();
    let mut wrong = Vec::new();
    for (p, d) in preds.iter().zip(&details) {
        let defect = p["defect"].as_str().unwrap();
        let want = eval_failures(defect);
        for name in want {
            *expected_failures.entry(name).or_default() += 1;
        }
        let got = sorted(d["failed"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()));
        if got != sorted(want.iter().map(|s| s.to_string())) {
            wrong.push(format!("{} turn {} ({defect}): failed {got:?}, expected {want:?}", d["id"], d["turn"]));
        }
    }
    assert!(
        wrong.is_empty(),
        "{pred}: {} predictions fail other checks than labelled:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    let overall = &report["overall"];
    assert_eq!(overall["predictions"], preds.len());
    for (check, key, counts_failures) in REPORT_KEYS {
        let m = &overall[key];
        let failures = if *counts_failures {
            m["count"].as_u64().unwrap()
        } else {
            m["n"].as_u64().unwrap() - m["ok"].as_u64().unwrap()
        };
        let want = expected_failures.get(check).copied().unwrap_or(0) as u64;
        assert_eq!(failures, want, "{pred}: {key} counts {failures} failures, the labels {want}");
    }
    report
}

#[test]
fn eval_counts_exactly_the_labelled_defects_in_qwen3_output() {
    let report = check_eval("fixtures/eval/pred_qwen3.jsonl", &["--template", "qwen3"]);
    assert_eq!(report["evaluated"], 110);
    assert_eq!((report["missing"].as_u64(), report["unmatched"].as_u64()), (Some(0), Some(0)));
    let errors = &report["parse_errors"];
    assert_eq!((errors["call_json"].as_u64(), errors["unclosed_tool_call"].as_u64()), (Some(2), Some(2)));
    assert_eq!(errors["wrong_wrapper"], 2);
}

#[test]
fn eval_counts_exactly_the_labelled_defects_in_harmony_output() {
    let report = check_eval("fixtures/eval/pred_harmony.jsonl", &["--template", "harmony"]);
    let errors = &report["parse_errors"];
    assert_eq!((errors["arguments_not_object"].as_u64(), errors["terminator"].as_u64()), (Some(2), Some(2)));
    assert_eq!(errors["unknown_channel"], 2);
}

#[test]
fn eval_counts_exactly_the_labelled_defects_in_server_parsed_messages() {
    check_eval("fixtures/eval/pred_openai.jsonl", &[]);
}

/// The same predictions give the same report whatever the format they were generated in.
#[test]
fn reports_agree_across_output_formats() {
    let q = check_eval("fixtures/eval/pred_qwen3.jsonl", &["--template", "qwen3"]);
    let h = check_eval("fixtures/eval/pred_harmony.jsonl", &["--template", "harmony"]);
    let o = check_eval("fixtures/eval/pred_openai.jsonl", &[]);
    assert_eq!(q["by_case"], h["by_case"]);
    assert_eq!(q["by_case"], o["by_case"]);
    assert_eq!(q["by_argument_key"], h["by_argument_key"]);
    assert!(q["by_case"]["clarification"]["clarification_accuracy"]["n"].as_u64() == Some(5));
}

/// Score each prediction (the prediction files double as score requests: `id`, `turn`, output).
fn check_score(pred: &str, template: &str) {
    let out = trajkit(&["score", "--gold", GOLD, "--template", template, pred]);
    let responses = jsonl(&stdout(&out));
    let preds = read_jsonl(pred);
    assert_eq!(responses.len(), preds.len());
    let mut wrong = Vec::new();
    for (p, r) in preds.iter().zip(&responses) {
        let defect = p["defect"].as_str().unwrap();
        let c = r["components"].as_object().unwrap_or_else(|| panic!("no components: {r}"));
        let lowered = sorted(c.iter().filter_map(|(k, v)| {
            let low = match (k.as_str(), v.as_f64()) {
                ("cost_penalty", Some(x)) => x > 0.0,
                (_, Some(x)) => x < 1.0,
                _ => false,
            };
            low.then(|| k.clone())
        }));
        let want = sorted(reward_failures(defect).iter().map(|s| s.to_string()));
        if lowered != want {
            wrong.push(format!("{} ({defect}): lowered {lowered:?}, expected {want:?}", p["id"]));
        }
        let total = r["reward"].as_f64().unwrap();
        if defect == "correct" {
            assert_eq!(total, 1.0, "{r}");
        } else {
            assert!(total < 1.0, "{defect} must cost something: {r}");
        }
    }
    assert!(
        wrong.is_empty(),
        "{pred}: {} rewards lower other components than labelled:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn score_lowers_exactly_the_labelled_components() {
    check_score("fixtures/eval/pred_qwen3.jsonl", "qwen3");
    check_score("fixtures/eval/pred_harmony.jsonl", "harmony");
    check_score("fixtures/eval/pred_openai.jsonl", "qwen3");
}

/// Predictions keyed by the prompt they were generated from (vLLM's RequestOutput: `prompt`,
/// `outputs[0].text`) find their gold turn through the prompts `eval --prompts` writes.
#[test]
fn predictions_keyed_by_prompt_text() {
    let prompts = jsonl(&stdout(&trajkit(&["eval", "--gold", GOLD, "--prompts"])));
    assert_eq!(prompts.len(), 110);
    let first = &prompts[0];
    assert!(first["prompt"].as_str().unwrap().ends_with("<|im_start|>assistant\n"));
    assert!(first["history"].is_array() && first["reference"].is_string() && first["tools"].is_string());
    let outputs: BTreeMap<(String, u64), String> = read_jsonl("fixtures/eval/pred_qwen3.jsonl")
        .into_iter()
        .map(|p| {
            ((p["id"].as_str().unwrap().to_string(), p["turn"].as_u64().unwrap()), p["output"].as_str().unwrap().into())
        })
        .collect();
    let path = temp("by-prompt.jsonl");
    let mut file = std::fs::File::create(&path).unwrap();
    for p in &prompts {
        let key = (p["id"].as_str().unwrap().to_string(), p["turn"].as_u64().unwrap());
        let line = json!({"prompt": p["prompt"], "outputs": [{"index": 0, "text": outputs[&key]}]});
        writeln!(file, "{line}").unwrap();
    }
    drop(file);
    let by_prompt: Value =
        serde_json::from_str(&stdout(&trajkit(&["eval", "--gold", GOLD, "--pred", &path, "--format", "json"])))
            .unwrap();
    let by_id: Value = serde_json::from_str(&stdout(&trajkit(&[
        "eval",
        "--gold",
        GOLD,
        "--pred",
        "fixtures/eval/pred_qwen3.jsonl",
        "--format",
        "json",
    ])))
    .unwrap();
    assert_eq!(by_prompt["evaluated"], 110);
    assert_eq!(by_prompt["overall"], by_id["overall"]);
}

/// Harmony output given as token ids (exact) reads the same as its text.
#[test]
fn harmony_predictions_as_token_ids() {
    use trajkit::tokenize::{Embedded, TextTokenizer, TokenizerSource};
    let tok = TextTokenizer::load(&TokenizerSource::Embedded(Embedded::GptOss)).unwrap();
    let path = temp("harmony-ids.jsonl");
    let mut file = std::fs::File::create(&path).unwrap();
    for p in read_jsonl("fixtures/eval/pred_harmony.jsonl") {
        let ids = tok.encode(p["completion"].as_str().unwrap()).unwrap().ids;
        writeln!(file, "{}", json!({"id": p["id"], "turn": p["turn"], "defect": p["defect"], "output_ids": ids}))
            .unwrap();
    }
    drop(file);
    check_eval(&path, &["--template", "harmony"]);
}

#[test]
fn the_table_names_every_metric_and_case() {
    let out = stdout(&trajkit(&["eval", "--gold", GOLD, "--pred", "fixtures/eval/pred_qwen3.jsonl"]));
    for needle in [
        "110 predictions judged (0 missing",
        "format validity                  0.945     104/110",
        "tool selection",
        "arguments, per key",
        "no-tool accuracy",
        "clarification accuracy",
        "decline accuracy",
        "grounding",
        "answer exact match",
        "answer token F1",
        "over-calling rate",
        "calls per turn (pred / gold)",
        "parse errors: call_json 2, unclosed_tool_call 2, wrong_wrapper 2",
        "unavailable_tool",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
}

#[test]
fn missing_unmatched_and_duplicate_predictions_are_counted() {
    let path = temp("partial.jsonl");
    let preds = read_jsonl("fixtures/eval/pred_qwen3.jsonl");
    let mut lines: Vec<String> = preds[..10].iter().map(|p| p.to_string()).collect();
    lines.push(preds[0].to_string());
    lines.push(json!({"id": "nope", "turn": 0, "output": "x"}).to_string());
    lines.push("{not json".into());
    std::fs::write(&path, lines.join("\n")).unwrap();
    let out = trajkit(&["eval", "--gold", GOLD, "--pred", &path, "--format", "json"]);
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (&report["evaluated"], &report["missing"], &report["duplicates"], &report["unmatched"], &report["unreadable"]),
        (&json!(10), &json!(100), &json!(1), &json!(1), &json!(1))
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("matches no gold turn (id \"nope\", turn 0)"), "{stderr}");
}

#[test]
fn no_matching_prediction_cannot_run() {
    let path = temp("none.jsonl");
    std::fs::write(&path, json!({"id": "nope", "turn": 0, "output": "x"}).to_string()).unwrap();
    let out = trajkit(&["eval", "--gold", GOLD, "--pred", &path]);
    assert_eq!(out.status.code(), Some(2));
}

/// `score --serve` answers each request as soon as it is written (the reply is flushed), and a bad
/// request gets an error reply instead of ending the session.
#[test]
fn serve_answers_line_by_line() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trajkit"))
        .args(["score", "--serve", "--gold", GOLD])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in reader.lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let preds = read_jsonl("fixtures/eval/pred_qwen3.jsonl");
    let mut ask = |line: String| -> Value {
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        serde_json::from_str(&rx.recv_timeout(Duration::from_secs(20)).expect("a reply to every request")).unwrap()
    };
    let r = ask(preds[0].to_string());
    assert_eq!((r["id"].as_str(), r["reward"].as_f64()), (preds[0]["id"].as_str(), Some(1.0)));
    let r = ask("{broken".into());
    assert!(r["reward"].is_null() && r["error"].as_str().unwrap().contains("not JSON"));
    let inline = json!({
        "completion": "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Lyon\"}}\n</tool_call>",
        "reference": "{\"role\": \"assistant\", \"content\": \"\", \"tool_calls\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"arguments\": \"{\\\"city\\\": \\\"Lyon\\\"}\"}}]}",
        "tools": "[{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}}]",
        "prompt": [{"role": "user", "content": "Weather in Lyon?"}],
    });
    let r = ask(inline.to_string());
    assert_eq!(r["reward"].as_f64(), Some(1.0), "{r}");
    assert_eq!(r["components"]["schema"].as_f64(), Some(1.0));
    let ids = json!({"completion_ids": [151657, 198], "reference": "Hello."});
    let r = ask(ids.to_string());
    assert_eq!(r["parse_error"].as_str(), Some("tool call 0: `<tool_call>` is never closed"), "{r}");
    drop(stdin);
    assert_eq!(child.wait().unwrap().code(), Some(1), "a request that failed makes the exit code 1");
}

#[test]
fn weights_change_the_total_and_bad_weights_cannot_run() {
    let request = json!({"completion": "It is sunny.", "reference": "It is 18 degrees and raining.",
        "messages": [{"role": "user", "content": "Weather?"}]});
    let path = temp("request.jsonl");
    std::fs::write(&path, request.to_string()).unwrap();
    let total = |extra: &[&str]| -> f64 {
        let mut args = vec!["score", path.as_str()];
        args.extend_from_slice(extra);
        jsonl(&stdout(&trajkit(&args)))[0]["reward"].as_f64().unwrap()
    };
    let weights = temp("weights.json");
    std::fs::write(&weights, r#"{"correctness": 0, "no_tool": 1}"#).unwrap();
    assert!(total(&[]) < 1.0);
    assert_eq!(total(&["--weights", &weights]), 1.0);
    std::fs::write(&weights, r#"{"corectness": 1}"#).unwrap();
    let out = trajkit(&["score", &path, "--weights", &weights]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown weight `corectness`"));
}
