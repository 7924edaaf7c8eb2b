//! The code's shape, checked: the library's top-level modules import each other without a circle
//! (a stage may use the stages below it, never the ones above), commands do not import each other,
//! and the README's Layout names everything in `src/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every `.rs` file below `dir`, with its text.
fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("UTF-8 source");
            out.push((path.strip_prefix("src").expect("below src").display().to_string(), text));
        }
    }
}

/// The code of a file without its tests and comment lines (doc links name other modules freely).
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// `crate::name` references, by name.
fn crate_refs(code: &str) -> BTreeSet<String> {
    code.match_indices("crate::")
        .map(|(at, m)| code[at + m.len()..].chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect())
        .filter(|name: &String| !name.is_empty())
        .collect()
}

#[test]
fn library_modules_import_each_other_without_a_circle() {
    let mut files = Vec::new();
    sources(Path::new("src"), &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, text) in &files {
        let top = path.split('/').next().unwrap_or_default().trim_end_matches(".rs").to_string();
        if ["main", "cli", "commands", "lib"].contains(&top.as_str()) {
            continue; // the binary's layer, above the library
        }
        let refs: Vec<String> = crate_refs(&code(text)).into_iter().filter(|r| *r != top).collect();
        graph.entry(top).or_default().extend(refs);
    }
    assert!(graph.len() > 20 && graph["render"].contains("conversation"), "the graph was read: {graph:?}");
    // Depth-first search for a back edge; report the circle it closes.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut circle = path[at..].to_vec();
            circle.push(node.to_string());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(circle) = visit(node, &graph, &mut Vec::new(), &mut done) {
            panic!("import circle: {}", circle.join(" → "));
        }
    }
}

#[test]
fn commands_do_not_import_each_other() {
    let mut files = Vec::new();
    sources(Path::new("src/commands"), &mut files);
    let stem = |p: &str| p.rsplit('/').next().unwrap_or_default().trim_end_matches(".rs").to_string();
    let names: Vec<String> = files.iter().map(|(p, _)| stem(p)).collect();
    assert!(names.iter().any(|n| n.ends_with("convert")), "{names:?}");
    // The shared pieces every command uses, not commands themselves.
    let shared = ["mod", "settings", "sink", "progress"];
    for (path, text) in &files {
        let me = stem(path);
        let used = sibling_refs(&code(text));
        for other in names.iter().filter(|n| !shared.contains(&n.as_str()) && **n != me) {
            assert!(!used.contains(other), "src/{path} imports the {other} command ({used:?})");
        }
    }
}

/// The sibling modules a file names through `super::` or `crate::commands::`: `super::convert::run`,
/// `use super::{convert, Exit}`, `use super::validate as v`.
fn sibling_refs(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>();
    let mut out = BTreeSet::new();
    for prefix in ["super::", "crate::commands::"] {
        for (at, _) in code.match_indices(prefix) {
            let rest = &code[at + prefix.len()..];
            match rest.strip_prefix('{') {
                Some(list) => {
                    let list = &list[..list.find('}').unwrap_or(list.len())];
                    out.extend(list.split(',').map(|item| ident(item.trim())));
                }
                None => {
                    out.insert(ident(rest));
                }
            }
        }
    }
    out
}

#[test]
fn readme_layout_names_everything_in_src() {
    let readme = std::fs::read_to_string("README.md").expect("README");
    let layout = readme.split("## Layout").nth(1).expect("a Layout section");
    let mut named = BTreeSet::new();
    for line in layout.lines().filter(|l| l.starts_with("src/")) {
        let first = line.split("  ").next().unwrap_or_default();
        for item in first.split(", ") {
            named.insert(item.trim().trim_start_matches("src/").trim_end_matches('/').to_string());
        }
    }
    let missing: Vec<String> = std::fs::read_dir("src")
        .expect("src")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| !named.contains(name))
        .collect();
    assert!(missing.is_empty(), "README's Layout does not name src/{missing:?}");
}
