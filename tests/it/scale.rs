//! Scale features of `convert`: output identical for any thread count, `--shard K/N` parts that
//! together are the whole, and Parquet output that holds the same rows as JSONL.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// `trajkit ARGS`, which must succeed.
fn trajkit(args: &[&str]) -> Output {
    let out = crate::run::trajkit(args);
    assert!(out.status.success(), "trajkit {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn temp_dir(name: &str) -> PathBuf {
    crate::run::folder(&format!("scale-{name}"))
}

/// Enough records for several batches of the parallel loop (512 records each): the golden cases
/// again and again, each copy with its own ids.
fn many_records(dir: &Path, copies: usize) -> PathBuf {
    let cases = std::fs::read_to_string("fixtures/golden/cases.jsonl").unwrap();
    let mut out = String::new();
    for k in 0..copies {
        for line in cases.lines().filter(|l| !l.trim().is_empty()) {
            let mut v: Value = serde_json::from_str(line).unwrap();
            let id = format!("{}-{k}", v["id"].as_str().unwrap_or("x"));
            v["id"] = Value::from(id);
            out.push_str(&serde_json::to_string(&v).unwrap());
            out.push('\n');
        }
    }
    let path = dir.join("many.jsonl");
    std::fs::write(&path, out).unwrap();
    path
}

#[test]
fn output_bytes_do_not_depend_on_threads() {
    let dir = temp_dir("threads");
    let input = many_records(&dir, 12);
    let input = input.to_str().unwrap();
    for expand in ["conversation", "per-turn"] {
        let base = ["convert", input, "--date", "2026-01-15", "-q", "--expand", expand];
        let one = trajkit(&[&base[..], &["--threads", "1"]].concat());
        let four = trajkit(&[&base[..], &["--threads", "4"]].concat());
        assert!(one.stdout.len() > 100_000);
        assert!(one.stdout == four.stdout, "--expand {expand}: --threads 1 and --threads 4 differ");
        let again = trajkit(&[&base[..], &["--threads", "4"]].concat());
        assert!(four.stdout == again.stdout, "--expand {expand}: two runs differ");
    }
}

#[test]
fn shards_together_are_the_whole_output() {
    let dir = temp_dir("shards");
    let first = many_records(&dir, 2);
    let second = dir.join("second.jsonl");
    std::fs::copy("fixtures/golden/cases.jsonl", &second).unwrap();
    let inputs = [first.to_str().unwrap(), second.to_str().unwrap()];
    let base = ["convert", inputs[0], inputs[1], "--date", "2026-01-15", "-q"];
    let whole = String::from_utf8(trajkit(&base).stdout).unwrap();
    let whole: Vec<&str> = whole.lines().collect();
    let n = 3;
    let parts: Vec<String> = (0..n)
        .map(|k| String::from_utf8(trajkit(&[&base[..], &["--shard", &format!("{k}/{n}")]].concat()).stdout).unwrap())
        .collect();
    let parts: Vec<Vec<&str>> = parts.iter().map(|p| p.lines().collect()).collect();
    // Every record converts here, so row i of the whole output comes from record i, which is row
    // i / n of shard i % n (records are numbered across both files).
    assert_eq!(parts.iter().map(Vec::len).sum::<usize>(), whole.len());
    for (i, line) in whole.iter().enumerate() {
        assert_eq!(parts[i % n][i / n], *line, "row {i}");
    }
    let bad = Command::new(env!("CARGO_BIN_EXE_trajkit")).args([&base[..], &["--shard", "3/3"]].concat()).output();
    assert_eq!(bad.unwrap().status.code(), Some(2), "--shard 3/3 is refused");
}

#[test]
fn parquet_holds_the_jsonl_rows() {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int32Type, Int8Type};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    let dir = temp_dir("parquet");
    let jsonl = dir.join("train.jsonl");
    let parquet = dir.join("train.parquet");
    let input = "fixtures/golden/cases.jsonl";
    trajkit(&["convert", input, "--date", "2026-01-15", "-q", "-o", jsonl.to_str().unwrap()]);
    trajkit(&["convert", input, "--date", "2026-01-15", "-q", "-o", parquet.to_str().unwrap()]);
    let forced = dir.join("forced.bin");
    trajkit(&[
        "convert",
        input,
        "--date",
        "2026-01-15",
        "-q",
        "--output-format",
        "parquet",
        "-o",
        forced.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read(&parquet).unwrap(), std::fs::read(&forced).unwrap());

    let rows: Vec<Value> =
        std::fs::read_to_string(&jsonl).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let reader =
        ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&parquet).unwrap()).unwrap().build().unwrap();
    let mut seen = 0;
    for batch in reader {
        let batch = batch.unwrap();
        let column = |name: &str| batch.column_by_name(name).unwrap().clone();
        let (ids, masks, labels) = (column("input_ids"), column("assistant_masks"), column("labels"));
        let (names, messages, tools) = (column("id"), column("messages"), column("tools"));
        for r in 0..batch.num_rows() {
            let want = &rows[seen];
            let ints = |v: &Value| v.as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect::<Vec<_>>();
            let got_ids: Vec<i64> =
                ids.as_list::<i32>().value(r).as_primitive::<Int32Type>().values().iter().map(|&x| x.into()).collect();
            let got_masks: Vec<i64> =
                masks.as_list::<i32>().value(r).as_primitive::<Int8Type>().values().iter().map(|&x| x.into()).collect();
            let got_labels: Vec<i64> = labels
                .as_list::<i32>()
                .value(r)
                .as_primitive::<Int32Type>()
                .values()
                .iter()
                .map(|&x| x.into())
                .collect();
            assert_eq!(got_ids, ints(&want["input_ids"]));
            assert_eq!(got_masks, ints(&want["assistant_masks"]));
            assert_eq!(got_labels, ints(&want["labels"]));
            assert_eq!(names.as_string::<i32>().value(r), want["id"].as_str().unwrap());
            let got_messages: Value = serde_json::from_str(messages.as_string::<i32>().value(r)).unwrap();
            assert_eq!(got_messages, want["messages"]);
            assert_eq!(tools.as_string::<i32>().value(r), want["tools"].as_str().unwrap());
            seen += 1;
        }
    }
    assert_eq!(seen, rows.len());

    // The same file through Hugging Face `datasets`, when a Python with it is at hand.
    let candidates =
        [std::env::var("TRAJKIT_PYTHON").ok(), Some(".venv-bench/bin/python".into()), Some("python3".into())];
    let python = candidates.into_iter().flatten().find(|py| {
        Command::new(py).args(["-c", "import datasets, pyarrow"]).output().is_ok_and(|o| o.status.success())
    });
    let Some(python) = python else {
        eprintln!("skipped the datasets check: no Python with datasets and pyarrow (set TRAJKIT_PYTHON)");
        return;
    };
    let check = Command::new(&python)
        .args(["scripts/check_parquet.py", parquet.to_str().unwrap(), jsonl.to_str().unwrap()])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&check.stdout).into_owned() + &String::from_utf8_lossy(&check.stderr);
    assert!(check.status.success() && said.contains("OK:"), "{said}");
}
