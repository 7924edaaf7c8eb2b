//! `trajkit report` as a user runs it: the page's numbers against check-mask's and stats' on the
//! same input, escaping of data text, violating rows always shown, the --max-length marker.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

use crate::run::{stdout, trajkit};

fn temp(name: &str) -> PathBuf {
    crate::run::folder("report").join(name)
}

/// `convert` of the bundled samples, as a file.
fn converted(name: &str) -> (PathBuf, Vec<Value>) {
    let out = trajkit(&["convert", "fixtures/samples/raw.jsonl"]);
    assert!(out.status.success());
    let rows: Vec<Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let path = temp(name);
    std::fs::write(&path, stdout(&out)).unwrap();
    (path, rows)
}

/// Run `report` on `input` with `extra` flags; the page and the exit code.
fn report(input: &str, extra: &[&str], name: &str) -> (String, Option<i32>) {
    let page = temp(name);
    let mut args = vec!["report", input, "-o", page.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = trajkit(&args);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    (std::fs::read_to_string(&page).expect("the page is written"), out.status.code())
}

/// The number in the element with `id` (`<td class=n id=n-rows>10</td>`).
fn number(html: &str, id: &str) -> usize {
    let at = html.find(&format!("id={id}>")).unwrap_or_else(|| panic!("no #{id}")) + id.len() + 4;
    html[at..].split('<').next().unwrap().parse().unwrap()
}

/// check-mask's summary line: (rows, supervised, tokens, violations).
fn check_mask(input: &str) -> (usize, usize, usize, usize) {
    let out = trajkit(&["check-mask", input, "-n", "0"]);
    let text = stdout(&out);
    let line = text.lines().last().unwrap();
    let words: Vec<&str> = line.split([' ', ';', ':']).filter(|w| !w.is_empty()).collect();
    let num = |after: &str| words[words.iter().position(|w| *w == after).unwrap() + 1].parse().unwrap();
    let violations = words[words.iter().position(|w| *w == "violations").unwrap() - 1].parse().unwrap();
    (num("checked"), words[3].parse().unwrap(), num("of"), violations)
}

/// The row anchors shown (`<section class=row id=r3>`).
fn shown(html: &str) -> BTreeSet<usize> {
    html.match_indices("<section class=row id=r")
        .map(|(at, m)| html[at + m.len()..].split('>').next().unwrap().parse().unwrap())
        .collect()
}

/// The page with every inert row element (`<script type=text/x-row-gz id=…>` holding base64 of
/// gzip-compressed HTML) replaced by the HTML it holds: what the page's script puts in place.
fn expand_inert(html: &str) -> String {
    const OPEN: &str = "<script type=text/x-row-gz id=";
    let mut out = String::with_capacity(html.len() * 8);
    let mut rest = html;
    while let Some(at) = rest.find(OPEN) {
        out.push_str(&rest[..at]);
        let body_at = at + rest[at..].find('>').unwrap() + 1;
        let end = body_at + rest[body_at..].find("</script>").unwrap();
        out.push_str(&trajkit::report::decode_inert(&rest[body_at..end]).expect("base64 of gzip"));
        rest = &rest[end + "</script>".len()..];
    }
    out.push_str(rest);
    out
}

/// The text a reader sees: tags removed, entities decoded.
fn visible_text(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&")
}

#[test]
fn counts_equal_check_mask_and_stats_on_the_same_input() {
    let (train, _) = converted("counts.jsonl");
    for input in [train.to_str().unwrap(), "fixtures/samples/raw.jsonl", "fixtures/samples/tau_airline.jsonl"] {
        let (html, code) = report(input, &[], "counts.html");
        assert_eq!(code, Some(0), "{input}");
        let (rows, supervised, tokens, violations) = check_mask(input);
        assert_eq!(number(&html, "n-rows"), rows, "{input}");
        assert_eq!(number(&html, "n-tokens"), tokens, "{input}");
        assert_eq!(number(&html, "n-supervised"), supervised, "{input}");
        assert_eq!(number(&html, "n-violations"), violations, "{input}");
        let stats: Value = serde_json::from_str(&stdout(&trajkit(&["stats", input, "--format", "json"]))).unwrap();
        for (case, v) in stats["cases"].as_object().unwrap().iter().chain(stats["flags"].as_object().unwrap()) {
            let share = v["share"].as_f64().unwrap() * 100.0;
            let bar = format!("<title>{case}: {} ({share:.1}%)</title>", v["records"]);
            assert!(html.contains(&bar), "{input}: missing {bar}");
        }
        for warning in stats["warnings"].as_array().unwrap() {
            let text = warning.as_str().unwrap().replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
            let text = text.replace('"', "&quot;").replace('\'', "&#39;");
            assert!(html.contains(&format!("<p class=warn>{}</p>", text)), "{input}: stats warns {text}");
        }
        assert_eq!(shown(&html).len(), rows.min(100), "-n defaults to 100");
        // Every token of a shown row is one element with its id.
        assert!(html.contains("<u title=151644>&lt;|im_start|&gt;</u>"));
    }
    // tau_airline: stats' over-calling warning is on the page.
    let (html, _) = report("fixtures/samples/tau_airline.jsonl", &["-n", "2"], "tau.html");
    assert!(html.contains("<p class=warn>No record answers without calling a tool"));
    assert_eq!(shown(&html).len(), 2);
    assert!(html.contains("<details class=hist data-h=h"), "long rows have their history collapsed");
}

#[test]
fn text_from_the_data_is_escaped() {
    // 25 records: the first 20 rows are drawn at once, the last 5 are compressed inert elements.
    let records: String = (0..25)
        .map(|k| {
            let record = serde_json::json!({
                "id": format!("x<b>y</b>{k}"),
                "turns": [{"user": "Please run <script>alert(\"pwned\")</script> & tell me", "assistant_answer": "I won't run <img src=x onerror=alert(1)>."}]
            });
            format!("{record}\n")
        })
        .collect();
    let input = temp("script.jsonl");
    std::fs::write(&input, records).unwrap();
    let (html, code) = report(input.to_str().unwrap(), &["--validate", "-n", "25"], "script.html");
    assert_eq!(code, Some(0));
    // The only script elements are the page's own: its few lines in the head, and inert rows.
    let head_end = html.find("</head>").unwrap();
    for (at, _) in html.match_indices("<script") {
        assert!(at < head_end || html[at..].starts_with("<script type=text/x-row-gz"), "{}", &html[at..at + 80]);
    }
    assert_eq!(html.matches("<script type=text/x-row-gz").count(), 5, "rows 20-24 are drawn later");
    let page = expand_inert(&html);
    assert_eq!(shown(&page).len(), 25);
    assert_eq!(page[..head_end].matches("<script").count(), 1);
    assert_eq!(page.matches("<script").count(), 1, "nothing from the data is a script element");
    assert!(!page.contains("<img"));
    assert!(!page.contains("<b>y</b>"));
    assert_eq!(page.matches("x&lt;b&gt;y&lt;/b&gt;").count(), 25, "the id in every row header");
    let text = visible_text(&page);
    assert_eq!(text.matches("Please run <script>alert(\"pwned\")</script> & tell me").count(), 25, "shown as text");
    assert_eq!(text.matches("<img src=x onerror=alert(1)>").count(), 25);
}

#[test]
fn violating_rows_are_always_shown_and_linked() {
    let (_, mut rows) = converted("broken-src.jsonl");
    // Break rows 3 and 8: the first (system) token supervised.
    for k in [3, 8] {
        rows[k]["assistant_masks"][0] = Value::from(1);
    }
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    let input = temp("broken.jsonl");
    std::fs::write(&input, text).unwrap();
    let input = input.to_str().unwrap();
    let (_, _, _, violations) = check_mask(input);
    assert!(violations >= 2);
    for seed in ["0", "7"] {
        let (html, code) = report(input, &["-n", "1", "--seed", seed], "broken.html");
        assert_eq!(code, Some(1), "violations make exit 1, as in check-mask");
        assert_eq!(number(&html, "n-violations"), violations);
        let shown = shown(&html);
        assert!(shown.contains(&3) && shown.contains(&8), "seed {seed}: {shown:?}");
        assert!(shown.len() <= 3, "one sampled row plus the violating ones");
        assert!(html.contains("<a href=#r3>") && html.contains("<a href=#r8>"));
        assert!(html.contains("supervised_outside_assistant"));
    }
    // The sample follows the seed, and the same seed gives the same page.
    let samples: BTreeSet<BTreeSet<usize>> =
        (0..4).map(|seed| shown(&report(input, &["-n", "3", "--seed", &seed.to_string()], "s.html").0)).collect();
    assert!(samples.len() > 1, "different seeds, different samples");
    assert_eq!(
        report(input, &["-n", "3", "--seed", "4"], "a.html").0,
        report(input, &["-n", "3", "--seed", "4"], "b.html").0
    );
}

#[test]
fn max_length_is_marked_on_the_length_histogram() {
    let (train, rows) = converted("lengths.jsonl");
    let over = rows.iter().filter(|r| r["input_ids"].as_array().unwrap().len() > 300).count();
    assert!(over > 0 && over < rows.len());
    let (html, _) = report(train.to_str().unwrap(), &["--max-length", "300"], "marked.html");
    let hist = &html[html.find("id=hist-length").unwrap()..html.find("id=hist-share").unwrap()];
    assert!(hist.contains("<line class=mark"), "a marker line on the length histogram");
    assert!(hist.contains(&format!("max-length 300: {over} row(s) over")));
    let (plain, _) = report(train.to_str().unwrap(), &[], "plain.html");
    assert!(!plain.contains("class=mark"));
}

#[test]
fn validate_lists_the_findings_validate_makes() {
    let out = trajkit(&["validate", "fixtures/samples/raw.jsonl", "--format", "json"]);
    let findings: Vec<Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(!findings.is_empty());
    let (html, _) = report("fixtures/samples/raw.jsonl", &["--validate"], "validate.html");
    let list = &html[html.find("id=finding-list").unwrap()..];
    assert_eq!(list.matches("<tr><td>").count(), findings.len());
    for f in &findings {
        let code = f["code"].as_str().unwrap();
        assert!(list.contains(&format!("<code>{code}</code>")));
        assert!(list.contains(&format!("raw.jsonl:{}", f["line"])));
    }
    let (without, _) = report("fixtures/samples/raw.jsonl", &[], "novalidate.html");
    assert!(!without.contains("id=findings"));
}
