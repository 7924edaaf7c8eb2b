//! `trajkit validate` (and `convert --validate`) as a user runs them: one fixture per finding code,
//! each raising exactly its finding at its path; clean fixtures raising none; real data not crashing.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn trajkit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trajkit")).args(args).output().expect("trajkit runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The findings of `validate --format json` on `files`: (line, severity, code, path), and the exit code.
fn findings(files: &[&str], extra: &[&str]) -> (Vec<(u64, String, String, String)>, i32) {
    let mut args = vec!["validate", "--format", "json"];
    args.extend_from_slice(extra);
    args.extend_from_slice(files);
    let out = trajkit(&args);
    let found = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let f: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}"));
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            (f["line"].as_u64().unwrap_or(0), s("severity"), s("code"), s("path"))
        })
        .collect();
    (found, out.status.code().unwrap_or(-1))
}

/// Each fixture under fixtures/validate/ raises exactly these findings (line, code, path).
macro_rules! fixture_tests {
    ($($name:ident: $severity:literal, [$(($line:literal, $path:literal)),* $(,)?];)*) => {$(
        #[test]
        fn $name() {
            let file = concat!("fixtures/validate/", stringify!($name), ".jsonl");
            let (got, code) = findings(&[file], &[]);
            let want: Vec<(u64, String, String, String)> = vec![$(
                ($line, $severity.to_string(), stringify!($name).to_string(), $path.to_string())
            ),*];
            assert_eq!(got, want, "{file}");
            assert_eq!(code, if $severity == "error" { 1 } else { 0 }, "exit code for {file}");
        }
    )*};
}

fixture_tests! {
    unknown_tool: "error", [(1, "turns[0].assistant_tool")];
    arguments_not_json: "error", [(1, "turns[0].assistant_tool.arguments")];
    arguments_schema: "error", [
        (1, "turns[1].steps[0].assistant_tool.arguments.date"),
        (2, "messages[1].tool_calls[0].function.arguments.city"),
        (2, "messages[1].tool_calls[0].function.arguments.days"),
        (2, "messages[1].tool_calls[0].function.arguments.unit"),
        (2, "messages[1].tool_calls[0].function.arguments.verbose"),
    ];
    result_count_mismatch: "error", [(1, "turns[0].tool_result"), (2, "messages[1]")];
    call_without_tools: "error", [(1, "turns[0].assistant_tool")];
    empty_turn: "error", [(1, "turns[0]"), (2, "messages[2]")];
    role_order: "error", [(1, "messages[1]"), (2, "messages[2]")];
    invalid_tool_schema: "error", [(1, "tools[0].function.parameters")];
    ungrounded_argument: "warning", [(1, "turns[0].assistant_tool.arguments.date")];
    duplicate_call: "warning", [(1, "turns[0].steps[1].assistant_tool")];
    unused_result: "warning", [(1, "turns[0].assistant_answer")];
    special_token_text: "warning", [(1, "turns[0].user"), (2, "messages[2].content")];
    unfinished: "warning", [(1, "turns[0].tool_result"), (2, "turns[0].assistant_tool")];
    nonstandard_schema: "warning", [(1, "tools[0].parameters")];
}

#[test]
fn clean_fixtures_raise_nothing() {
    let (got, code) = findings(&["fixtures/validate/clean.jsonl"], &[]);
    assert_eq!(got, vec![]);
    assert_eq!(code, 0);
}

#[test]
fn text_output_locates_findings_and_ends_with_a_summary_table() {
    let out = trajkit(&["validate", "fixtures/validate/unknown_tool.jsonl", "fixtures/validate/clean.jsonl"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("fixtures/validate/unknown_tool.jsonl:1: error[unknown_tool] (id unknown-1) turns[0].assistant_tool: call to `get_forecast`"),
        "{text}"
    );
    assert!(text.contains("unknown_tool  error"), "{text}");
    assert!(text.contains("validated 10 records: 1 with errors, 0 with warnings only, 9 clean"), "{text}");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_tools_file_is_checked_once_and_used_for_records_without_tools() {
    let dir = std::env::temp_dir().join(format!("trajkit-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let tools = dir.join("tools.json");
    std::fs::write(
        &tools,
        r#"[{"name": "get_weather", "parameters": {"type": "dict", "properties": {"city": {"type": "str"}}}}]"#,
    )
    .unwrap();
    let (got, code) = findings(&["fixtures/validate/call_without_tools.jsonl"], &["--tools", tools.to_str().unwrap()]);
    assert_eq!(got, vec![(0, "warning".into(), "nonstandard_schema".into(), "[0].parameters".into())]);
    assert_eq!(code, 0);
}

#[test]
fn unreadable_input_cannot_run() {
    let out = trajkit(&["validate", "no/such/file.jsonl"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn convert_validate_rejects_records_with_errors_and_can_mask_bad_steps() {
    let dir = std::env::temp_dir().join(format!("trajkit-validate-convert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rejects = dir.join("rejects.jsonl");
    let input = dir.join("input.jsonl");
    let good = std::fs::read_to_string("fixtures/validate/clean.jsonl").unwrap();
    // Step 0 calls a tool that does not exist; step 1 recovers with the right one.
    let partly_bad = r#"{"id": "partly-bad", "tools": [{"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}], "turns": [{"user": "Weather in Oslo?", "steps": [{"assistant_tool": {"name": "weather", "arguments": {"city": "Oslo"}}, "tool_result": "no such tool"}, {"assistant_tool": {"name": "get_weather", "arguments": {"city": "Oslo"}}, "tool_result": "snow"}], "assistant_answer": "Snow in Oslo."}]}"#;
    std::fs::write(&input, format!("{}\n{partly_bad}\n", good.lines().next().unwrap())).unwrap();
    let input = input.to_str().unwrap();

    let out = trajkit(&["convert", input, "--emit", "messages", "--validate", "--rejects", rejects.to_str().unwrap()]);
    assert!(stderr(&out).contains("read 2, converted 1, rejected 1"), "{}", stderr(&out));
    let report: Value = serde_json::from_str(std::fs::read_to_string(&rejects).unwrap().trim()).unwrap();
    assert_eq!(report["code"], "unknown_tool");
    assert_eq!(report["path"], "turns[0].steps[0].assistant_tool");

    let out = trajkit(&["convert", input, "--emit", "tokens", "--validate", "--mask-bad-steps"]);
    assert!(stderr(&out).contains("read 2, converted 2, rejected 0"), "{}", stderr(&out));
    let rows: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let masked = rows.iter().find(|r| r["id"] == "partly-bad").unwrap();
    assert_eq!(masked["trajkit"]["no_loss_turns"], serde_json::json!([0]), "{masked}");
}

/// The shared samples validate without errors (warnings are fine); skipped when ../shared is absent.
#[test]
fn shared_samples_have_no_errors() {
    let sample = Path::new("../shared/samples/raw.jsonl");
    if !sample.exists() {
        eprintln!("../shared absent: skipped");
        return;
    }
    let (got, code) = findings(&[sample.to_str().unwrap()], &[]);
    let errors: Vec<_> = got.iter().filter(|f| f.1 == "error").collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(code, 0);
}

/// Real public data runs through without crashing (exit 0 or 1, never 2 or a panic).
#[test]
fn shared_real_data_validates_without_crashing() {
    let real = Path::new("../shared/real");
    if !real.exists() {
        eprintln!("../shared absent: skipped");
        return;
    }
    let mut files: Vec<String> = Vec::new();
    for dir in ["llama-factory", "functionary-tests"] {
        for entry in std::fs::read_dir(real.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if matches!(path.extension().and_then(|e| e.to_str()), Some("json" | "jsonl")) {
                files.push(path.to_string_lossy().into_owned());
            }
        }
    }
    files.sort();
    let refs: Vec<&str> = files.iter().map(String::as_str).collect();
    let (got, code) = findings(&refs, &[]);
    assert!(matches!(code, 0 | 1), "exit {code}");
    assert!(!got.is_empty());
}

/// Every command reads a record the same way (issue 16): on a file whose first record holds an
/// integer beyond 64 bits and whose second, without an id, repeats a key, convert, validate, stats,
/// pairs and eval name the records alike (`FILE:LINE` for the second) and reject or warn with the
/// same codes. Before, validate called both records clean, stats counted the first, and convert
/// named the second `two:2`.
#[test]
fn commands_read_records_alike() {
    let dir = std::env::temp_dir().join(format!("trajkit-read-alike-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("two.jsonl");
    std::fs::write(
        &file,
        concat!(
            r#"{"id": "big", "messages": [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4"}], "n": 123456789012345678901234567890}"#,
            "\n",
            r#"{"messages": [{"role": "user", "content": "x", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}"#,
            "\n"
        ),
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let second = format!("{path}:2");

    // convert: record 1 rejected, record 2 written as `FILE:2` with a duplicate_key warning.
    let rejects = dir.join("rejects.jsonl");
    let out = trajkit(&["convert", path, "--emit", "messages", "--rejects", rejects.to_str().unwrap()]);
    let rows: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 1, "{}", stderr(&out));
    assert_eq!(rows[0]["id"], second.as_str());
    let reject: Value = serde_json::from_str(std::fs::read_to_string(&rejects).unwrap().trim()).unwrap();
    assert_eq!(
        (reject["line"].as_u64(), reject["id"].as_str(), reject["code"].as_str()),
        (Some(1), Some("big"), Some("number_out_of_range"))
    );
    assert!(
        stderr(&out).contains(&format!("(id {second})")) && stderr(&out).contains("[duplicate_key]"),
        "{}",
        stderr(&out)
    );

    // validate: the same error on record 1 and the same warning on record 2.
    let (got, code) = findings(&[path], &[]);
    let want = [(1, "error", "number_out_of_range", "n"), (2, "warning", "duplicate_key", "messages[0].content")];
    let want: Vec<(u64, String, String, String)> =
        want.iter().map(|&(l, s, c, p)| (l, s.to_string(), c.to_string(), p.to_string())).collect();
    assert_eq!(got, want);
    assert_eq!(code, 1);

    // stats: record 1 unreadable for the same reason, record 2 under the same id.
    let per_record = dir.join("per_record.jsonl");
    let out = trajkit(&["stats", path, "--format", "json", "--per-record", per_record.to_str().unwrap()]);
    let totals: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((totals["records"].as_u64(), totals["unreadable"].as_u64()), (Some(1), Some(1)));
    assert!(stderr(&out).contains("[number_out_of_range]"), "{}", stderr(&out));
    let line: Value = serde_json::from_str(std::fs::read_to_string(&per_record).unwrap().trim()).unwrap();
    assert_eq!(line["id"], second.as_str());

    // pairs --synthesize and eval's gold reading refuse record 1 alike, and eval names record 2 the same.
    let out = trajkit(&["pairs", "--synthesize", "all", path]);
    assert!(
        stderr(&out).contains(":1: n: integer") && stderr(&out).contains("[number_out_of_range]"),
        "{}",
        stderr(&out)
    );
    let out = trajkit(&["eval", "--gold", path, "--prompts"]);
    assert!(stderr(&out).contains("[number_out_of_range]"), "{}", stderr(&out));
    let prompt: Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(prompt["id"], second.as_str());
    std::fs::remove_dir_all(&dir).ok();
}
