//! `trajkit pairs`: TRL's DPO tokenization reproduced exactly (goldens from TRL's own code), synthesized
//! kinds that show their defect by trajkit's own checks, pair files that `validate` and `stats` read.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::run;
use run::trajkit;

use crate::tau_airline;

fn jsonl(text: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(text)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn tmp(name: &str) -> String {
    run::folder("pairs").join(name).to_string_lossy().into_owned()
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
    assert!(
        std::fs::read_to_string(path).unwrap() == text,
        "{path} is stale: TRAJKIT_REGENERATE=1 cargo test --test it pairs::"
    );
}

/// One assistant or tool message as (role, content, calls by name and parsed arguments): what must
/// agree between a pair and the trajectory it came from (call ids are the pair's own).
fn gist(m: &Value) -> (String, String, Vec<(String, Value)>) {
    let calls = m["tool_calls"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    let args = &c["function"]["arguments"];
                    let args = match args.as_str() {
                        Some(s) => serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.into())),
                        None => args.clone(),
                    };
                    (c["function"]["name"].as_str().unwrap().to_string(), args)
                })
                .collect()
        })
        .unwrap_or_default();
    (m["role"].as_str().unwrap().to_string(), m["content"].as_str().unwrap_or("").to_string(), calls)
}

/// On long multi-turn tau-style trajectories (several user turns, many tool round trips, parallel
/// calls, error and empty results) every kind applies, at moves in every turn, bounded per record;
/// each pair is the real conversation up to the move, the real move, and the move corrupted the way
/// its kind says; the rows tokenize as TRL's DPOTrainer would (no prompt that is not a prefix) and
/// read back to the same ids.
#[test]
fn synthesis_on_long_multi_turn_trajectories() {
    let input = "fixtures/samples/tau_airline.jsonl";
    let converted = trajkit(&["convert", input, "--emit", "messages"]);
    assert!(converted.status.success());
    let trajectories: HashMap<String, Vec<Value>> = jsonl(&converted.stdout)
        .into_iter()
        .map(|r| (r["id"].as_str().unwrap().to_string(), r["messages"].as_array().unwrap().clone()))
        .collect();
    assert_eq!(trajectories.len(), 36);
    assert!(trajectories.values().all(|m| m.len() >= 10), "the generated trajectories are long");

    let mut bounded = 0;
    for template in ["qwen3", "chatml"] {
        let out_path = tmp(&format!("tau-{template}.jsonl"));
        let report_path = tmp(&format!("tau-{template}-report.json"));
        let out = trajkit(&[
            "pairs",
            input,
            "--synthesize",
            "all",
            "--seed",
            "7",
            "--template",
            template,
            "-o",
            &out_path,
            "--report",
            &report_path,
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        let rows = jsonl(&std::fs::read(&out_path).unwrap());
        let report: Value = serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
        assert_eq!(report["rejected"], 0, "{template}: refused pairs: {stderr}");
        assert_eq!(report["pairs"], rows.len());
        bounded = rows.len();
        // Every kind applies to these records, and the report says where and why not.
        let kinds: std::collections::BTreeSet<&str> = rows.iter().filter_map(|r| r["kind"].as_str()).collect();
        assert_eq!(kinds.len(), 7, "{template}: {kinds:?}\n{stderr}");
        for (kind, k) in report["kinds"].as_object().unwrap() {
            assert!(k["records"].as_u64().unwrap() > 0 && k["pairs"].as_u64().unwrap() > 0, "{kind}: {k}");
            let skipped: u64 = k["skipped_moves"].as_object().unwrap().values().map(|n| n.as_u64().unwrap()).sum();
            assert_eq!(k["moves"].as_u64().unwrap() + skipped, report["moves"].as_u64().unwrap(), "{kind}: {k}");
        }
        assert!(stderr.contains("call_returns_nothing") && stderr.contains("tools_relevant_elsewhere"), "{stderr}");

        let mut per: HashMap<(String, String), usize> = HashMap::new();
        let mut turns_used: HashMap<String, std::collections::BTreeSet<usize>> = HashMap::new();
        for row in &rows {
            let id = row["id"].as_str().unwrap();
            let kind = row["kind"].as_str().unwrap();
            let (record, at) = id.split_once('#').unwrap();
            let at: usize = at.rsplit_once('@').unwrap().1.parse().unwrap();
            *per.entry((record.to_string(), kind.to_string())).or_default() += 1;
            let messages = &trajectories[record];
            let prompt = row["prompt"].as_array().unwrap();
            let (chosen, rejected) = (&row["chosen"][0], &row["rejected"][0]);
            // The prompt is the trajectory up to the move; chosen is the move.
            assert_eq!(prompt.len(), at, "{id}");
            assert!(
                prompt.iter().zip(messages).all(|(p, m)| gist(p) == gist(m)),
                "{id}: the prompt is not the trajectory"
            );
            assert_eq!(gist(chosen), gist(&messages[at]), "{id}: chosen is not the recorded move");
            assert!(matches!(prompt.last().unwrap()["role"].as_str(), Some("user" | "tool")), "{id}");
            assert_eq!((row["chosen"].as_array().unwrap().len(), row["rejected"].as_array().unwrap().len()), (1, 1));
            assert_eq!(rejected["role"], "assistant");
            assert_ne!(gist(chosen), gist(rejected), "{id}: rejected equals chosen");
            let users = prompt.iter().filter(|m| m["role"] == "user").count();
            turns_used.entry(kind.to_string()).or_default().insert(users);
            // Corrupted the way the kind says.
            let (c, r) = (gist(chosen), gist(rejected));
            match kind {
                "direct_answer" => assert!(!c.2.is_empty() && r.2.is_empty() && !r.1.is_empty(), "{id}"),
                "unnecessary_call" | "forced_irrelevant_call" | "guessed_argument" => {
                    assert!(c.2.is_empty() && !r.2.is_empty(), "{id}")
                }
                "ignores_result" => {
                    assert!(c.2.is_empty() && r.2.is_empty() && prompt.last().unwrap()["role"] == "tool", "{id}")
                }
                "repeated_call" => {
                    let last_call = prompt.iter().rev().find(|m| m["tool_calls"].is_array()).unwrap();
                    assert_eq!(r.2, gist(last_call).2, "{id}: not the call just answered");
                }
                "malformed_call" => {
                    assert!(!c.2.is_empty() && r.2.is_empty(), "{id}");
                    assert!(r.1.contains("<tool_call>") || r.1.contains("<function="), "{id}: {}", r.1);
                }
                other => panic!("unknown kind {other}"),
            }
            // TRL's columns: tools a JSON string holding a list, ids lists of ints.
            assert!(serde_json::from_str::<Value>(row["tools"].as_str().unwrap()).unwrap().is_array());
            for column in ["prompt_ids", "chosen_ids", "rejected_ids"] {
                let ids = row[column].as_array().unwrap();
                assert!(!ids.is_empty() && ids.iter().all(Value::is_u64), "{id}: {column}");
            }
        }
        // The default bound (2 per kind per record), and moves taken from more than one user turn.
        assert!(per.values().all(|&n| n <= 2), "{template}: {per:?}");
        for kind in ["direct_answer", "repeated_call", "malformed_call", "ignores_result", "guessed_argument"] {
            assert!(
                turns_used[kind].len() >= 3,
                "{template} {kind}: moves only after user turns {:?}",
                turns_used[kind]
            );
        }
        assert_kinds_show_their_defects(&out_path, &rows);

        // Read back as pair records (input a): the same ids.
        let again = trajkit(&["pairs", &out_path, "--template", template]);
        assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
        for (a, b) in jsonl(&again.stdout).iter().zip(&rows) {
            for column in ["prompt_ids", "chosen_ids", "rejected_ids"] {
                assert_eq!(a[column], b[column], "{template} {}: {column}", b["id"]);
            }
        }
    }

    // Without the bound every applicable move gives a pair; only the last turn gives fewer kinds.
    let all = jsonl(&trajkit(&["pairs", input, "--synthesize", "all", "--seed", "7", "--max-per-kind", "0"]).stdout);
    assert!(all.len() > bounded + 100, "{} vs {bounded}", all.len());
    let last = jsonl(&trajkit(&["pairs", input, "--synthesize", "all", "--expand", "conversation"]).stdout);
    let last_kinds: std::collections::BTreeSet<&str> = last.iter().filter_map(|r| r["kind"].as_str()).collect();
    assert!(last_kinds.len() < 7, "{last_kinds:?}");
}

/// `validate` on a pair file: the chosen side has no errors and the rejected side shows its kind's
/// finding (the chosen side does not).
fn assert_kinds_show_their_defects(path: &str, rows: &[Value]) {
    let validated = trajkit(&["validate", path, "--format", "json"]);
    let findings = jsonl(&validated.stdout);
    for row in rows {
        let id = row["id"].as_str().unwrap();
        let of = |prefix: &str| -> Vec<(&str, &str)> {
            findings
                .iter()
                .filter(|f| f["id"] == id && f["path"].as_str().unwrap_or("").starts_with(prefix))
                .map(|f| (f["code"].as_str().unwrap(), f["severity"].as_str().unwrap()))
                .collect()
        };
        let (prompt, chosen, rejected) = (of("prompt"), of("chosen"), of("rejected"));
        assert!(prompt.iter().chain(&chosen).all(|(_, s)| *s != "error"), "{id}: chosen side has errors: {chosen:?}");
        let expected = match row["kind"].as_str().unwrap() {
            "guessed_argument" => "ungrounded_argument",
            "ignores_result" => "unused_result",
            "repeated_call" => "duplicate_call",
            "malformed_call" => "malformed_call",
            _ => continue,
        };
        assert!(rejected.iter().any(|(c, _)| *c == expected), "{id}: rejected lacks {expected}: {rejected:?}");
        assert!(!chosen.iter().any(|(c, _)| *c == expected), "{id}: chosen has {expected}");
    }
}
