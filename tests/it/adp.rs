//! Agent Data Protocol input through the real binary: every flavour converts (or is refused with
//! a located reason), the policies change what they say, and every command that reads trajectories
//! (validate, stats, pairs, eval) takes ADP like any other format.

use serde_json::{json, Value};

use crate::run;
use run::{stderr, stdout, trajkit};

const FLAVOURS: &[(&str, usize)] = &[
    ("fixtures/samples/adp_api.jsonl", 4),
    ("fixtures/samples/adp_code.jsonl", 3),
    ("fixtures/samples/adp_web.jsonl", 2),
    ("fixtures/samples/adp_swe.jsonl", 2),
    ("fixtures/samples/adp_qa.jsonl", 3),
];

fn jsonl(text: &str) -> Vec<Value> {
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn temp(name: &str) -> String {
    run::folder("adp").join(name).to_string_lossy().into_owned()
}

fn tool_names(row: &Value) -> Vec<String> {
    let tools: Vec<Value> = serde_json::from_str(row["tools"].as_str().unwrap()).unwrap();
    tools.iter().map(|t| t["function"]["name"].as_str().unwrap().to_string()).collect()
}

#[test]
fn every_flavour_converts_with_supervised_tokens_and_derived_tools() {
    for (path, records) in FLAVOURS {
        let out = trajkit(&["convert", path, "-q", "--date", "2026-01-15"]);
        assert!(out.status.success(), "{path}: {}", stderr(&out));
        let rows = jsonl(&stdout(&out));
        assert_eq!(rows.len(), *records, "{path}");
        assert!(stderr(&out).contains(&format!("read {records}, converted {records}, rejected 0")), "{}", stderr(&out));
        for row in &rows {
            let mask = row["assistant_masks"].as_array().unwrap();
            assert!(mask.iter().any(|m| m == 1), "{path} {}: nothing supervised", row["id"]);
            // Meta is stored as one JSON string, like tools, so `datasets` loads any mix of rows.
            let meta: Value = serde_json::from_str(row["meta"].as_str().unwrap()).unwrap();
            assert!(meta["details"]["flavour"].is_string(), "details travel along as meta");
        }
    }
    let code = jsonl(&stdout(&trajkit(&["convert", "fixtures/samples/adp_code.jsonl", "-q", "--emit", "messages"])));
    assert_eq!(tool_names(&code[0]), ["execute_ipython_cell"]);
    assert_eq!(tool_names(&code[1]), ["execute_bash"]);
    assert_eq!(tool_names(&code[2]), ["execute_javascript", "execute_go"]);
    let call = &code[1]["messages"][1]["tool_calls"][0];
    assert_eq!(call["id"], "call_000001");
    assert_eq!(call["function"]["arguments"], r#"{"command": "grep -c ERROR /var/log/app.log"}"#);
    assert_eq!(code[1]["messages"][2]["tool_call_id"], "call_000001");
    // `<finish>` answers are the text between the tags.
    assert_eq!(code[1]["messages"][3]["content"], "<solution> 17 </solution>");
}

#[test]
fn detection_and_the_forced_format_agree() {
    for (path, _) in FLAVOURS {
        let detected = trajkit(&["convert", path, "-q", "--date", "2026-01-15"]);
        let forced = trajkit(&["convert", path, "-q", "--date", "2026-01-15", "--input-format", "adp"]);
        assert_eq!(stdout(&detected), stdout(&forced), "{path}");
    }
}

#[test]
fn swe_records_pair_parallel_calls_and_keep_content_next_to_calls() {
    let rows = jsonl(&stdout(&trajkit(&["convert", "fixtures/samples/adp_swe.jsonl", "-q", "--emit", "messages"])));
    let messages = rows[1]["messages"].as_array().unwrap();
    let roles: Vec<&str> = messages.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["user", "assistant", "tool", "tool", "assistant"]);
    assert_eq!(messages[1]["tool_calls"].as_array().unwrap().len(), 2);
    assert_eq!(messages[3]["tool_call_id"], "call_000002");
    let api = jsonl(&stdout(&trajkit(&["convert", "fixtures/samples/adp_api.jsonl", "-q", "--emit", "messages"])));
    let search = &api[2]["messages"][1];
    assert_eq!(search["content"], "I'll check the operator's current schedule.");
    assert_eq!(search["tool_calls"][0]["function"]["name"], "web_search");
}

#[test]
fn thought_policy_flag() {
    let read = |policy: &str| {
        let out = trajkit(&[
            "convert",
            "fixtures/samples/adp_code.jsonl",
            "-q",
            "--emit",
            "messages",
            "--adp-thought",
            policy,
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        (jsonl(&stdout(&out))[0]["messages"][1].clone(), stderr(&out))
    };
    let (reasoning, _) = read("reasoning");
    assert_eq!(reasoning["reasoning_content"], "Compute it directly.");
    assert_eq!(reasoning["content"], "");
    let (content, _) = read("content");
    assert_eq!(content["content"], "Compute it directly.");
    assert!(content.get("reasoning_content").is_none());
    let (dropped, err) = read("drop");
    assert!(dropped.get("reasoning_content").is_none() && dropped["content"] == "");
    assert!(err.contains("adp_thought_dropped"), "{err}");
}

/// `convert FILE --rejects`: the summary line it must print, and each reject's (code, path).
fn rejects_of(file: &str, name: &str, summary: &str) -> Vec<(String, String)> {
    let rejects = temp(&format!("{name}-rejects.jsonl"));
    let out = trajkit(&["convert", file, "-q", "-o", &temp(&format!("{name}.jsonl")), "--rejects", &rejects]);
    assert!(stderr(&out).contains(summary), "{}", stderr(&out));
    jsonl(&std::fs::read_to_string(&rejects).unwrap())
        .iter()
        .map(|r| (r["code"].as_str().unwrap().into(), r["path"].as_str().unwrap().into()))
        .collect()
}

#[test]
fn images_and_html_are_refused_where_they_are_unless_asked() {
    let got = rejects_of("fixtures/samples/adp_images.jsonl", "images", "read 4, converted 0, rejected 4");
    let want = [
        ("adp_image", "content[1].image_observation"),
        ("adp_image", "content[0]"),
        ("adp_image", "content[1]"),
        ("adp_no_axtree", "content[1].axtree"),
    ];
    assert_eq!(got, want.map(|(c, p)| (c.to_string(), p.to_string())));

    let out = trajkit(&[
        "convert",
        "fixtures/samples/adp_images.jsonl",
        "-q",
        "--emit",
        "messages",
        "--adp-images",
        "drop",
        "--adp-web-html",
    ]);
    let err = stderr(&out);
    assert!(err.contains("read 4, converted 3, rejected 1"), "{err}");
    // The GUI record's only observations were screenshots: its taps stay unanswered.
    assert!(err.contains("content[2]: no observation answers this `tap` action before content[4]"), "{err}");
    assert!(err.contains("content[3].image_observation: image left out (screens/library-1.png) [adp_image_dropped]"));
    let rows = jsonl(&stdout(&out));
    assert_eq!(
        rows[0]["messages"][3]["content"],
        "URL: http://library.test/visit\n\nRootWebArea 'Visit us'\n\tStaticText 'Mon–Fri 9:00–18:00, Sat 10:00–14:00'"
    );
    assert_eq!(
        rows[2]["messages"][1]["content"],
        "URL: http://forms.test/\n\n<form><input name='name'><button>Send</button></form>"
    );
}

#[test]
fn bad_records_are_refused_with_located_reasons() {
    let got = rejects_of("fixtures/samples/adp_bad.jsonl", "bad", "read 6, converted 0, rejected 6");
    let want = [
        ("unknown_event", "content[1].class_"),
        ("unknown_role", "content[1].source"),
        ("result_count_mismatch", "content[1]"),
        ("wrong_type", "content[1].kwargs"),
        ("empty_turns", "content"),
        ("unknown_format", ""),
    ];
    assert_eq!(got, want.map(|(c, p)| (c.to_string(), p.to_string())));
    // Forced, the record whose `content` is not a list is located too.
    let out =
        trajkit(&["convert", "fixtures/samples/adp_bad.jsonl", "-q", "--input-format", "adp", "-o", &temp("c.jsonl")]);
    assert!(stderr(&out).contains("content: expected an array of ADP events, found a string [wrong_type]"));
}

#[test]
fn tools_file_or_adp_metadata_replaces_derived_schemas() {
    let metadata = temp("metadata.json");
    let search = json!({"type": "function", "function": {"name": "web_search", "description": "Search the web.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}, "num_results": {"type": "integer"}},
                       "required": ["query"]}}});
    std::fs::write(&metadata, json!({"custom_tools": [search], "code_enabled": []}).to_string()).unwrap();
    let input = temp("search.jsonl");
    let api = std::fs::read_to_string("fixtures/samples/adp_api.jsonl").unwrap();
    std::fs::write(&input, api.lines().nth(2).unwrap()).unwrap();
    let out = trajkit(&["convert", &input, "--emit", "messages", "--tools", &metadata]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("derived_tools"), "{}", stderr(&out));
    let row = &jsonl(&stdout(&out))[0];
    let tools: Value = serde_json::from_str(row["tools"].as_str().unwrap()).unwrap();
    assert_eq!(tools, json!([search]));
    let derived = trajkit(&["convert", &input, "--emit", "messages"]);
    assert!(stderr(&derived).contains("1 derived from the calls"), "{}", stderr(&derived));
}

#[test]
fn custom_code_tools() {
    let out = trajkit(&[
        "convert",
        "fixtures/samples/adp_code.jsonl",
        "-q",
        "--emit",
        "messages",
        "--adp-code-tool",
        "bash=run_shell:cmd",
        "--adp-code-tool",
        "go=go_run",
    ]);
    let rows = jsonl(&stdout(&out));
    assert_eq!(tool_names(&rows[1]), ["run_shell"]);
    assert_eq!(
        rows[1]["messages"][1]["tool_calls"][0]["function"]["arguments"],
        r#"{"cmd": "grep -c ERROR /var/log/app.log"}"#
    );
    assert_eq!(tool_names(&rows[2]), ["execute_javascript", "go_run"]);
    let bad = trajkit(&["convert", "fixtures/samples/adp_code.jsonl", "--adp-code-tool", "bash"]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("expected LANG=TOOL or LANG=TOOL:ARGUMENT"), "{}", stderr(&bad));
}

#[test]
fn validate_stats_pairs_and_eval_read_adp() {
    // validate: ADP warnings with their paths, arguments located in `kwargs`.
    let out = trajkit(&["validate", "fixtures/samples/adp_swe.jsonl", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let findings = jsonl(&stdout(&out));
    assert!(findings.iter().any(|f| f["code"] == "derived_tools" && f["path"] == "content"));
    assert!(findings.iter().any(|f| f["path"].as_str().unwrap().starts_with("content[3].kwargs.")), "{findings:?}");
    let out = trajkit(&["validate", "fixtures/samples/adp_bad.jsonl", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let findings = jsonl(&stdout(&out));
    assert!(findings.iter().any(|f| f["code"] == "unknown_event" && f["path"] == "content[1].class_"));

    // stats: the cases and flags of ADP records.
    let out = trajkit(&["stats", "fixtures/samples/adp_swe.jsonl", "--format", "json", "--date", "2026-01-15"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stats: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(stats["records"], 2);
    assert_eq!(stats["flags"]["parallel_calls"]["records"], 1);

    // pairs: rejected variants of ADP trajectories.
    let out = trajkit(&["pairs", "fixtures/samples/adp_api.jsonl", "--synthesize", "all", "--seed", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let pairs = jsonl(&stdout(&out));
    assert!(!pairs.is_empty());
    assert!(pairs.iter().all(|p| p["prompt"].is_array() && p["chosen"].is_array() && p["rejected"].is_array()));

    // eval: ADP trajectories as gold; the gold's own answers score as perfect predictions.
    let gold = "fixtures/samples/adp_code.jsonl";
    let prompts = jsonl(&stdout(&trajkit(&["eval", "--gold", gold, "--prompts"])));
    assert!(!prompts.is_empty());
    let pred = temp("pred.jsonl");
    let lines: Vec<String> = prompts
        .iter()
        .map(|p| json!({"id": p["id"], "turn": p["turn"], "output": p["reference"]}).to_string())
        .collect();
    std::fs::write(&pred, lines.join("\n")).unwrap();
    let out = trajkit(&["eval", "--gold", gold, "--pred", &pred, "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["evaluated"], prompts.len());
}
