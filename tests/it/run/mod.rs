//! Running the real binary from integration tests: one place for what every test file needs.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

/// `trajkit ARGS`, run to the end.
pub fn trajkit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trajkit")).args(args).output().expect("trajkit runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The text records of ../shared (the task's samples and real data, read-only beside the checkout),
/// for the tests that convert them all; those tests skip when the folder is absent.
pub const SHARED_INPUTS: &[&str] = &[
    "samples/raw.jsonl",
    "real/llama-factory/glaive_toolcall_en_demo.json",
    "real/llama-factory/glaive_toolcall_zh_demo.json",
    "real/llama-factory/reason_tool_use_demo_50.jsonl",
    "real/functionary-tests/test_case.json",
    "real/functionary-tests/test_case_v1.json",
    "real/functionary-tests/test_case_v2.json",
    "real/functionary-tests/test_case_v2.llama3.json",
];

/// The JSON lines of standard output.
pub fn rows(o: &Output) -> Vec<Value> {
    stdout(o).lines().map(|l| serde_json::from_str(l).expect("each output line is JSON")).collect()
}

/// The scratch folder `name` of this test process (created if needed): every test module keeps its
/// files in its own folder under one folder per process.
pub fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("trajkit-test-{}", std::process::id())).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The scratch folder `name`, emptied first: for a test that must see only its own files.
pub fn fresh_folder(name: &str) -> PathBuf {
    let dir = folder(name);
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A file written in the scratch folder `files`.
pub fn temp_file(name: &str, contents: &str) -> PathBuf {
    let path = folder("files").join(name);
    std::fs::write(&path, contents).unwrap();
    path
}
