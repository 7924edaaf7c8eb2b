//! Generated tau-bench-style trajectories for the raw = messages check and the `validate`
//! acceptance measurement (`scripts/bench/airline_check.sh`). The generator is the one the tests use
//! (`tests/it/common/tau.rs`); this binary only writes its output and plants and scores defects.
//!
//! ```text
//! tau_corpus generate --domain airline|retail|both --count N --seed S --out DIR   # DIR/messages.jsonl, DIR/raw.jsonl
//! tau_corpus plant RAW_IN RAW_OUT MANIFEST [--seed S]     # one defect per record, cycling over five kinds
//! tau_corpus score MANIFEST FINDINGS [--clean FINDINGS]   # `validate --format json` outputs (planted, clean)
//! tau_corpus same-rows A B                                # two `convert` outputs equal apart from id/meta
//! ```

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use common::{forms, tau};
use serde_json::{json, Value};

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tau_corpus: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let positional: Vec<&String> = {
        let mut out = Vec::new();
        let mut skip = false;
        for a in &args[1.min(args.len())..] {
            if skip {
                skip = false;
            } else if a.starts_with("--") {
                skip = true;
            } else {
                out.push(a);
            }
        }
        out
    };
    let seed: u64 = flag("--seed").map(|s| s.parse()).transpose()?.unwrap_or(1);
    match args.first().map(String::as_str) {
        Some("generate") => {
            let count: usize = flag("--count").context("--count N")?.parse()?;
            let domain = match flag("--domain").as_deref() {
                Some("airline") => Some(tau::Domain::Airline),
                Some("retail") => Some(tau::Domain::Retail),
                Some("both") | None => None,
                Some(other) => bail!("unknown domain {other}"),
            };
            let out = std::path::PathBuf::from(flag("--out").context("--out DIR")?);
            std::fs::create_dir_all(&out)?;
            let messages = tau::corpus(domain, seed, count);
            let mut raw = Vec::new();
            for (k, m) in messages.iter().enumerate() {
                raw.push(forms::messages_to_raw(m, k as u64 * 0x5851_F42D).map_err(anyhow::Error::msg)?);
            }
            write_jsonl(&out.join("messages.jsonl"), &messages)?;
            write_jsonl(&out.join("raw.jsonl"), &raw)?;
            let trailing =
                messages.iter().filter(|m| m["messages"].as_array().unwrap().last().unwrap()["role"] == "user");
            let lengths: Vec<usize> = messages.iter().map(|m| m["messages"].as_array().unwrap().len()).collect();
            eprintln!(
                "wrote {count} records to {}: {}..{} messages each (mean {:.1}), {} ending on a user message",
                out.display(),
                lengths.iter().min().unwrap_or(&0),
                lengths.iter().max().unwrap_or(&0),
                lengths.iter().sum::<usize>() as f64 / count.max(1) as f64,
                trailing.count()
            );
            Ok(ExitCode::SUCCESS)
        }
        Some("plant") => {
            let [input, output, manifest] = positional[..] else { bail!("plant RAW_IN RAW_OUT MANIFEST") };
            let records = read_jsonl(input)?;
            let mut rng = tau::Rng::new(seed);
            let (mut planted, mut entries) = (Vec::new(), Vec::new());
            for (k, mut record) in records.into_iter().enumerate() {
                let kind = KINDS[k % KINDS.len()];
                let entry = plant(&mut record, kind, &mut rng)
                    .with_context(|| format!("record {k}: no place for a `{kind}` defect"))?;
                entries.push(entry);
                planted.push(record);
            }
            write_jsonl(output.as_ref(), &planted)?;
            write_jsonl(manifest.as_ref(), &entries)?;
            Ok(ExitCode::SUCCESS)
        }
        Some("score") => {
            let [manifest, findings] = positional[..] else { bail!("score MANIFEST FINDINGS [--clean FINDINGS]") };
            let clean = flag("--clean").map(|p| read_jsonl(&p)).transpose()?.unwrap_or_default();
            Ok(score(&read_jsonl(manifest)?, &read_jsonl(findings)?, &clean))
        }
        Some("same-rows") => {
            let [a, b] = positional[..] else { bail!("same-rows A B") };
            let (a, b) = (read_jsonl(a)?, read_jsonl(b)?);
            let same =
                a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| forms::comparable(x) == forms::comparable(y));
            let equal = a.iter().zip(&b).filter(|(x, y)| forms::comparable(x) == forms::comparable(y));
            println!("rows: {} and {}, identical apart from id/meta: {}", a.len(), b.len(), equal.count());
            Ok(if same { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        _ => bail!("usage: tau_corpus generate|plant|score|same-rows …"),
    }
}

fn read_jsonl(path: &str) -> Result<Vec<Value>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| Ok(serde_json::from_str(l)?)).collect()
}

fn write_jsonl(path: &std::path::Path, records: &[Value]) -> Result<()> {
    let text: String = records.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// The defects planted, one per record in this order, and the finding code each should produce.
const KINDS: &[&str] = &["unknown_tool", "missing_required", "wrong_type", "arguments_not_json", "invented_value"];

fn expected_code(kind: &str) -> &'static str {
    match kind {
        "unknown_tool" => "unknown_tool",
        "missing_required" | "wrong_type" => "arguments_schema",
        "arguments_not_json" => "arguments_not_json",
        _ => "ungrounded_argument",
    }
}

/// A call in a raw record: its JSON path and a pointer to it.
struct Site {
    path: String,
    pointer: String,
}

fn call_sites(record: &Value) -> Vec<Site> {
    let mut sites = Vec::new();
    let mut add = |base: String, pointer: String, calls: &Value| match calls {
        Value::Array(list) => {
            for i in 0..list.len() {
                sites.push(Site {
                    path: format!("{base}.assistant_tool[{i}]"),
                    pointer: format!("{pointer}/assistant_tool/{i}"),
                });
            }
        }
        Value::Object(_) => {
            sites.push(Site { path: format!("{base}.assistant_tool"), pointer: format!("{pointer}/assistant_tool") })
        }
        _ => {}
    };
    for (t, turn) in record["turns"].as_array().into_iter().flatten().enumerate() {
        if let Some(calls) = turn.get("assistant_tool") {
            add(format!("turns[{t}]"), format!("/turns/{t}"), calls);
        }
        for (s, step) in turn.get("steps").and_then(Value::as_array).into_iter().flatten().enumerate() {
            add(format!("turns[{t}].steps[{s}]"), format!("/turns/{t}/steps/{s}"), &step["assistant_tool"]);
        }
    }
    sites
}

/// The call's arguments as an object, whether written as an object or as a JSON string.
fn arguments(call: &Value) -> Option<(serde_json::Map<String, Value>, bool)> {
    match &call["arguments"] {
        Value::Object(map) => Some((map.clone(), false)),
        Value::String(s) => serde_json::from_str::<Value>(s).ok()?.as_object().map(|m| (m.clone(), true)),
        _ => None,
    }
}

fn set_arguments(call: &mut Value, args: serde_json::Map<String, Value>, as_string: bool) {
    call["arguments"] = if as_string { Value::String(Value::Object(args).to_string()) } else { Value::Object(args) };
}

fn tool_schema<'a>(record: &'a Value, name: &str) -> Option<&'a Value> {
    record["tools"].as_array()?.iter().find(|t| t["function"]["name"] == name).map(|t| &t["function"]["parameters"])
}

/// A place a defect can go: the call (index into the sites), what was invented, the changed
/// arguments (and whether they are written as a string), the path below the call.
type Choice = (usize, Value, Option<(serde_json::Map<String, Value>, bool)>, String);

/// Plant one defect of `kind` in one call of `record`; the manifest entry says where.
fn plant(record: &mut Value, kind: &str, rng: &mut tau::Rng) -> Option<Value> {
    let sites = call_sites(record);
    let text = record.to_string().to_lowercase();
    // Calls this kind can be planted in, with what to do there.
    let mut options: Vec<Choice> = Vec::new();
    for (i, site) in sites.iter().enumerate() {
        let call = record.pointer(&site.pointer)?.clone();
        let name = call["name"].as_str()?.to_string();
        let schema = tool_schema(record, &name).cloned().unwrap_or(Value::Null);
        let Some((args, as_string)) = arguments(&call) else { continue };
        match kind {
            "unknown_tool" => options.push((i, Value::Null, None, String::new())),
            "arguments_not_json" if !args.is_empty() => options.push((i, Value::Null, None, String::new())),
            "missing_required" => {
                for key in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                    if args.contains_key(key) {
                        let mut fewer = args.clone();
                        fewer.shift_remove(key);
                        options.push((
                            i,
                            json!(format!("`{key}` removed")),
                            Some((fewer, as_string)),
                            format!(".arguments.{key}"),
                        ));
                    }
                }
            }
            "wrong_type" => {
                for (key, value) in &args {
                    let ty = schema["properties"][key]["type"].as_str().unwrap_or("");
                    let wrong = match (ty, value) {
                        ("string", Value::String(s)) if s.chars().all(|c| c.is_ascii_digit()) && !s.is_empty() => {
                            json!(s.parse::<u64>().ok()?)
                        }
                        ("string", Value::String(_)) => json!(rng.range(100, 999)),
                        ("integer" | "number", Value::Number(n)) => json!(n.to_string()),
                        ("array", Value::Array(items)) if items.len() == 1 => items[0].clone(),
                        _ => continue,
                    };
                    let detail = json!(format!("`{key}`: {value} -> {wrong}"));
                    let mut changed = args.clone();
                    changed.insert(key.clone(), wrong);
                    options.push((i, detail, Some((changed, as_string)), format!(".arguments.{key}")));
                }
            }
            // Expressions and free text are not values a user or a tool result states.
            "invented_value" if !matches!(name.as_str(), "calculate" | "think" | "transfer_to_human_agents") => {
                let mut leaves = Vec::new();
                leaves_of(&Value::Object(args.clone()), String::new(), &mut leaves);
                for (sub, pointer, value) in leaves {
                    // Free text (a summary, a thought) is paraphrase, not a value to look up.
                    if value.chars().count() < 4 || value.split_whitespace().count() > 3 || in_enum(&schema, &value) {
                        continue;
                    }
                    let Some(invented) = invent(&value, &text, rng) else { continue };
                    let mut changed = Value::Object(args.clone());
                    *changed.pointer_mut(&pointer)? = Value::String(invented.clone());
                    let Value::Object(changed) = changed else { unreachable!() };
                    options.push((i, json!(invented), Some((changed, as_string)), format!(".arguments{sub}")));
                }
            }
            _ => {}
        }
    }
    if options.is_empty() {
        return None;
    }
    let (i, detail, new_args, suffix) = options.swap_remove(rng.below(options.len()));
    let site = &sites[i];
    let call = record.pointer_mut(&site.pointer)?;
    let mut entry = json!({"id": Value::Null, "kind": kind, "code": expected_code(kind), "call": site.path});
    match kind {
        "unknown_tool" => {
            let name = *rng.pick(&["modify_reservation_dates", "get_flight_status", "apply_voucher", "track_shipment"]);
            entry["detail"] = json!(format!("{} renamed to {name}", call["name"]));
            call["name"] = json!(name);
            entry["path"] = json!(site.path);
        }
        "arguments_not_json" => {
            let (args, _) = arguments(call)?;
            // What models and hand-written logs produce: Python's repr, or JSON cut short.
            let broken = if rng.chance(50) {
                let items: Vec<String> = args.iter().map(|(k, v)| format!("'{k}': {}", python_repr(v))).collect();
                format!("{{{}}}", items.join(", "))
            } else {
                let full = Value::Object(args).to_string();
                full[..full.len() - 1].to_string()
            };
            entry["detail"] = json!(broken);
            call["arguments"] = json!(broken);
            entry["path"] = json!(format!("{}.arguments", site.path));
        }
        _ => {
            let (args, as_string) = new_args?;
            set_arguments(call, args, as_string);
            entry["detail"] = detail;
            entry["path"] = json!(format!("{}{suffix}", site.path));
        }
    }
    entry["id"] = record["id"].clone();
    Some(entry)
}

fn in_enum(schema: &Value, value: &str) -> bool {
    match schema {
        Value::Object(map) => {
            map.get("enum").and_then(Value::as_array).is_some_and(|e| e.iter().any(|v| v == value))
                || map.values().any(|v| in_enum(v, value))
        }
        Value::Array(items) => items.iter().any(|v| in_enum(v, value)),
        _ => false,
    }
}

/// String leaves of an argument object: (path below `arguments`, JSON pointer, value).
fn leaves_of(value: &Value, path: String, out: &mut Vec<(String, String, String)>) {
    fn walk(value: &Value, path: String, pointer: String, out: &mut Vec<(String, String, String)>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    walk(v, format!("{path}.{k}"), format!("{pointer}/{k}"), out);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(v, format!("{path}[{i}]"), format!("{pointer}/{i}"), out);
                }
            }
            Value::String(s) => out.push((path, pointer, s.clone())),
            _ => {}
        }
    }
    walk(value, path, String::new(), out);
}

/// A value shaped like `value` (same letters-and-digits pattern) that appears nowhere in the record.
fn invent(value: &str, record_text: &str, rng: &mut tau::Rng) -> Option<String> {
    const SURNAMES: &[&str] = &["Kowalczyk", "Haugland", "Oyelaran", "Vasquez-Toro", "Lindqvist"];
    for _ in 0..20 {
        // Ids, codes and dates keep their shape (`ZFA04Y`, `credit_card_4421902`, `2024-05-22`); names
        // become another name.
        let code_like = value.chars().any(|c| c.is_ascii_digit())
            || value.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || "-_.".contains(c));
        let is_date = value.len() == 10 && value.as_bytes()[4] == b'-' && value.as_bytes()[7] == b'-';
        let candidate: String = if is_date {
            format!("2024-{:02}-{:02}", rng.range(7, 12), rng.range(1, 28))
        } else if code_like {
            value
                .chars()
                .map(|c| match c {
                    '0'..='9' => char::from(b'0' + rng.below(10) as u8),
                    'A'..='Z' => char::from(b'A' + rng.below(26) as u8),
                    other => other,
                })
                .collect()
        } else {
            rng.pick(SURNAMES).to_string()
        };
        let lower = candidate.to_lowercase();
        let squashed: String = lower.chars().filter(|c| c.is_alphanumeric()).collect();
        let squashed_text: String = record_text.chars().filter(|c| c.is_alphanumeric()).collect();
        if candidate != value && !record_text.contains(&lower) && !squashed_text.contains(&squashed) {
            return Some(candidate);
        }
    }
    None
}

fn python_repr(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        Value::Array(items) => format!("[{}]", items.iter().map(python_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => {
            let items: Vec<String> = map.iter().map(|(k, v)| format!("'{k}': {}", python_repr(v))).collect();
            format!("{{{}}}", items.join(", "))
        }
        Value::Number(n) => n.to_string(),
    }
}

/// The share of records where `validate` reported the planted defect: with the expected code at the
/// exact path, and (looser) with the expected code anywhere in the planted call. A finding that
/// `validate` already made on the clean record (`clean`) does not count: it is not about the defect.
fn score(manifest: &[Value], findings: &[Value], clean: &[Value]) -> ExitCode {
    let key = |f: &Value| (f["id"].to_string(), f["code"].to_string(), f["path"].to_string());
    let before: std::collections::HashSet<_> = clean.iter().map(key).collect();
    let mut by_id: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for f in findings.iter().filter(|f| !before.contains(&key(f))) {
        by_id.entry(f["id"].as_str().unwrap_or("")).or_default().push(f);
    }
    let mut rows: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    let mut missed = Vec::new();
    for entry in manifest {
        let id = entry["id"].as_str().unwrap_or("");
        let (code, path, call) =
            (entry["code"].as_str().unwrap(), entry["path"].as_str().unwrap(), entry["call"].as_str().unwrap());
        let found = by_id.get(id).map(Vec::as_slice).unwrap_or(&[]);
        let exact = found.iter().any(|f| f["code"] == code && f["path"] == path);
        let at_call = found.iter().any(|f| {
            f["code"] == code && f["path"].as_str().is_some_and(|p| p == call || p.starts_with(&format!("{call}.")))
        });
        let row = rows.entry(entry["kind"].as_str().unwrap()).or_default();
        row.0 += 1;
        row.1 += exact as usize;
        row.2 += at_call as usize;
        if !exact {
            let codes: Vec<String> = found.iter().map(|f| format!("{} {}", f["code"], f["path"])).collect();
            missed.push(format!("{id} {} at {path}: validate said [{}]", entry["kind"], codes.join("; ")));
        }
    }
    println!("{:<20} {:>7} {:>14} {:>14} {:>8}", "planted defect", "records", "exact path", "in that call", "share");
    let (mut n, mut e, mut c) = (0, 0, 0);
    for kind in KINDS {
        let (records, exact, at_call) = rows.get(kind).copied().unwrap_or_default();
        println!(
            "{kind:<20} {records:>7} {exact:>14} {at_call:>14} {:>7.1}%",
            100.0 * exact as f64 / records.max(1) as f64
        );
        (n, e, c) = (n + records, e + exact, c + at_call);
    }
    let share = 100.0 * e as f64 / n.max(1) as f64;
    println!("{:<20} {n:>7} {e:>14} {c:>14} {share:>7.1}%", "all");
    for m in missed.iter().take(15) {
        println!("missed: {m}");
    }
    if missed.len() > 15 {
        println!("… {} more missed", missed.len() - 15);
    }
    if share >= 95.0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
