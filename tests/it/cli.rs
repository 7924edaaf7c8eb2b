//! The real binary on real data: convert, check-mask, bad input, accounting, expansion.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::run;
use run::{rows, stderr, stdout, temp_file, trajkit};

#[test]
fn convert_then_check_mask_on_bundled_samples() {
    let out = trajkit(&["convert", "fixtures/samples/raw.jsonl", "--template", "qwen3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = rows(&out);
    assert_eq!(rows.len(), 10);
    assert!(stderr(&out).contains("read 10, converted 10, rejected 0"));
    for row in &rows {
        let ids = row["input_ids"].as_array().unwrap();
        let mask = row["assistant_masks"].as_array().unwrap();
        let labels = row["labels"].as_array().unwrap();
        assert_eq!(ids.len(), mask.len());
        assert_eq!(ids.len(), labels.len());
        for ((id, m), l) in ids.iter().zip(mask).zip(labels) {
            let want = if m == 1 { id.clone() } else { Value::from(-100) };
            assert_eq!(l, &want);
        }
        assert!(mask.iter().any(|m| m == 1), "{}: nothing supervised", row["id"]);
        // Arguments are stored as strings and tools as a JSON string so `datasets` loads any mix.
        assert!(row["tools"].is_string());
        for m in row["messages"].as_array().unwrap() {
            for call in m.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
                assert!(call["function"]["arguments"].is_string());
            }
        }
        assert_eq!(row["trajkit"]["template"], "qwen3");
    }
    // Unknown fields travel along as meta; train: false shows up as a deliberate no-loss turn.
    let context = rows.iter().find(|r| r["id"] == "context-1").unwrap();
    assert!(context["meta"].as_str().unwrap().contains("annotator-7"));
    assert_eq!(context["trajkit"]["no_loss_turns"], serde_json::json!([0, 1]));

    let file = temp_file("train.jsonl", &stdout(&out));
    let check = trajkit(&["check-mask", file.to_str().unwrap()]);
    assert!(check.status.success(), "{}\n{}", stdout(&check), stderr(&check));
    let text = stdout(&check);
    assert!(text.contains("checked 10 rows"), "{text}");
    assert!(text.contains("0 violations"), "{text}");
    assert!(text.contains("▶<think>\nLive price needed"), "spans are shown decoded and delimited:\n{text}");
}

#[test]
fn check_mask_converts_raw_input_on_the_fly() {
    let out = trajkit(&["check-mask", "fixtures/samples/raw.jsonl", "-n", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.matches("━━ ").count(), 1, "-n 1 shows one row:\n{text}");
    assert!(text.contains("checked 10 rows"));
}

#[test]
fn check_mask_flags_a_broken_mask() {
    let out = trajkit(&["convert", "fixtures/samples/raw.jsonl"]);
    let mut row: Value = serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    // Supervise the first (system) token and drop the last end-of-turn token from the loss.
    let mask = row["assistant_masks"].as_array_mut().unwrap();
    mask[0] = Value::from(1);
    let n = mask.len();
    mask[n - 2] = Value::from(0);
    let file = temp_file("broken.jsonl", &format!("{row}\n"));
    let check = trajkit(&["check-mask", file.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(1));
    let text = stdout(&check);
    assert!(text.contains("supervised_outside_assistant"), "{text}");
    assert!(text.contains("end_token_unsupervised"), "{text}");
}

#[test]
fn bad_lines_are_located_and_counted() {
    let rejects = temp_file("rejects.jsonl", "");
    let out = trajkit(&["convert", "fixtures/samples/bad.jsonl", "--rejects", rejects.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "bad records are reported and skipped");
    let err = stderr(&out);
    for expected in [
        "bad.jsonl:2: not valid JSON",
        "bad.jsonl:3 (id turns-string): turns: expected an array of turns, found a string",
        "bad.jsonl:4 (id user-number): turns[0].user: expected a string, found a number",
        "bad.jsonl:6 (id not-offered): turns[0].assistant_tool: call to `search`, which is not among the record's tools",
        "bad.jsonl:7 (id raw-code-args): turns[0].assistant_tool.arguments: string arguments are not JSON",
        "bad.jsonl:8: a record must be a JSON object",
        "bad.jsonl:9 (id unpaired): turns[0].tool_result: 2 call(s) but 1 result(s)",
        "bad.jsonl:10 (id no-turns): turns: no turns",
        "read 9, converted 3, rejected 6",
    ] {
        assert!(err.contains(expected), "missing `{expected}` in:\n{err}");
    }
    assert!(!err.contains("panicked"));
    assert_eq!(rows(&out).len(), 3);
    let reports: Vec<Value> =
        std::fs::read_to_string(&rejects).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(reports.len(), 6);
    assert_eq!(reports[0]["line"], 2);
    assert_eq!(reports[4]["code"], "result_count_mismatch");
    assert_eq!(reports[4]["path"], "turns[0].tool_result");
}

#[test]
fn strict_stops_at_the_first_bad_record() {
    let out = trajkit(&["convert", "fixtures/samples/bad.jsonl", "--strict"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(rows(&out).len(), 1, "only the valid first line before the failure");
    assert!(stderr(&out).contains("bad.jsonl:2"));
}

#[test]
fn per_turn_expansion_supervises_one_turn_per_row() {
    let out = trajkit(&["convert", "fixtures/samples/raw.jsonl", "--expand", "per-turn"]);
    assert!(out.status.success());
    let rows = rows(&out);
    let zeit: Vec<&Value> = rows.iter().filter(|r| r["id"].as_str().unwrap().starts_with("zeit-1#")).collect();
    assert_eq!(zeit.len(), 2);
    // The second row carries the first turn as history without loss.
    assert_eq!(zeit[1]["trajkit"]["no_loss_turns"], serde_json::json!([0, 1]));
    // context-1's first turn is train: false, so only its second turn makes a row.
    assert_eq!(rows.iter().filter(|r| r["id"].as_str().unwrap().starts_with("context-1#")).count(), 1);
    assert!(stderr(&out).contains("rows written"));
    let file = temp_file("per-turn.jsonl", &stdout(&out));
    let check = trajkit(&["check-mask", file.to_str().unwrap()]);
    assert!(check.status.success(), "{}", stdout(&check));
}

#[test]
fn conversation_mode_warns_when_qwen3_drops_supervised_reasoning() {
    let out = trajkit(&["convert", "fixtures/samples/raw.jsonl"]);
    let err = stderr(&out);
    assert!(err.contains("in 2 row(s) the qwen3 template drops the reasoning"), "{err}");
    assert!(err.contains("--expand per-turn"));
}

#[test]
fn reasoning_policies_change_the_mask_not_the_history() {
    let train = rows(&trajkit(&["convert", "fixtures/samples/raw.jsonl"]));
    let context = rows(&trajkit(&["convert", "fixtures/samples/raw.jsonl", "--reasoning", "context"]));
    let dropped = rows(&trajkit(&["convert", "fixtures/samples/raw.jsonl", "--reasoning", "drop"]));
    let ones = |r: &Value| r["assistant_masks"].as_array().unwrap().iter().filter(|m| *m == 1).count();
    let stock = |rows: &[Value]| rows.iter().find(|r| r["id"] == "stock-1").unwrap().clone();
    let (t, c, d) = (stock(&train), stock(&context), stock(&dropped));
    assert_eq!(t["input_ids"], c["input_ids"], "context keeps the text");
    assert!(ones(&c) < ones(&t), "context removes the reasoning from the loss");
    assert!(d["input_ids"].as_array().unwrap().len() < t["input_ids"].as_array().unwrap().len());
    assert!(d["messages"].as_array().unwrap().iter().all(|m| m.get("reasoning_content").is_none()));
    let no_empty = rows(&trajkit(&["convert", "fixtures/samples/raw.jsonl", "--empty-think", "context"]));
    let direct = |rows: &[Value]| ones(rows.iter().find(|r| r["id"] == "cannot-1").unwrap());
    assert!(direct(&no_empty) < direct(&train), "--empty-think context takes the empty block out of the loss");
}

#[test]
fn emit_messages_and_text() {
    let out = trajkit(&["convert", "fixtures/samples/raw.jsonl", "--emit", "messages"]);
    let row = &rows(&out)[0];
    assert_eq!(row.as_object().unwrap().keys().collect::<Vec<_>>(), ["id", "messages", "tools", "meta"]);
    let out = trajkit(&["convert", "fixtures/samples/raw.jsonl", "--emit", "text"]);
    let row = &rows(&out)[0];
    let text = row["text"].as_str().unwrap();
    let [start, end] = [row["spans"][0][0].as_u64().unwrap() as usize, row["spans"][0][1].as_u64().unwrap() as usize];
    assert!(text.as_bytes()[start..end].starts_with(b"<think>"));
    assert!(text[..end].ends_with("</tool_call><|im_end|>\n"));
}

#[test]
fn stdin_input_and_closed_pipe() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trajkit"))
        .args(["convert", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = std::fs::read("fixtures/samples/raw.jsonl").unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(rows(&out).len(), 10);
    assert!(stderr(&out).contains("-:1") || stderr(&out).contains("read 10"));

    // `| head -1`: the reader goes away; trajkit ends quietly.
    let big: String = std::iter::repeat_n(std::str::from_utf8(&input).unwrap(), 50).collect();
    let file = temp_file("big.jsonl", &big);
    let mut child = Command::new(env!("CARGO_BIN_EXE_trajkit"))
        .args(["convert", file.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    assert_ne!(out.status.code(), Some(101));
}

#[test]
fn bad_arguments_exit_2_with_a_message() {
    let out = trajkit(&["convert", "no/such/file.jsonl"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no/such/file.jsonl"));
    let out = trajkit(&["convert", "fixtures/samples/raw.jsonl", "--template", "no-such-template"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no-such-template"));
}

/// Every text record of ../shared (samples and real data) converts and lints clean; skipped when
/// the shared folder is absent.
#[test]
fn shared_samples_and_real_data_convert_and_lint_clean() {
    let shared = Path::new("../shared");
    if !shared.exists() {
        eprintln!("../shared absent: skipped");
        return;
    }
    for template in ["qwen3", "chatml", "harmony"] {
        for input in run::SHARED_INPUTS {
            let path = shared.join(input);
            let out = trajkit(&["convert", path.to_str().unwrap(), "--template", template]);
            let err = stderr(&out);
            assert!(out.status.success(), "{input}: {err}");
            assert!(err.contains("rejected 0"), "{template} {input}: {err}");
            let file = temp_file(&format!("shared-{template}.jsonl"), &stdout(&out));
            let check = trajkit(&["check-mask", file.to_str().unwrap(), "-n", "0"]);
            assert!(check.status.success(), "{template} {input}: {}", stdout(&check));
        }
    }
    // The vision record is refused with a clear, located error.
    let out = trajkit(&["convert", shared.join("real/functionary-tests/test_case_vision.json").to_str().unwrap()]);
    assert!(stderr(&out).contains("the built-in templates are text-only"), "{}", stderr(&out));
    assert!(stderr(&out).contains("rejected 1"));
}

#[test]
fn tools_file_fills_records_without_tools_and_tokenizer_path_overrides() {
    let tools = temp_file(
        "tools.json",
        r#"[{"name": "lookup", "description": "Look a word up.", "parameters": {"type": "object", "properties": {"word": {"type": "string"}}}}]"#,
    );
    let input = temp_file(
        "no-tools.jsonl",
        r#"{"id": "t", "turns": [{"user": "define cat", "assistant_tool": {"name": "lookup", "arguments": {"word": "cat"}}, "tool_result": "a small feline", "assistant_answer": "A cat is a small feline."}]}"#,
    );
    let out = trajkit(&["convert", input.to_str().unwrap(), "--tools", tools.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let row = &rows(&out)[0];
    assert!(row["tools"].as_str().unwrap().contains("\"lookup\""));
    assert!(!stderr(&out).contains("call_without_tools"), "{}", stderr(&out));

    // The same tokenizer given as a model folder gives the same ids.
    let folder = run::folder("cli-qwen3-folder");
    let gz = std::fs::read("fixtures/tokenizers/qwen3/tokenizer.json.gz").unwrap();
    let mut json = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut json).unwrap();
    std::fs::write(folder.join("tokenizer.json"), json).unwrap();
    let again = trajkit(&[
        "convert",
        input.to_str().unwrap(),
        "--tools",
        tools.to_str().unwrap(),
        "--tokenizer",
        folder.to_str().unwrap(),
    ]);
    assert_eq!(rows(&again)[0]["input_ids"], row["input_ids"]);
    assert_eq!(rows(&again)[0]["trajkit"]["tokenizer"], folder.to_str().unwrap());
}

#[test]
fn input_format_can_be_forced() {
    let input = temp_file(
        "forced.jsonl",
        r#"{"id": "f", "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]}"#,
    );
    let out = trajkit(&["convert", input.to_str().unwrap(), "--input-format", "raw"]);
    assert!(stderr(&out).contains("turns: missing"), "{}", stderr(&out));
    let out = trajkit(&["convert", input.to_str().unwrap(), "--input-format", "sharegpt"]);
    assert_eq!(rows(&out).len(), 1);
}
