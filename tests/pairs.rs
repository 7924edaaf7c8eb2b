//! `trajkit pairs`: TRL's DPO tokenization reproduced exactly (goldens from TRL's own code), synthesized
//! kinds that show their defect by trajkit's own checks, pair files that `validate` and `stats` read.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

mod tau_airline;

fn trajkit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trajkit")).args(args).output().expect("trajkit runs")
}

fn jsonl(text: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(text)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn tmp(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("trajkit-pairs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name).to_string_lossy().into_owned()
}

/// The sample trajectories: the project's own, and the shared ones when they are there.
fn samples() -> Vec<&'static str> {
    let mut files = vec!["fixtures/samples/raw.jsonl"];
    if Path::new("/work/shared/samples/raw.jsonl").exists() {
        files.push("/work/shared/samples/raw.jsonl");
    }
    files
}

#[test]
fn tokenized_columns_equal_trls_dpo_tokenization() {
    for template in ["qwen3", "chatml"] {
        let golden_path = format!("fixtures/golden/dpo_{template}.jsonl");
        let golden = jsonl(&std::fs::read(&golden_path).unwrap());
        assert!(golden.len() >= 20, "{golden_path}: {} pairs", golden.len());
        // The golden rows are pair records themselves (TRL's format): input (a) read back.
        let out = trajkit(&["pairs", &golden_path, "--template", template]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let rows: HashMap<String, Value> =
            jsonl(&out.stdout).into_iter().map(|r| (r["id"].as_str().unwrap().to_string(), r)).collect();
        for g in &golden {
            let id = g["id"].as_str().unwrap();
            assert_eq!(g["prefix_ok"], true, "{template} {id}: TRL cut this pair's prompt");
            let row = rows.get(id).unwrap_or_else(|| panic!("{template} {id}: no row"));
            for column in ["prompt_ids", "chosen_ids", "rejected_ids"] {
                assert_eq!(row[column], g[column], "{template} {id}: {column}");
            }
            assert_eq!(row["kind"], g["kind"]);
        }
        assert_eq!(rows.len(), golden.len());
    }
}

#[test]
fn every_kind_shows_its_defect_and_chosen_passes_validate() {
    for sample in samples() {
        let out_path = tmp(&format!("syn-{}.jsonl", sample.replace('/', "_")));
        let out =
            trajkit(&["pairs", sample, "--synthesize", "all", "--expand", "per-turn", "--seed", "3", "-o", &out_path]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let rows = jsonl(&std::fs::read(&out_path).unwrap());
        let validated = trajkit(&["validate", &out_path, "--format", "json"]);
        let findings = jsonl(&validated.stdout);
        let kinds: std::collections::BTreeSet<&str> = rows.iter().filter_map(|r| r["kind"].as_str()).collect();
        for kind in ["direct_answer", "malformed_call", "ignores_result", "repeated_call", "forced_irrelevant_call"] {
            assert!(kinds.contains(kind), "{sample}: no {kind} pair");
        }
        for row in &rows {
            let id = row["id"].as_str().unwrap();
            let kind = row["kind"].as_str().unwrap();
            let of = |prefix: &str| -> Vec<(&str, &str)> {
                findings
                    .iter()
                    .filter(|f| f["id"] == id && f["path"].as_str().unwrap_or("").starts_with(prefix))
                    .map(|f| (f["code"].as_str().unwrap(), f["severity"].as_str().unwrap()))
                    .collect()
            };
            let (prompt, chosen, rejected) = (of("prompt"), of("chosen"), of("rejected"));
            assert!(
                prompt.iter().chain(&chosen).all(|(_, s)| *s != "error"),
                "{sample} {id}: chosen side has errors: {prompt:?} {chosen:?}"
            );
            let calls = |side: &str| row[side].as_array().unwrap().iter().any(|m| m.get("tool_calls").is_some());
            let expected = match kind {
                "guessed_argument" => Some("ungrounded_argument"),
                "ignores_result" => Some("unused_result"),
                "repeated_call" => Some("duplicate_call"),
                "malformed_call" => Some("malformed_call"),
                "unnecessary_call" | "forced_irrelevant_call" => {
                    assert!(calls("rejected") && !calls("chosen"), "{sample} {id}: rejected should call, chosen not");
                    None
                }
                "direct_answer" => {
                    assert!(calls("chosen") && !calls("rejected"), "{sample} {id}: chosen should call, rejected not");
                    None
                }
                other => panic!("unknown kind {other}"),
            };
            if let Some(code) = expected {
                assert!(rejected.iter().any(|(c, _)| *c == code), "{sample} {id}: rejected lacks {code}: {rejected:?}");
                assert!(!chosen.iter().any(|(c, _)| *c == code), "{sample} {id}: chosen has {code}");
            }
        }
    }
}

#[test]
fn guessed_argument_on_a_clarification_turn() {
    let out =
        trajkit(&["pairs", "fixtures/samples/raw.jsonl", "--synthesize", "guessed_argument", "--expand", "per-turn"]);
    assert!(out.status.success());
    let rows = jsonl(&out.stdout);
    let row = rows.iter().find(|r| r["id"].as_str().unwrap().starts_with("ask-1#")).expect("ask-1 pair");
    assert_eq!(row["chosen"][0]["tool_calls"], Value::Null);
    assert!(row["rejected"][0]["tool_calls"].is_array());
    // A kind that does not apply is reported, not silently dropped.
    assert!(String::from_utf8_lossy(&out.stderr).contains("guessed_argument"));
}

#[test]
fn synthesis_is_deterministic_and_bounded() {
    let run =
        |seed: &str| trajkit(&["pairs", "fixtures/samples/raw.jsonl", "--synthesize", "all", "--seed", seed]).stdout;
    assert_eq!(run("5"), run("5"));
    let out = trajkit(&["pairs", "fixtures/samples/raw.jsonl", "--synthesize", "all", "--max-per-record", "1"]);
    let rows = jsonl(&out.stdout);
    let mut per: HashMap<String, usize> = HashMap::new();
    for r in &rows {
        *per.entry(r["id"].as_str().unwrap().split('#').next().unwrap().to_string()).or_default() += 1;
    }
    assert!(per.values().all(|&n| n == 1), "{per:?}");
}

#[test]
fn raw_shape_pairs_become_trl_rows() {
    let input = tmp("raw_pair.jsonl");
    std::fs::write(
        &input,
        r#"{"id": "p1", "system": "Be brief.", "tools": [{"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}], "prompt": [{"user": "Weather in Oslo?"}], "chosen": {"assistant_tool": {"name": "get_weather", "arguments": {"city": "Oslo"}}}, "rejected": {"assistant_answer": "It is sunny in Oslo."}}
"#,
    )
    .unwrap();
    let out = trajkit(&["pairs", &input, "--template", "qwen3"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let row = &jsonl(&out.stdout)[0];
    assert_eq!(row["prompt"][0]["role"], "system");
    assert_eq!(row["prompt"][1]["content"], "Weather in Oslo?");
    assert_eq!(row["chosen"][0]["tool_calls"][0]["function"]["arguments"], r#"{"city": "Oslo"}"#);
    assert_eq!(row["rejected"][0]["content"], "It is sunny in Oslo.");
    assert!(row["tools"].is_string());
    assert!(!row["prompt_ids"].as_array().unwrap().is_empty());
}

#[test]
fn a_prompt_that_is_not_a_token_prefix_is_refused_with_its_place() {
    // Qwen3 gives the last assistant message an empty think block: alone, the prompt's final
    // assistant message gets one; followed by an answer, it does not.
    let input = tmp("not_prefix.jsonl");
    std::fs::write(
        &input,
        r#"{"id": "np", "prompt": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "again"}, {"role": "assistant", "content": "Partial"}], "chosen": [{"role": "assistant", "content": "a"}], "rejected": [{"role": "assistant", "content": "b"}]}
"#,
    )
    .unwrap();
    let out = trajkit(&["pairs", &input, "--template", "qwen3"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(jsonl(&out.stdout).is_empty());
    assert!(stderr.contains("prompt_not_prefix") && stderr.contains("(pair np)"), "{stderr}");
    assert!(stderr.contains(":1"), "{stderr}");
    let strict = trajkit(&["pairs", &input, "--template", "qwen3", "--strict"]);
    assert_eq!(strict.status.code(), Some(2));
}

#[test]
fn stats_counts_kinds_of_a_pair_file() {
    let out_path = tmp("stats.jsonl");
    let out = trajkit(&["pairs", "fixtures/samples/raw.jsonl", "--synthesize", "all", "-o", &out_path]);
    assert!(out.status.success());
    let stats = trajkit(&["stats", &out_path, "--format", "json"]);
    assert!(stats.status.success(), "{}", String::from_utf8_lossy(&stats.stderr));
    let s: Value = serde_json::from_slice(&stats.stdout).unwrap();
    let rows = jsonl(&std::fs::read(&out_path).unwrap());
    assert_eq!(s["pairs"], rows.len());
    let repeated = rows.iter().filter(|r| r["kind"] == "repeated_call").count();
    assert_eq!(s["kinds"]["repeated_call"], repeated);
}

/// The output loads with `datasets` and has the columns DPOTrainer reads (scripts/check_pairs.py).
/// Skipped when Python or `datasets` is missing; `TRAJKIT_PYTHON` picks the interpreter.
#[test]
fn output_loads_with_datasets() {
    let python = std::env::var("TRAJKIT_PYTHON").unwrap_or_else(|_| "python3".into());
    let has = Command::new(&python).args(["-c", "import datasets"]).output().is_ok_and(|o| o.status.success());
    if !has {
        eprintln!("skipped: {python} with `datasets` not available");
        return;
    }
    let out_path = tmp("check.jsonl");
    let out = trajkit(&[
        "pairs",
        "fixtures/samples/raw.jsonl",
        "--synthesize",
        "all",
        "--template",
        "qwen3",
        "-o",
        &out_path,
    ]);
    assert!(out.status.success());
    let check = Command::new(&python).args(["scripts/check_pairs.py", &out_path]).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    assert!(String::from_utf8_lossy(&check.stdout).starts_with("OK:"));
}

/// The committed tau-style fixture is the generator's output (`TRAJKIT_REGENERATE=1` rewrites it).
#[test]
fn tau_airline_fixture_is_current() {
    let path = "fixtures/samples/tau_airline.jsonl";
    let text = tau_airline::jsonl(tau_airline::RECORDS);
    if std::env::var_os("TRAJKIT_REGENERATE").is_some() {
        std::fs::write(path, &text).unwrap();
    }
    assert!(std::fs::read_to_string(path).unwrap() == text, "{path} is stale: TRAJKIT_REGENERATE=1 cargo test --test pairs");
}
