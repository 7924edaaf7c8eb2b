//! `trajkit validate` (and `convert --validate`) as a user runs them: one fixture per finding code,
//! each raising exactly its finding at its path; clean fixtures raising none; real data not crashing.

use std::path::Path;

use serde_json::Value;

use crate::run;
use run::{stderr, trajkit};

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
    let dir = run::folder("validate");
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
    let dir = run::folder("validate-convert");
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

/// A record with structural problems (one that convert rejects) still gets every check on what could
/// be read: each problem is its own finding, and the step findings around them are all reported.
#[test]
fn structural_problems_do_not_hide_step_findings() {
    let (got, code) = findings(&["fixtures/validate/structural.jsonl"], &[]);
    let want = [
        (1, "error", "missing_field", "turns[0].assistant_answer"),
        (1, "error", "wrong_type", "turns[1].user"),
        (1, "error", "wrong_type", "turns[1].steps[1]"),
        (1, "error", "result_count_mismatch", "turns[2].tool_result"),
        (1, "error", "unknown_tool", "turns[0].assistant_tool"),
        (1, "error", "arguments_schema", "turns[1].steps[0].assistant_tool.arguments.passengers"),
        (1, "error", "arguments_not_json", "turns[1].steps[2].assistant_tool.arguments"),
        (1, "error", "arguments_schema", "turns[2].assistant_tool[1].arguments.city"),
        (1, "warning", "ungrounded_argument", "turns[2].assistant_tool[0].arguments.city"),
        (2, "error", "unknown_role", "messages[3].role"),
        (2, "error", "image_content", "messages[5].content[0]"),
        (2, "error", "arguments_schema", "messages[1].tool_calls[0].function.arguments.city"),
        (2, "error", "unknown_tool", "messages[4].tool_calls[0]"),
        (3, "error", "unknown_role", "conversations[3].from"),
        (3, "error", "arguments_schema", "conversations[4].value.arguments.city"),
        (3, "warning", "ungrounded_argument", "conversations[1].value.arguments.city"),
        (3, "warning", "ungrounded_argument", "conversations[4].value.arguments.city"),
    ];
    let want: Vec<(u64, String, String, String)> =
        want.iter().map(|(l, s, c, p)| (*l, s.to_string(), c.to_string(), p.to_string())).collect();
    assert_eq!(got, want);
    assert_eq!(code, 1);
}

/// Convert still rejects such a record with the first problem ingest meets, as before validate
/// learned to read on.
#[test]
fn convert_rejects_a_record_with_its_first_structural_problem() {
    let dir = run::folder("validate-first");
    let rejects = dir.join("rejects.jsonl");
    let out = trajkit(&[
        "convert",
        "fixtures/validate/structural.jsonl",
        "--emit",
        "messages",
        "--rejects",
        rejects.to_str().unwrap(),
    ]);
    assert!(stderr(&out).contains("read 3, converted 0, rejected 3"), "{}", stderr(&out));
    let got: Vec<(String, String)> = std::fs::read_to_string(&rejects)
        .unwrap()
        .lines()
        .map(|l| {
            let r: Value = serde_json::from_str(l).unwrap();
            (r["code"].as_str().unwrap().to_string(), r["path"].as_str().unwrap().to_string())
        })
        .collect();
    let want = [
        ("missing_field", "turns[0].assistant_answer"),
        ("unknown_role", "messages[3].role"),
        ("unknown_role", "conversations[3].from"),
    ];
    assert_eq!(got, want.iter().map(|(c, p)| (c.to_string(), p.to_string())).collect::<Vec<_>>());
}

/// The issue's measurement, as a test: one defect planted per record (an unknown tool, a missing
/// required argument, a wrong argument type, arguments that are not JSON, an invented argument
/// value), each combined with a structural problem elsewhere in the same record. validate reports the
/// planted defect and the structural problem, at their paths, for every combination.
#[test]
fn planted_defects_are_found_next_to_structural_problems() {
    use serde_json::json;
    let tools = json!([{"type": "function", "function": {"name": "book_flight", "description": "Book a flight.",
        "parameters": {"type": "object", "properties": {"origin": {"type": "string"}, "destination": {"type": "string"},
        "passengers": {"type": "integer"}}, "required": ["origin", "destination"]}}}]);
    let call = json!({"name": "book_flight", "arguments": {"origin": "OSL", "destination": "CDG", "passengers": 2}});
    // (code, path below the call) of each planted defect, and how it changes the call.
    type Plant = fn(&mut Value);
    let defects: [(&str, &str, Plant); 5] = [
        ("unknown_tool", "", |c| c["name"] = json!("book_flights")),
        ("arguments_schema", ".arguments.destination", |c| {
            c["arguments"].as_object_mut().unwrap().remove("destination");
        }),
        ("arguments_schema", ".arguments.passengers", |c| c["arguments"]["passengers"] = json!("two")),
        ("arguments_not_json", ".arguments", |c| c["arguments"] = json!("{origin: OSL, destination: CDG")),
        ("ungrounded_argument", ".arguments.destination", |c| c["arguments"]["destination"] = json!("LHR")),
    ];
    // Raw records: the planted call is in turns[0]; the structural problem elsewhere.
    let raw = |call: &Value| {
        json!({"tools": tools, "turns": [
            {"user": "Book OSL to CDG for 2 passengers.", "assistant_tool": call, "tool_result": {"booking": "B7"},
             "assistant_answer": "Booked: B7."},
            {"user": "Thanks, what is my booking number?", "assistant_answer": "It is B7."},
            {"user": "Great."}]})
    };
    let structural: [(&str, &str, Plant); 7] = [
        ("wrong_type", "turns[1].user", |r| r["turns"][1]["user"] = json!(42)),
        ("wrong_type", "turns[1]", |r| r["turns"][1] = json!("not a turn")),
        ("wrong_type", "turns[1].steps", |r| r["turns"][1]["steps"] = json!({"a": 1})),
        ("missing_field", "turns[1].assistant_answer", |r| {
            r["turns"][1] = json!({"user": "And back?", "assistant_tool": {"name": "book_flight",
                "arguments": {"origin": "CDG", "destination": "OSL"}}, "tool_result": "B8"});
            // Only the last turn with assistant output may end on a tool step.
            r["turns"][2]["assistant_answer"] = json!("Have a good trip.");
        }),
        ("result_count_mismatch", "turns[1].tool_result", |r| {
            r["turns"][1] = json!({"user": "Two more, CDG to OSL?", "assistant_tool": [
                {"name": "book_flight", "arguments": {"origin": "CDG", "destination": "OSL"}},
                {"name": "book_flight", "arguments": {"origin": "CDG", "destination": "OSL", "passengers": 1}}],
                "tool_result": ["B8"], "assistant_answer": "B8."});
        }),
        ("empty_turn", "turns[1]", |r| r["turns"][1] = json!({"user": "Hm?", "assistant_think": "nothing to do"})),
        ("wrong_type", "tools[1]", |r| r["tools"].as_array_mut().unwrap().push(json!("a tool"))),
    ];
    // Messages records: the planted call is messages[1].tool_calls[0].
    let messages = |call: &Value| {
        json!({"tools": tools, "messages": [
            {"role": "user", "content": "Book OSL to CDG for 2 passengers."},
            {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": call}]},
            {"role": "tool", "tool_call_id": "c1", "content": "{\"booking\": \"B7\"}"},
            {"role": "assistant", "content": "Booked: B7."},
            {"role": "user", "content": "Thanks!"},
            {"role": "assistant", "content": "You are welcome."}]})
    };
    let structural_messages: [(&str, &str, Plant); 3] = [
        ("unknown_role", "messages[4].role", |r| r["messages"][4]["role"] = json!("customer")),
        ("image_content", "messages[4].content[0]", |r| {
            r["messages"][4]["content"] = json!([{"type": "image_url", "image_url": {"url": "x"}}])
        }),
        ("wrong_type", "messages[5]", |r| r["messages"][5] = json!(["not", "a", "message"])),
    ];

    let mut records = Vec::new();
    let mut expected = Vec::new();
    for (code, below, plant) in &defects {
        let mut planted = call.clone();
        plant(&mut planted);
        for (s_code, s_path, breakage) in &structural {
            let mut record = raw(&planted);
            breakage(&mut record);
            records.push(record);
            expected.push([
                (code.to_string(), format!("turns[0].assistant_tool{below}")),
                (s_code.to_string(), s_path.to_string()),
            ]);
        }
        for (s_code, s_path, breakage) in &structural_messages {
            let mut record = messages(&planted);
            breakage(&mut record);
            records.push(record);
            let path = format!("messages[1].tool_calls[0]{}", below.replace(".arguments", ".function.arguments"));
            expected.push([(code.to_string(), path), (s_code.to_string(), s_path.to_string())]);
        }
    }
    let dir = run::folder("validate-planted");
    let input = dir.join("planted.jsonl");
    std::fs::write(&input, records.iter().map(|r| format!("{r}\n")).collect::<String>()).unwrap();

    // Every record is one convert rejects: the structural problem is real.
    let out = trajkit(&["convert", input.to_str().unwrap(), "--emit", "messages"]);
    let total = records.len();
    assert!(stderr(&out).contains(&format!("converted 0, rejected {total}")), "{}", stderr(&out));

    let (got, _) = findings(&[input.to_str().unwrap()], &[]);
    let mut missed = Vec::new();
    for (i, want) in expected.iter().enumerate() {
        let line = i as u64 + 1;
        let of_record: Vec<(String, String)> =
            got.iter().filter(|f| f.0 == line).map(|f| (f.2.clone(), f.3.clone())).collect();
        for w in want {
            if !of_record.contains(w) {
                missed.push(format!("line {line}: {w:?} not in {of_record:?}"));
            }
        }
    }
    assert!(missed.is_empty(), "{} of {} expected findings missed:\n{}", missed.len(), 2 * total, missed.join("\n"));
}

/// Every command reads a record the same way (issue 16): on a file whose first record holds an
/// integer beyond 64 bits and whose second, without an id, repeats a key, convert, validate, stats,
/// pairs and eval name the records alike (`FILE:LINE` for the second) and reject or warn with the
/// same codes. Before, validate called both records clean, stats counted the first, and convert
/// named the second `two:2`.
#[test]
fn commands_read_records_alike() {
    let dir = run::folder("read-alike");
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
