//! The same conversation written as raw annotation and as OpenAI/TRL messages gives the same rows:
//! byte-identical apart from `id` and `meta`, for every built-in template, in conversation and
//! per-turn expansion and under every reasoning policy, with the same rejects, the same warning
//! counts in `--report` (`trailing_user_turn` among them), and the same `validate` findings (code and
//! severity per record). Sources: the golden cases that have a raw form (each also with a trailing
//! user message and with two user messages in a row), the long golden cases when present, and
//! generated tau-bench-style trajectories (tests/it/common/tau.rs). The raw forms are written by
//! tests/it/common/forms.rs.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{forms, tau};
use serde_json::Value;

const TEMPLATES: &[&str] = &["qwen3", "chatml", "harmony"];

/// Expansion and reasoning settings each template is run with on the golden cases.
const MODES: &[&[&str]] = &[
    &["--expand", "conversation"],
    &["--expand", "per-turn"],
    &["--expand", "conversation", "--reasoning", "context"],
    &["--expand", "per-turn", "--reasoning", "drop"],
];

/// The settings for the larger sources (ingest is what differs between the forms; the policies apply
/// after it, so the two expansions and dropping trailing user messages are where a difference would show).
const EXPANSIONS: &[&[&str]] =
    &[&["--expand", "conversation"], &["--expand", "per-turn"], &["--expand", "conversation", "--drop-trailing-user"]];

fn dir(label: &str) -> PathBuf {
    crate::run::folder(&format!("equivalence-{label}"))
}

fn write_jsonl(path: &Path, records: &[Value]) {
    let text: String = records.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(path, text).unwrap();
}

/// What one `convert` run gives: each row's id and the row without `id`/`meta` as written, and the
/// report without the file names.
struct Run {
    rows: Vec<(String, String)>,
    report: Value,
}

fn convert(input: &Path, template: &str, mode: &[&str], out_dir: &Path, tag: &str) -> Run {
    let report = out_dir.join(format!("{tag}.report.json"));
    let out = Command::new(env!("CARGO_BIN_EXE_trajkit"))
        .arg("convert")
        .arg(input)
        .args(["--template", template, "--date", "2025-01-01", "-q"])
        .args(mode)
        .arg("--report")
        .arg(&report)
        .output()
        .expect("trajkit runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{template} {mode:?} on {}: {stderr}", input.display());
    let rows = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let row: Value = serde_json::from_str(line).expect("each output line is JSON");
            (row["id"].as_str().unwrap_or_default().to_string(), forms::comparable(&row))
        })
        .collect();
    let mut report: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    for key in ["inputs", "output"] {
        report.as_object_mut().unwrap().remove(key);
    }
    Run { rows, report }
}

/// Convert both forms with every template and mode; panic listing every difference (reports, row
/// counts, rows by id). Returns the reports of the messages form (one per template and mode).
fn assert_same_rows(label: &str, modes: &[&[&str]], messages: &[Value], raw: &[Value]) -> Vec<Value> {
    assert_eq!(messages.len(), raw.len());
    let dir = dir(label);
    let (m_path, r_path) = (dir.join("messages.jsonl"), dir.join("raw.jsonl"));
    write_jsonl(&m_path, messages);
    write_jsonl(&r_path, raw);
    let mut problems = Vec::new();
    if findings(&m_path) != findings(&r_path) {
        problems.push("validate finds different things in the two forms".to_string());
    }
    let mut reports = Vec::new();
    for template in TEMPLATES {
        for (k, mode) in modes.iter().enumerate() {
            let m = convert(&m_path, template, mode, &dir, &format!("m-{template}-{k}"));
            let r = convert(&r_path, template, mode, &dir, &format!("r-{template}-{k}"));
            let at = format!("{template} {}", mode.join(" "));
            if m.report != r.report {
                problems.push(format!("{at}: reports differ\n  messages: {}\n  raw:      {}", m.report, r.report));
            }
            if m.rows.len() != r.rows.len() {
                problems.push(format!("{at}: {} rows from messages, {} from raw", m.rows.len(), r.rows.len()));
            }
            for ((id_m, a), (id_r, b)) in m.rows.iter().zip(&r.rows) {
                if id_m != id_r || a != b {
                    problems.push(format!(
                        "{at}: row {id_m} / {id_r} differs\n  messages: {}\n  raw:      {}",
                        &a[..a.len().min(2000)],
                        &b[..b.len().min(2000)]
                    ));
                }
            }
            reports.push(m.report);
        }
    }
    assert!(
        problems.is_empty(),
        "{label}: {} difference(s) between the raw and messages forms:\n{}",
        problems.len(),
        problems.iter().take(12).cloned().collect::<Vec<_>>().join("\n")
    );
    reports
}

/// What `validate` finds, per record: (id, code, severity), sorted; the paths differ by form.
fn findings(input: &Path) -> Vec<(String, String, String)> {
    let out = Command::new(env!("CARGO_BIN_EXE_trajkit"))
        .args(["validate", "--format", "json", "--threads", "1"])
        .arg(input)
        .output()
        .expect("trajkit runs");
    assert!(out.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&out.stderr));
    let mut found: Vec<(String, String, String)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let f: Value = serde_json::from_str(line).unwrap();
            let field = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            (field("id"), field("code"), field("severity"))
        })
        .collect();
    found.sort();
    found
}

fn read_jsonl(path: &str) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The raw forms of `cases` that have one, and the ids (with the reason) of those that do not.
fn split_expressible(cases: &[Value]) -> (Vec<Value>, Vec<Value>, Vec<(String, String)>) {
    let (mut messages, mut raw, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
    for (k, case) in cases.iter().enumerate() {
        match forms::messages_to_raw(case, k as u64 * 0x9E37_79B9) {
            Ok(r) => {
                messages.push(case.clone());
                raw.push(r);
            }
            Err(why) => skipped.push((case["id"].as_str().unwrap_or("?").to_string(), why)),
        }
    }
    (messages, raw, skipped)
}

/// Golden cases without a raw form, and why; a change here means the converter or the format
/// changed. Content next to calls and reasoning on an answer after calls have no raw field. Inline
/// `…</think>answer` content is split into reasoning by messages ingest but kept verbatim by raw
/// ingest, so written verbatim in raw it gives the same ids but another `messages` column (Qwen3).
const NOT_EXPRESSIBLE: &[(&str, &str)] = &[
    ("parallel_calls_preamble_three_tools", "content next to tool calls"),
    ("reasoning_on_tool_call_step_and_answer", "reasoning on an answer that follows tool calls in the same turn"),
    (
        "reasoning_missing_on_first_step_present_on_second",
        "reasoning on an answer that follows tool calls in the same turn",
    ),
    ("several_user_turns_tools_reasoning_each_turn", "reasoning on an answer that follows tool calls in the same turn"),
    ("emoji_user_args_result_reasoning", "reasoning on an answer that follows tool calls in the same turn"),
    ("content_next_to_tool_calls_multiline", "content next to tool calls"),
    ("parallel_calls_with_content_and_reasoning_last_message", "content next to tool calls"),
    ("think_tags_in_content_no_reasoning_field", "reasoning written inline in the content (`…</think>answer`)"),
    ("closing_think_only_in_content", "reasoning written inline in the content (`…</think>answer`)"),
    ("think_tags_in_earlier_assistant_content", "reasoning written inline in the content (`…</think>answer`)"),
    ("several_users_reasoning_tools_preamble", "content next to tool calls"),
];

/// The same for the Harmony golden cases (fixtures/golden/cases_harmony.jsonl).
const NOT_EXPRESSIBLE_HARMONY: &[(&str, &str)] = &[
    ("harmony_preamble_parallel", "content next to tool calls"),
    ("harmony_multi_turn_reasoning", "content next to tool calls"),
    ("harmony_tool_result_by_name", "tool results not in the order of their calls"),
    ("harmony_ends_with_tool_call", "content next to tool calls"),
    ("harmony_tool_loop_reasoning_kept", "content next to tool calls"),
    ("harmony_content_parts", "content given as a list of parts"),
    ("harmony_refuse_orphan_tool_result", "a tool result that answers no call"),
];

/// The golden case with one more user message: after the last one (a trailing "thanks" nobody
/// answers) or right after the first (a user writing twice in a row).
fn with_extra_user(case: &Value, trailing: bool) -> Value {
    let mut case = case.clone();
    let suffix = if trailing { "+thanks" } else { "+twice" };
    case["id"] = Value::String(format!("{}{suffix}", case["id"].as_str().unwrap()));
    let messages = case["messages"].as_array_mut().unwrap();
    if trailing {
        messages.push(serde_json::json!({"role": "user", "content": "Thank you so much for your help!"}));
    } else {
        let first = messages.iter().position(|m| m["role"] == "user").unwrap();
        messages.insert(first + 1, serde_json::json!({"role": "user", "content": "Hello? Are you there?"}));
    }
    case
}

/// Every golden case (cases.jsonl, cases_harmony.jsonl) with a raw form, and each again with a
/// trailing user message and with two user messages in a row (one run of each setting for all of
/// them: most of the time is start-up).
#[test]
fn golden_cases_give_the_same_rows_from_raw_and_messages() {
    let cases = read_jsonl("fixtures/golden/cases.jsonl");
    let (mut messages, mut raw, skipped) = split_expressible(&cases);
    let skipped: Vec<(&str, &str)> = skipped.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_eq!(skipped, NOT_EXPRESSIBLE, "golden cases without a raw form");
    assert_eq!(messages.len() + NOT_EXPRESSIBLE.len(), cases.len());
    assert!(messages.len() >= 40, "only {} golden cases compared", messages.len());
    let harmony_cases = read_jsonl("fixtures/golden/cases_harmony.jsonl");
    let (harmony_messages, harmony_raw, skipped) = split_expressible(&harmony_cases);
    let skipped: Vec<(&str, &str)> = skipped.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_eq!(skipped, NOT_EXPRESSIBLE_HARMONY, "Harmony golden cases without a raw form");
    messages.extend(harmony_messages);
    raw.extend(harmony_raw);
    let cases: Vec<Value> = cases.into_iter().chain(harmony_cases).collect();
    let extended: Vec<Value> =
        cases.iter().flat_map(|c| [with_extra_user(c, true), with_extra_user(c, false)]).collect();
    let (more_messages, more_raw, _) = split_expressible(&extended);
    let trailing = more_messages.iter().filter(|m| m["id"].as_str().unwrap().ends_with("+thanks")).count();
    assert!(trailing >= 40 && more_messages.len() >= 80, "{trailing} trailing, {} in all", more_messages.len());
    messages.extend(more_messages);
    raw.extend(more_raw);
    for report in assert_same_rows("golden", MODES, &messages, &raw) {
        assert_eq!(report["read"], messages.len(), "{report}");
        // Harmony refuses `harmony_refuse_bad_parameters` (and its variants) in both forms alike.
        let rejected = report["rejected"].as_u64().unwrap() as usize;
        assert!(rejected <= 3, "{report}");
        let warned = report["warnings_by_code"]["trailing_user_turn"].as_u64().unwrap() as usize;
        assert!(warned <= trailing && warned + rejected >= trailing, "{trailing} trailing: {report}");
    }
}

#[test]
fn long_golden_cases_give_the_same_rows_when_present() {
    let path = "fixtures/golden/long_cases.jsonl";
    if !Path::new(path).exists() {
        eprintln!("{path} not present: nothing to compare");
        return;
    }
    let cases = read_jsonl(path);
    let (messages, raw, skipped) = split_expressible(&cases);
    for (id, why) in &skipped {
        eprintln!("long case {id}: no raw form ({why})");
    }
    assert!(!messages.is_empty(), "no long case has a raw form");
    assert_same_rows("long", EXPANSIONS, &messages, &raw);
}

/// How many generated trajectories the test compares (half airline, half retail).
const GENERATED: usize = 30;

#[test]
fn generated_trajectories_give_the_same_rows_and_warnings() {
    let messages = tau::corpus(None, 12, GENERATED);
    let raw: Vec<Value> = messages
        .iter()
        .enumerate()
        .map(|(k, m)| forms::messages_to_raw(m, k as u64 * 0x5851_F42D).expect("generated records have a raw form"))
        .collect();
    let trailing =
        messages.iter().filter(|m| m["messages"].as_array().unwrap().last().unwrap()["role"] == "user").count();
    // The generator makes what the issue asks for; check it does before trusting the comparison.
    let lengths: Vec<usize> = messages.iter().map(|m| m["messages"].as_array().unwrap().len()).collect();
    assert!(lengths.iter().all(|&n| (10..=48).contains(&n)), "{lengths:?}");
    assert!(
        trailing * 5 >= GENERATED && trailing * 5 <= GENERATED * 4,
        "{trailing} of {GENERATED} end on a user message"
    );
    let parallel = messages
        .iter()
        .filter(|m| {
            m["messages"].as_array().unwrap().iter().any(|x| x["tool_calls"].as_array().is_some_and(|c| c.len() > 1))
        })
        .count();
    assert!(parallel * 10 >= GENERATED, "only {parallel} records with parallel calls");
    let all: Vec<&Value> = messages.iter().flat_map(|m| m["messages"].as_array().unwrap()).collect();
    let tool_text = |pred: &dyn Fn(&str) -> bool| {
        all.iter().filter(|m| m["role"] == "tool" && m["content"].as_str().is_some_and(pred)).count()
    };
    assert!(tool_text(&|t| t.is_empty()) > 0, "no empty tool result");
    assert!(tool_text(&|t| t.contains("rror")) > 0, "no failed tool result");
    assert!(all.iter().any(|m| m.get("reasoning_content").is_some()), "no reasoning");
    assert!(all.iter().any(|m| m["content"].as_str().is_some_and(|t| !t.is_ascii())), "no non-ASCII text");
    let reports = assert_same_rows("generated", EXPANSIONS, &messages, &raw);
    for report in &reports {
        assert_eq!(report["read"], GENERATED, "{report}");
        assert_eq!(report["written"], GENERATED, "every generated record converts: {report}");
        assert_eq!(report["warnings_by_code"]["trailing_user_turn"], trailing, "{report}");
    }
}
