//! Reliability: nothing lost, every bad input located, hostile input survived. The real binary on
//! hostile files: every run must end without a panic, with each bad record located (file:line, id,
//! JSON path) in the reject report, the counts adding up (read = written + rejected), the right exit
//! code, and an output file that is either complete or not there.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::run;
use run::{stderr, trajkit};

/// A fresh folder for one test.
fn folder(test: &str) -> PathBuf {
    run::fresh_folder(&format!("reliability-{test}"))
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn jsonl(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect()
}

/// One `convert` run with `-o`, `--rejects` and `--report` in `dir`, checked for what must hold for
/// every run: no panic, read = written + rejected, one reject line per rejected record or row.
struct Run {
    output: Output,
    rows: Vec<Value>,
    rejects: Vec<Value>,
    report: Value,
}

impl Run {
    fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    fn stderr(&self) -> String {
        stderr(&self.output)
    }

    fn count(&self, key: &str) -> u64 {
        self.report[key].as_u64().unwrap_or_else(|| panic!("report has no {key}: {}", self.report))
    }

    /// The reject line for `line` of the input.
    fn reject(&self, line: u64) -> &Value {
        self.rejects.iter().find(|r| r["line"] == line).unwrap_or_else(|| panic!("no reject for line {line}"))
    }
}

fn convert(dir: &Path, inputs: &[&Path], flags: &[&str]) -> Run {
    let (out, rejects, report) = (dir.join("out.jsonl"), dir.join("rejects.jsonl"), dir.join("report.json"));
    for stale in [&out, &rejects, &report] {
        let _ = std::fs::remove_file(stale);
    }
    let mut args: Vec<&str> = vec!["convert"];
    args.extend(inputs.iter().map(|p| p.to_str().unwrap()));
    args.extend(["-o", out.to_str().unwrap(), "--rejects", rejects.to_str().unwrap()]);
    args.extend(["--report", report.to_str().unwrap()]);
    args.extend(flags);
    let output = trajkit(&args);
    let err = stderr(&output);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(output.status.code(), Some(101), "{err}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let run = Run { output, rows: jsonl(&out), rejects: jsonl(&rejects), report };
    assert_eq!(run.count("read"), run.count("written") + run.count("rejected"), "{}", run.report);
    assert_eq!(run.rejects.len() as u64, run.count("rejected") + run.count("rows_rejected"));
    let by_code: u64 = run.report["rejects_by_code"].as_object().unwrap().values().map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(by_code, run.rejects.len() as u64);
    if run.code() == Some(0) {
        assert_eq!(run.rows.len() as u64, run.count("rows_written"));
        assert!(run.stderr().contains(&format!("read {}, converted {}", run.count("read"), run.count("written"))));
    }
    run
}

/// A small valid record in the messages format.
fn record(id: &str) -> String {
    format!(
        r#"{{"id": "{id}", "messages": [{{"role": "user", "content": "hi"}}, {{"role": "assistant", "content": "hello"}}]}}"#
    )
}

const SAMPLES: &str = "fixtures/samples/raw.jsonl";

#[test]
fn invalid_utf8_is_a_located_reject_that_keeps_the_line() {
    let dir = folder("utf8");
    let mut bytes = format!("{}\n", record("a")).into_bytes();
    bytes.extend_from_slice(b"{\"id\": \"bad\", \"messages\": \"caf\xe9 \xff\"}\n");
    bytes.extend_from_slice(format!("{}\n", record("c")).as_bytes());
    let input = write(&dir, "latin1.jsonl", &bytes);
    let run = convert(&dir, &[&input], &["--emit", "messages"]);
    assert_eq!(run.code(), Some(0));
    assert_eq!((run.count("written"), run.count("rejected")), (2, 1));
    assert!(run.stderr().contains("latin1.jsonl:2: invalid UTF-8 at byte 31 of the record [invalid_utf8]"));
    let reject = run.reject(2);
    assert_eq!(reject["code"], "invalid_utf8");
    assert_eq!(
        reject["record"], "{\"id\": \"bad\", \"messages\": \"caf\u{FFFD} \u{FFFD}\"}",
        "the line, made readable"
    );
}

/// Huge lines between ordinary ones: a 100 MB line cut short (an interrupted dump) and a 16 MB record
/// (an answer holding a whole file). Both are read whole and rejected with their place, the big
/// record as too long without being tokenized (tokenizing 100 MB takes minutes), and the lines
/// after them keep their numbers. The valid record is 16 MB rather than 100 MB to keep the test
/// near 10 s in a debug build, where rendering walks the text character by character; it is still
/// 16 times the read buffer.
#[test]
fn huge_lines_are_read_whole_and_rejected_with_their_place() {
    let dir = folder("huge-lines");
    let cut = format!(r#"{{"id": "cut", "messages": [{{"role": "tool", "content": "{}"#, "x".repeat(100 << 20));
    let answer = "y".repeat(16 << 20);
    let big = format!(
        r#"{{"id": "huge", "messages": [{{"role": "user", "content": "cat it"}}, {{"role": "assistant", "content": "{answer}"}}]}}"#
    );
    let text = format!("{}\n{cut}\n{}\n{big}\n{}\n", record("first"), record("middle"), record("last"));
    let (cut_len, big_len) = (cut.len(), big.len());
    drop((cut, answer, big));
    let input = write(&dir, "huge.jsonl", text);
    let started = Instant::now();
    let run = convert(&dir, &[&input], &["--max-length", "4096"]);
    eprintln!("huge lines: {:?}", started.elapsed());
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    assert_eq!((run.count("read"), run.count("written"), run.count("rejected")), (5, 3, 2));
    let cut = run.reject(2);
    assert_eq!(cut["code"], "invalid_json");
    assert_eq!(cut["record"].as_str().unwrap().len(), cut_len, "the whole line is in the reject report");
    let too_long = run.reject(4);
    assert_eq!((too_long["code"].as_str(), too_long["id"].as_str()), (Some("too_long"), Some("huge")));
    assert!(too_long["length"].as_u64().unwrap() > 4096);
    assert!(too_long["message"].as_str().unwrap().contains("not tokenized"), "{too_long}");
    assert_eq!(too_long["record"].as_str().unwrap().len(), big_len);
    assert_eq!(run.rows.iter().map(|r| r["id"].as_str().unwrap()).collect::<Vec<_>>(), ["first", "middle", "last"]);
}

#[test]
fn deeply_nested_json_is_a_located_reject_and_moderate_nesting_converts() {
    let dir = folder("nested");
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let mut nested = String::from("1");
    for _ in 0..100 {
        nested = format!("{{\"a\": {nested}}}");
    }
    let call = format!(
        r#"{{"id": "nested-args", "tools": [{{"name": "f", "parameters": {{"type": "object"}}}}], "turns": [{{"user": "go", "assistant_tool": {{"name": "f", "arguments": {nested}}}, "tool_result": "ok", "assistant_answer": "done"}}]}}"#
    );
    let deep_value = format!(r#"{{"id": "deep-meta", "extra": {deep}, "messages": []}}"#);
    let input = write(&dir, "nested.jsonl", format!("{deep}\n{call}\n{deep_value}\n"));
    let run = convert(&dir, &[&input], &[]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    assert_eq!((run.count("written"), run.count("rejected")), (1, 2));
    for line in [1, 3] {
        let reject = run.reject(line);
        assert_eq!(reject["code"], "invalid_json");
        assert!(reject["message"].as_str().unwrap().contains("recursion limit exceeded"), "{reject}");
    }
    assert!(run.stderr().contains("nested.jsonl:1: not valid JSON: recursion limit exceeded"));
    assert_eq!(run.rows[0]["id"], "nested-args");
}

#[test]
fn huge_and_non_finite_numbers_are_located_by_json_path() {
    let dir = folder("numbers");
    let turn = |args: &str| {
        format!(
            r#"{{"id": "n", "tools": [{{"name": "f", "parameters": {{"type": "object"}}}}], "turns": [{{"user": "go", "assistant_tool": {{"name": "f", "arguments": {args}}}, "tool_result": "ok", "assistant_answer": "done"}}]}}"#
        )
    };
    let lines = [
        turn(r#"{"id": 123456789012345678901234567890}"#),
        turn(r#"{"x": [1, NaN]}"#),
        turn(r#"{"x": -Infinity}"#),
        turn(r#"{"x": 1e400}"#),
        turn(r#"{"x": 18446744073709551615, "y": -9223372036854775808, "z": 1e-400, "w": 1.7976931348623157e308}"#),
    ];
    let input = write(&dir, "numbers.jsonl", lines.join("\n"));
    let run = convert(&dir, &[&input], &["--emit", "messages"]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    assert_eq!((run.count("written"), run.count("rejected")), (1, 4));
    let expected = [
        (1, "number_out_of_range", "turns[0].assistant_tool.arguments.id"),
        (2, "non_finite_number", "turns[0].assistant_tool.arguments.x[1]"),
        (3, "non_finite_number", "turns[0].assistant_tool.arguments.x"),
        (4, "number_out_of_range", "turns[0].assistant_tool.arguments.x"),
    ];
    for (line, code, path) in expected {
        let reject = run.reject(line);
        assert_eq!((reject["code"].as_str(), reject["path"].as_str()), (Some(code), Some(path)), "{reject}");
        assert_eq!(reject["id"], "n", "the id is found even when the record does not parse");
    }
    assert!(run.stderr().contains("numbers.jsonl:2 (id n): turns[0].assistant_tool.arguments.x[1]: NaN is not JSON"));
    // 64-bit extremes are kept exactly.
    let args = run.rows[0]["messages"][1]["tool_calls"][0]["function"]["arguments"].as_str().unwrap();
    assert!(args.contains("18446744073709551615") && args.contains("-9223372036854775808"), "{args}");
}

/// Duplicate keys: the last value wins, as Python's `json.loads` does (so the row is what a Python
/// pipeline would have made), with a `duplicate_key` warning naming the path.
#[test]
fn duplicate_keys_keep_the_last_value_with_a_warning() {
    let dir = folder("duplicates");
    let line = r#"{"id": "dup", "turns": [{"user": "first", "user": "second", "assistant_answer": "a"}], "id": "dup"}"#;
    let input = write(&dir, "dup.jsonl", line);
    let run = convert(&dir, &[&input], &["--emit", "messages"]);
    assert_eq!(run.code(), Some(0));
    assert_eq!(run.rows[0]["messages"][0]["content"], "second");
    assert_eq!(run.report["warnings_by_code"]["duplicate_key"], 2);
    assert!(run.stderr().contains("dup.jsonl:1 (id dup): turns[0].user: key `user` appears more than once"));
}

#[test]
fn bom_crlf_blank_lines_and_empty_files() {
    let dir = folder("layout");
    let crlf = format!("\u{feff}{}\r\n\r\n   \r\n{}\r\n\u{feff}{}\r\n\n", record("a"), record("b"), record("c"));
    let crlf = write(&dir, "windows.jsonl", crlf);
    let empty = write(&dir, "empty.jsonl", "");
    let blank = write(&dir, "blank.jsonl", "\n \n\t\r\n\u{feff}\n");
    let run = convert(&dir, &[&empty, &crlf, &blank], &["--emit", "messages"]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    assert_eq!((run.count("read"), run.count("rejected")), (3, 0));
    assert_eq!(run.rows.iter().map(|r| r["id"].as_str().unwrap()).collect::<Vec<_>>(), ["a", "b", "c"]);
    let run = convert(&dir, &[&empty], &[]);
    assert_eq!((run.code(), run.count("read"), run.rows.len()), (Some(0), 0, 0));
    assert!(dir.join("out.jsonl").exists(), "an empty input still makes an (empty) output file");
}

#[test]
fn json_array_files_pretty_one_line_cut_short_or_not_utf8() {
    let dir = folder("arrays");
    let pretty = write(&dir, "pretty.json", format!("[\n  {},\n  {},\n  7\n]\n", record("a"), record("b")));
    let run = convert(&dir, &[&pretty], &["--emit", "messages"]);
    assert_eq!((run.count("written"), run.count("rejected")), (2, 1));
    assert_eq!((run.reject(4)["code"].as_str(), run.reject(4)["record"].as_str()), (Some("not_an_object"), Some("7")));

    let one_line = write(&dir, "one-line.json", format!("[{}, {}]", record("a"), record("b")));
    let run = convert(&dir, &[&one_line], &["--emit", "messages"]);
    assert_eq!((run.count("written"), run.count("rejected")), (2, 0));

    // A download cut short: the elements before the cut convert, the cut one is located.
    let cut = write(&dir, "cut.json", format!("[\n{},\n{},\n{{\"id\": \"c\", \"mess", record("a"), record("b")));
    let run = convert(&dir, &[&cut], &["--emit", "messages"]);
    assert_eq!((run.count("written"), run.count("rejected")), (2, 1));
    assert_eq!(run.reject(4)["code"], "invalid_json");

    let mut bytes = format!("[\n{},\n", record("a")).into_bytes();
    bytes.extend_from_slice(b"{\"id\": \"\xff\"},\n");
    bytes.extend_from_slice(format!("{}\n]\n", record("c")).as_bytes());
    let latin = write(&dir, "latin.json", bytes);
    let run = convert(&dir, &[&latin], &["--emit", "messages"]);
    assert_eq!((run.count("written"), run.count("rejected")), (2, 1));
    assert_eq!(run.reject(3)["code"], "invalid_utf8");

    // A JSONL file whose first record is an array, or cut short, stays JSONL.
    let lines = write(&dir, "lines.jsonl", format!("[1, 2]\n{}\n{{\"id\": \"x\",\n{}\n", record("a"), record("b")));
    let run = convert(&dir, &[&lines], &["--emit", "messages"]);
    assert_eq!((run.count("written"), run.count("rejected")), (2, 2));
    let cut_first = write(&dir, "cut-first.jsonl", format!("{{\"id\": \"x\",\n{}\n{}\n", record("a"), record("b")));
    let run = convert(&dir, &[&cut_first], &["--emit", "messages"]);
    assert_eq!((run.count("written"), run.count("rejected")), (2, 1));
    assert_eq!(run.reject(1)["code"], "invalid_json");
}

#[test]
fn gzip_and_zstd_input_is_read_transparently() {
    use flate2::write::GzEncoder;
    let dir = folder("compressed");
    let plain = std::fs::read(SAMPLES).unwrap();
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).unwrap();
    let gz = gz.finish().unwrap();
    // Two zstd frames back to back (`cat a.zst b.zst`) are one valid zstd file.
    let half = plain.len() / 2;
    let mut zst = ruzstd::encoding::compress_to_vec(&plain[..half], ruzstd::encoding::CompressionLevel::Fastest);
    zst.extend(ruzstd::encoding::compress_to_vec(&plain[half..], ruzstd::encoding::CompressionLevel::Fastest));
    let gz_path = write(&dir, "raw.jsonl.gz", &gz);
    let zst_path = write(&dir, "raw.jsonl.zst", &zst);
    let expected = convert(&dir, &[Path::new(SAMPLES)], &["--emit", "messages"]).rows;
    assert_eq!(expected.len(), 10);
    for path in [&gz_path, &zst_path] {
        let run = convert(&dir, &[path], &["--emit", "messages"]);
        assert_eq!(run.code(), Some(0), "{}", run.stderr());
        assert_eq!(run.rows, expected, "{}", path.display());
    }
    // From stdin, recognised by content.
    let mut child = Command::new(env!("CARGO_BIN_EXE_trajkit"))
        .args(["convert", "-", "--emit", "messages"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&gz).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 10, "{}", stderr(&out));

    // A truncated or corrupt archive cannot be read to the end: exit 2, saying where reading stopped,
    // and no output file.
    for (name, bytes) in [("cut.jsonl.gz", &gz[..gz.len() / 2]), ("cut.jsonl.zst", &zst[..zst.len() / 3])] {
        let path = write(&dir, name, bytes);
        let out_path = dir.join("cut-out.jsonl");
        let out = trajkit(&["convert", path.to_str().unwrap(), "--emit", "messages", "-o", out_path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        assert!(stderr(&out).contains(&format!("reading {}: after line", path.display())), "{}", stderr(&out));
        assert!(!out_path.exists());
    }
    let xz = write(&dir, "raw.jsonl.xz", b"\xfd7zXZ\x00\x00\x04");
    let out = trajkit(&["convert", xz.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("xz-compressed (decompress it with xz -d)"), "{}", stderr(&out));
}

#[test]
fn message_content_that_is_not_a_string() {
    let dir = folder("content");
    let lines = [
        r#"{"id": "parts", "messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}, {"role": "assistant", "content": [{"type": "text", "text": "c"}]}]}"#,
        r#"{"id": "null", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": null, "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": "{}"}}]}, {"role": "tool", "content": "r"}, {"role": "assistant", "content": "done"}]}"#,
        r#"{"id": "number", "messages": [{"role": "user", "content": 42}, {"role": "assistant", "content": "a"}]}"#,
        r#"{"id": "object", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": {"text": "a"}}]}"#,
        r#"{"id": "image", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}, {"role": "assistant", "content": "a"}]}"#,
    ];
    let input = write(&dir, "content.jsonl", lines.join("\n"));
    let run = convert(&dir, &[&input], &[]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    assert_eq!((run.count("written"), run.count("rejected")), (2, 3));
    assert_eq!(run.rows[0]["messages"][0]["content"], "ab");
    for (line, code, path) in [
        (3, "wrong_type", "messages[0].content"),
        (4, "wrong_type", "messages[1].content"),
        (5, "image_content", "messages[0].content[0]"),
    ] {
        let reject = run.reject(line);
        assert_eq!((reject["code"].as_str(), reject["path"].as_str()), (Some(code), Some(path)), "{reject}");
    }
}

/// A user's chat template cannot read files, run for ever or exhaust memory: each limit is a located
/// error for the record (file:line, id), and the run goes on.
#[test]
fn hostile_templates_fail_each_record_cleanly() {
    let dir = folder("templates");
    let input = write(&dir, "two.jsonl", format!("{}\n{}\n", record("r1"), record("r2")));
    let templates = [
        ("include", "{% include '/etc/passwd' %}", "template not found"),
        ("import", "{% import '/etc/passwd' as x %}{{ x }}", "template not found"),
        ("repeat", "{{ 'x' * 10**10 }}", "repeated string is too large"),
        ("range", "{% for i in range(10**9) %}x{% endfor %}", "range has too many elements"),
        ("recursion", "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "recursion limit exceeded"),
    ];
    for (name, source, expected) in templates {
        let template = write(&dir, &format!("{name}.jinja"), source);
        let run = convert(&dir, &[&input], &["--template", template.to_str().unwrap(), "--tokenizer", "qwen3"]);
        assert_eq!(run.code(), Some(0), "{name}: {}", run.stderr());
        assert_eq!((run.count("written"), run.count("rejected")), (0, 2), "{name}");
        let reject = run.reject(2);
        assert_eq!((reject["code"].as_str(), reject["id"].as_str()), (Some("template_error"), Some("r2")));
        assert!(reject["message"].as_str().unwrap().contains(expected), "{name}: {reject}");
        assert!(run.stderr().contains("two.jsonl:1 (id r1): template error:"), "{name}: {}", run.stderr());
    }
}

/// A template that loops for ever runs out of fuel (a limit on template instructions) and is a
/// located error. Slow by nature: the fuel is generous enough for real templates on long records.
#[test]
fn a_template_that_loops_for_ever_runs_out_of_fuel() {
    let dir = folder("fuel");
    let input = write(&dir, "one.jsonl", record("r1"));
    let source = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}";
    let template = write(&dir, "forever.jinja", source);
    let run = convert(&dir, &[&input], &["--template", template.to_str().unwrap(), "--tokenizer", "qwen3"]);
    assert_eq!(run.code(), Some(0));
    let reject = run.reject(1);
    assert_eq!((reject["code"].as_str(), reject["id"].as_str()), (Some("template_error"), Some("r1")));
    assert!(reject["message"].as_str().unwrap().contains("ran out of fuel"), "{reject}");
}

/// A conversation of `turns` user turns, each with a tool call and a long answer, behind a system
/// message and a tool.
fn long_conversation(id: &str, turns: usize) -> Value {
    let mut messages = vec![serde_json::json!({"role": "system", "content": "You answer briefly."})];
    for k in 0..turns {
        messages.push(serde_json::json!({"role": "user", "content": format!("question {k}: {}", "why ".repeat(40))}));
        messages.push(serde_json::json!({"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "function": {"name": "look", "arguments": {"q": k}}}]}));
        messages.push(serde_json::json!({"role": "tool", "content": format!("result {k}")}));
        messages.push(
            serde_json::json!({"role": "assistant", "content": format!("answer {k}: {}", "because ".repeat(40))}),
        );
    }
    let tool = serde_json::json!({"type": "function", "function": {"name": "look", "parameters": {"type": "object"}}});
    serde_json::json!({"id": id, "messages": messages, "tools": [tool]})
}

fn tokens(row: &Value) -> u64 {
    row["input_ids"].as_array().unwrap().len() as u64
}

#[test]
fn max_length_drops_rows_or_whole_earliest_turns() {
    let dir = folder("max-length");
    let record = long_conversation("long", 4);
    let input = write(&dir, "long.jsonl", format!("{record}\n{}\n", self::record("short")));
    let full = convert(&dir, &[&input], &[]);
    let full_length = tokens(&full.rows[0]);
    let limit = full_length * 3 / 5;

    // drop: the row goes to the reject report with its length.
    let run = convert(&dir, &[&input], &["--max-length", &limit.to_string()]);
    assert_eq!(run.code(), Some(0));
    assert_eq!((run.count("written"), run.count("rejected")), (1, 1));
    let reject = run.reject(1);
    assert_eq!((reject["code"].as_str(), reject["length"].as_u64()), (Some("too_long"), Some(full_length)));
    assert!(run.stderr().contains(&format!("long.jsonl:1 (id long): {full_length} tokens, over --max-length {limit}")));

    // turns: whole turns go from the start, the system message and tools stay, and no fewer dropped
    // turns would have fitted.
    let run = convert(&dir, &[&input], &["--max-length", &limit.to_string(), "--truncate", "turns"]);
    assert_eq!((run.count("written"), run.count("rejected")), (2, 0));
    let row = &run.rows[0];
    assert!(tokens(row) <= limit);
    let messages = row["messages"].as_array().unwrap();
    assert_eq!(messages[0]["role"], "system");
    assert!(row["tools"].as_str().unwrap().contains("look"));
    let first_kept = messages[1]["content"].as_str().unwrap();
    let dropped: usize = first_kept["question ".len()..first_kept.find(':').unwrap()].parse().unwrap();
    assert!(dropped >= 1);
    let original = record["messages"].as_array().unwrap();
    let said = |ms: &[Value]| ms.iter().map(|m| format!("{} {}", m["role"], m["content"])).collect::<Vec<_>>();
    assert_eq!(said(&messages[1..]), said(&original[1 + 4 * dropped..]), "whole turns, in order");
    assert_eq!(run.report["warnings_by_code"]["truncated"], 1);
    let mut fewer = record.clone();
    fewer["messages"].as_array_mut().unwrap().drain(1..1 + 4 * (dropped - 1));
    let fewer_input = write(&dir, "fewer.jsonl", fewer.to_string());
    assert!(tokens(&convert(&dir, &[&fewer_input], &[]).rows[0]) > limit, "dropped no more turns than needed");

    // A row that does not fit even with only its last turn is rejected with that length.
    let run = convert(&dir, &[&input], &["--max-length", "150", "--truncate", "turns"]);
    let reject = run.reject(1);
    assert_eq!(reject["code"], "too_long");
    assert!(reject["message"].as_str().unwrap().contains("with only its last turn"), "{reject}");
    assert!(reject["length"].as_u64().unwrap() < full_length);

    // Per-turn rows are held to the limit one by one: the record is written, its rows over the limit
    // are rejected as rows.
    let run = convert(&dir, &[&input], &["--max-length", &limit.to_string(), "--expand", "per-turn"]);
    assert_eq!((run.count("written"), run.count("rejected")), (2, 0));
    assert!(run.count("rows_rejected") >= 1);
    assert!(run.rows.iter().all(|r| tokens(r) <= limit));
    let row_reject = &run.rejects[0];
    assert_eq!((row_reject["kind"].as_str(), row_reject["code"].as_str()), (Some("row"), Some("too_long")));
    assert!(row_reject["id"].as_str().unwrap().starts_with("long#"));

    let out = trajkit(&["convert", SAMPLES, "--truncate", "turns"]);
    assert_eq!(out.status.code(), Some(2), "--truncate needs --max-length");
}

#[test]
fn report_max_rejects_and_strict_decide_the_exit_code() {
    let dir = folder("accounting");
    let bad = Path::new("fixtures/samples/bad.jsonl");
    let run = convert(&dir, &[bad, Path::new(SAMPLES)], &[]);
    assert_eq!(run.code(), Some(0), "rejects are allowed by default");
    assert_eq!((run.count("read"), run.count("written"), run.count("rejected")), (19, 13, 6));
    assert_eq!(run.report["rejects_by_code"]["wrong_type"], 2);
    assert_eq!(run.report["warnings_by_code"]["arguments_not_json"], 1);
    assert_eq!((run.report["complete"].as_bool(), run.report["exit_code"].as_u64()), (Some(true), Some(0)));
    assert!(run.stderr().contains("rejected: empty_turns 1, invalid_json 1, not_an_object 1"), "{}", run.stderr());

    let previous = "a previous complete file\n";
    for (max, code) in [("6", 0), ("5", 1), ("40%", 0), ("30%", 1), ("0", 1)] {
        std::fs::write(dir.join("out.jsonl"), previous).unwrap();
        let mut args = vec!["convert", "fixtures/samples/bad.jsonl", SAMPLES, "--max-rejects", max];
        let out_path = dir.join("out.jsonl");
        args.extend(["-o", out_path.to_str().unwrap()]);
        let out = trajkit(&args);
        assert_eq!(out.status.code(), Some(code), "--max-rejects {max}: {}", stderr(&out));
        let now = std::fs::read_to_string(&out_path).unwrap();
        if code == 1 {
            assert_eq!(now, previous, "a failed run leaves the output as it was");
            assert!(stderr(&out).contains(&format!("6 of 19 records rejected (31.6%), over --max-rejects {max}")));
        } else {
            assert_eq!(now.lines().count(), 13);
        }
    }
    let out = trajkit(&["convert", SAMPLES, "--max-rejects", "lots"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("expected a number of records (10) or a percentage (0.5%)"));

    let run = convert(&dir, &[bad], &["--strict"]);
    assert_eq!(run.code(), Some(2));
    assert_eq!((run.count("read"), run.count("written"), run.count("rejected")), (2, 1, 1));
    assert_eq!(run.report["complete"], false);
    assert!(!dir.join("out.jsonl").exists(), "a failed run writes no output file");
}

/// Reading and writing the same file is safe: the output replaces it only once it is complete.
#[test]
fn output_may_replace_its_own_input() {
    let dir = folder("in-place");
    let path = write(&dir, "data.jsonl", std::fs::read(SAMPLES).unwrap());
    let out = trajkit(&["convert", path.to_str().unwrap(), "--emit", "messages", "-o", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(jsonl(&path).len(), 10);
    assert!(jsonl(&path).iter().all(|r| r.get("messages").is_some()));
}

/// Replacing the target keeps what it is: a link stays a link, a file keeps its permissions, and a
/// target that is not a regular file (`/dev/stdout`, `/dev/null`, a named pipe) is written directly.
/// (Run as root, staging beside `/dev/null` and renaming over it would replace the device; the test
/// uses a named pipe of its own so that a regression cannot harm the machine running it.)
#[cfg(unix)]
#[test]
fn output_to_a_link_a_protected_file_or_a_named_pipe() {
    use std::os::unix::fs::{symlink, FileTypeExt, PermissionsExt};
    let dir = folder("targets");
    let real = write(&dir, "real.jsonl", "old\n");
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = dir.join("link.jsonl");
    symlink(&real, &link).unwrap();
    let out = trajkit(&["convert", SAMPLES, "--emit", "messages", "-o", link.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(jsonl(&real).len(), 10);
    assert_eq!(std::fs::metadata(&real).unwrap().permissions().mode() & 0o777, 0o600);

    let pipe = dir.join("pipe");
    assert!(Command::new("mkfifo").arg(&pipe).status().unwrap().success());
    let reader = {
        let pipe = pipe.clone();
        std::thread::spawn(move || std::fs::read_to_string(pipe).unwrap())
    };
    let out = trajkit(&["convert", SAMPLES, "--emit", "messages", "-o", pipe.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(reader.join().unwrap().lines().count(), 10);
    assert!(std::fs::symlink_metadata(&pipe).unwrap().file_type().is_fifo(), "still a pipe");
    assert!(staged_in(&dir).is_empty());
}

/// Temporary files (`.NAME.trajkit-PID.tmp`) in a folder.
fn staged_in(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.ends_with(".tmp") {
            found.push(dir.join(name));
        }
    }
    found
}

/// Interrupted runs (a signal, a full disk) never leave a partial file at the target path.
#[cfg(unix)]
mod interrupted {
    use super::*;
    use std::process::Child;

    const PREVIOUS: &str = "{\"previous\": \"complete file\"}\n";

    /// Input whose output takes a while to write: the samples, `copies` times over, each copy's user
    /// messages numbered so that no cache makes later copies free.
    fn big_input(dir: &Path, copies: usize) -> PathBuf {
        let samples = std::fs::read_to_string(SAMPLES).unwrap();
        let mut text = String::new();
        for k in 0..copies {
            text.push_str(&samples.replace("\"user\": \"", &format!("\"user\": \"{k} ")));
        }
        write(dir, "big.jsonl", text)
    }

    fn staged(dir: &Path) -> Vec<PathBuf> {
        staged_in(dir)
    }

    /// Start converting `input` to `target` and return once the output is being written.
    fn writing(input: &Path, target: &Path) -> Child {
        let mut child = Command::new(env!("CARGO_BIN_EXE_trajkit"))
            .args(["convert", input.to_str().unwrap(), "-q", "-o", target.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        loop {
            let dir = target.parent().unwrap();
            if staged(dir).iter().any(|p| p.metadata().map(|m| m.len() > 0).unwrap_or(false)) {
                return child;
            }
            assert!(child.try_wait().unwrap().is_none(), "the run ended before it was interrupted");
            assert!(started.elapsed() < Duration::from_secs(120), "no output written");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn sigkill_while_writing_leaves_the_previous_file() {
        let dir = folder("sigkill");
        let input = big_input(&dir, 300);
        let target = write(&dir, "out.jsonl", PREVIOUS);
        let mut child = writing(&input, &target);
        child.kill().unwrap(); // SIGKILL: nothing runs after it
        child.wait().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), PREVIOUS);
        // The temporary file stays (nothing can run after SIGKILL), under a name that says what it is.
        let left = staged(&dir);
        assert_eq!(left.len(), 1);
        assert!(left[0].file_name().unwrap().to_string_lossy().starts_with(".out.jsonl.trajkit-"));

        // Without a previous file, there is still no file at the target path.
        let fresh = dir.join("fresh.jsonl");
        let mut child = writing(&input, &fresh);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!fresh.exists());
    }

    #[test]
    fn sigterm_and_ctrl_c_remove_the_temporary_file_and_exit_130() {
        let dir = folder("sigterm");
        let input = big_input(&dir, 300);
        for signal in ["TERM", "INT", "HUP"] {
            let target = write(&dir, "out.jsonl", PREVIOUS);
            let child = writing(&input, &target);
            let sent = Command::new("kill").args(["-s", signal, &child.id().to_string()]).status().unwrap();
            assert!(sent.success());
            let out = child.wait_with_output().unwrap();
            assert_eq!(out.status.code(), Some(130), "SIG{signal}: {}", stderr(&out));
            assert!(stderr(&out).contains("trajkit: interrupted"));
            assert_eq!(std::fs::read_to_string(&target).unwrap(), PREVIOUS, "SIG{signal}");
            assert_eq!(staged(&dir), Vec::<PathBuf>::new(), "SIG{signal}: temporary file removed");
        }
    }

    /// A full disk, made with a file-size limit: writes fail (EFBIG, as ENOSPC would), the run exits 2
    /// naming the output, and the target keeps its previous contents.
    #[test]
    fn a_full_disk_fails_the_run_and_keeps_the_previous_file() {
        let dir = folder("full-disk");
        let input = big_input(&dir, 30);
        let target = write(&dir, "out.jsonl", PREVIOUS);
        let rejects = dir.join("rejects.jsonl");
        let script = format!(
            "ulimit -f 64; trap '' XFSZ; exec '{}' convert '{}' -o '{}' --rejects '{}'",
            env!("CARGO_BIN_EXE_trajkit"),
            input.display(),
            target.display(),
            rejects.display()
        );
        let out = Command::new("sh").args(["-c", &script]).output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("cannot write output") && err.contains("too large"), "{err}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), PREVIOUS);
        assert_eq!(staged(&dir), Vec::<PathBuf>::new());
    }
}
