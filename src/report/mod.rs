//! Report: one self-contained HTML page to look at a dataset before training. Summary, case mix,
//! distributions, a sample of rows token by token, validation findings.
//!
//! This stage only writes: the numbers come from check-mask's and stats' own code (the `report`
//! command gathers them), so the page cannot disagree with them. Everything from the data is
//! HTML-escaped; the page loads nothing (inline CSS, inline SVG, a few lines of inline script that
//! fill a collapsed history when it is opened).

pub mod rows;
pub mod svg;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

pub use rows::{decode_inert, RowView, TokenText};
use svg::{Bar, Bins, Marker};

use crate::diagnostic::{Code, Diagnostic, Severity};

/// HTML-escape `text` (element content and quoted attributes).
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    esc_into(text, &mut out);
    out
}

/// [`esc`] appended to `out`.
pub fn esc_into(text: &str, out: &mut String) {
    let mut last = 0;
    for (i, b) in text.bytes().enumerate() {
        let replacement = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&text[last..i]);
        out.push_str(replacement);
        last = i + 1;
    }
    out.push_str(&text[last..]);
}

/// A mask violation of one row, for the summary's list.
pub struct ViolationRef {
    pub row: usize,
    pub id: String,
    pub violation: Diagnostic,
}

/// Section 1: what check-mask counts.
#[derive(Default)]
pub struct Summary {
    pub inputs: Vec<String>,
    pub rows: usize,
    pub tokens: usize,
    pub supervised: usize,
    /// Rows per template and per tokenizer.
    pub templates: BTreeMap<String, usize>,
    pub tokenizers: BTreeMap<String, usize>,
    pub violations: Vec<ViolationRef>,
    /// Rows that supervise an empty think block.
    pub empty_think_rows: usize,
    /// Records that could not be read or converted.
    pub unreadable: usize,
    /// Ingest warnings by code.
    pub warnings: BTreeMap<String, usize>,
}

/// Section 2: stats' classification of the records.
#[derive(Default)]
pub struct Mix {
    pub records: usize,
    pub cases: Vec<(String, usize)>,
    pub flags: Vec<(String, usize)>,
    /// Stats' warnings about the mix (over-calling and the rest).
    pub warnings: Vec<String>,
}

/// Section 3: one value per row.
#[derive(Default)]
pub struct Distributions {
    pub lengths: Vec<usize>,
    pub shares: Vec<f64>,
    pub calls: Vec<usize>,
    pub turns: Vec<usize>,
    pub max_length: Option<usize>,
}

/// A validation finding with where it is.
pub struct FindingRef {
    pub location: String,
    pub id: Option<String>,
    /// The first row the record became, when that row is shown.
    pub row: Option<usize>,
    pub finding: Diagnostic,
}

/// The whole page's data; rows already written as HTML ([`RowView::write_html`]).
#[derive(Default)]
pub struct Page {
    pub summary: Summary,
    pub mix: Mix,
    pub distributions: Distributions,
    /// Which rows are shown: (sampled, seed).
    pub sample: (usize, u64),
    pub rows_html: Vec<String>,
    /// Row indices shown (anchors that exist).
    pub shown: BTreeSet<usize>,
    /// `None` without `--validate`.
    pub findings: Option<Vec<FindingRef>>,
}

/// Findings listed one by one; beyond this the table by code still counts them all.
const FINDINGS_LISTED: usize = 1000;

const CSS: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:0 16px;color:#222}\
h1{margin:16px 0 4px}h2{border-bottom:1px solid #ccc;margin-top:28px}table{border-collapse:collapse}\
td,th{padding:2px 10px;text-align:left;border-bottom:1px solid #eee}td.n{text-align:right}\
.warn{background:#fff4d6;border-left:4px solid #e0a000;padding:4px 10px;margin:4px 0}\
.bad{color:#b00020;font-weight:600}.grid{display:flex;flex-wrap:wrap;gap:18px}.grid figure{margin:0}\
figcaption{font-weight:600}svg.chart text{font-size:11px;fill:#333}rect.g0{fill:#4a7bd0}rect.g1{fill:#8a6bc4}\
line.ax{stroke:#999}line.mark{stroke:#c00;stroke-dasharray:4 3;stroke-width:2}text.mark{fill:#c00}\
.row{border:1px solid #ddd;border-radius:6px;margin:14px 0;padding:6px 10px}.row h3{margin:2px 0 6px;font-size:14px}\
.row small{color:#666;font-weight:400}.viol{color:#b00020;margin:4px 0}\
.tk{font:12px/1.6 ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-all}\
.t{border-left:4px solid #bbb;padding:2px 0 2px 8px;margin:3px 0}.t.a{border-color:#2e9e4f}.t.u{border-color:#4a7bd0}\
.t.s{border-color:#999}.t.tl{border-color:#c98a1d}\
.rl{font:600 11px system-ui,sans-serif;color:#fff;background:#888;border-radius:3px;padding:0 5px;margin-right:6px}\
.a>.rl{background:#2e9e4f}.u>.rl{background:#4a7bd0}.tl>.rl{background:#c98a1d}\
.mk{font:600 11px system-ui,sans-serif;background:#ffe08a;border-radius:3px;padding:0 5px;margin-right:6px}\
.tk i,.tk b,.tk u{font:inherit;text-decoration:none}.tk b{background:#c9f2d0}\
.tk u{color:#777;background:#eee;border-radius:2px}.tk u.s{color:#0b5d1e;background:#9fe0ad}\
.tk i:hover,.tk b:hover,.tk u:hover{outline:1px solid #333}\
details.hist{margin:4px 0}details.hist summary{cursor:pointer;color:#555}\
.legend span{margin-right:12px}code{background:#f3f3f3;padding:0 3px}";

/// Rows shown at once; the others are drawn as they come near the screen.
pub const EAGER_ROWS: usize = 20;

/// Draws a row when it comes near the screen, and a collapsed history the first time it is opened,
/// from their inert script elements ([`rows`]): base64 text of gzip-compressed HTML, decompressed by
/// the browser's own `DecompressionStream`.
const SCRIPT: &str = "function take(id){var s=document.getElementById(id);if(!s)return Promise.resolve('');s.remove();\
var b=atob(s.textContent),u=new Uint8Array(b.length);for(var i=0;i<b.length;i++)u[i]=b.charCodeAt(i);\
return new Response(new Blob([u]).stream().pipeThrough(new DecompressionStream('gzip'))).text()}\
document.addEventListener('toggle',function(e){var d=e.target,h=d.dataset&&d.dataset.h;if(!d.open||!h)return;\
delete d.dataset.h;take(h).then(function(t){d.lastElementChild.innerHTML=t})},true);\
document.addEventListener('DOMContentLoaded',function(){var io=new IntersectionObserver(function(es){\
es.forEach(function(e){if(!e.isIntersecting)return;var d=e.target;io.unobserve(d);\
take(d.dataset.src).then(function(t){d.outerHTML=t})})},\
{rootMargin:'2000px'});document.querySelectorAll('.lz').forEach(function(d){io.observe(d)})});";

impl Page {
    /// The page as one HTML document.
    pub fn html(&self) -> String {
        let rows_bytes: usize = self.rows_html.iter().map(String::len).sum();
        let mut s = String::with_capacity(rows_bytes + 64 * 1024);
        s.push_str(
            "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>trajkit report</title>\
             <meta name=viewport content=\"width=device-width\">",
        );
        let _ = write!(s, "<style>{CSS}</style><script>{SCRIPT}</script></head><body>");
        s.push_str("<h1>trajkit report</h1><p>");
        for (k, input) in self.summary.inputs.iter().enumerate() {
            if k > 0 {
                s.push_str(", ");
            }
            s.push_str("<code>");
            esc_into(input, &mut s);
            s.push_str("</code>");
        }
        s.push_str(
            "</p><nav><a href=#summary>Summary</a> · <a href=#mix>Case mix</a> · <a href=#dist>Distributions</a> · \
             <a href=#rows>Rows</a>",
        );
        if self.findings.is_some() {
            s.push_str(" · <a href=#findings>Validation</a>");
        }
        s.push_str("</nav>\n");
        self.write_summary(&mut s);
        self.write_mix(&mut s);
        self.write_distributions(&mut s);
        if let Some(findings) = &self.findings {
            self.write_findings(findings, &mut s);
        }
        self.write_rows(&mut s);
        s.push_str("</body></html>");
        s
    }

    fn write_summary(&self, s: &mut String) {
        let m = &self.summary;
        let share = if m.tokens == 0 { 0.0 } else { m.supervised as f64 * 100.0 / m.tokens as f64 };
        let _ = write!(
            s,
            "<h2 id=summary>Summary</h2><table id=summary-table>\
             <tr><th>rows</th><td class=n id=n-rows>{}</td></tr>\
             <tr><th>tokens</th><td class=n id=n-tokens>{}</td></tr>\
             <tr><th>supervised tokens</th><td class=n id=n-supervised>{}</td></tr>\
             <tr><th>supervised share</th><td class=n>{share:.1}%</td></tr>",
            m.rows, m.tokens, m.supervised
        );
        let list = |map: &BTreeMap<String, usize>| -> String {
            let parts: Vec<String> = map.iter().map(|(k, n)| format!("{} ({n})", esc(k))).collect();
            if parts.is_empty() {
                "—".into()
            } else {
                parts.join(", ")
            }
        };
        let _ = write!(
            s,
            "<tr><th>template</th><td>{}</td></tr><tr><th>tokenizer</th><td>{}</td></tr>",
            list(&m.templates),
            list(&m.tokenizers)
        );
        let class = if m.violations.is_empty() { "" } else { " class=bad" };
        let _ = write!(
            s,
            "<tr><th>check-mask violations</th><td{class} id=n-violations>{}</td></tr>\
             <tr><th>rows supervising an empty think block</th><td class=n>{}</td></tr>\
             <tr><th>unreadable records</th><td class=n id=n-unreadable>{}</td></tr></table>",
            m.violations.len(),
            m.empty_think_rows,
            m.unreadable
        );
        if !m.violations.is_empty() {
            let mut by_code: BTreeMap<Code, usize> = BTreeMap::new();
            for v in &m.violations {
                *by_code.entry(v.violation.code).or_default() += 1;
            }
            let codes: Vec<String> = by_code.iter().map(|(c, n)| format!("<code>{c}</code> {n}")).collect();
            let _ = write!(s, "<h3>Violations</h3><p>{}</p><ul id=violations>", codes.join(" · "));
            for v in &m.violations {
                let _ = write!(s, "<li><a href=#r{}>", v.row);
                esc_into(&v.id, s);
                let _ = write!(s, "</a> <code>{}</code> ", v.violation.code);
                esc_into(&v.violation.message, s);
                s.push_str("</li>");
            }
            s.push_str("</ul>");
        }
        s.push_str("<h3>Warnings by code</h3>");
        if m.warnings.is_empty() {
            s.push_str("<p>none</p>");
        } else {
            s.push_str("<table id=warnings><tr><th>code</th><th>warnings</th></tr>");
            for (code, n) in &m.warnings {
                s.push_str("<tr><td><code>");
                esc_into(code, s);
                let _ = write!(s, "</code></td><td class=n>{n}</td></tr>");
            }
            s.push_str("</table>");
        }
    }

    fn write_mix(&self, s: &mut String) {
        let mix = &self.mix;
        let _ = write!(
            s,
            "<h2 id=mix>Case mix</h2><p>{} records, as <code>trajkit stats</code> classifies them.</p>",
            mix.records
        );
        let bars: Vec<Bar> = mix
            .cases
            .iter()
            .map(|(c, n)| Bar { label: c, value: *n, group: 0 })
            .chain(mix.flags.iter().map(|(f, n)| Bar { label: f, value: *n, group: 1 }))
            .collect();
        s.push_str("<figure id=case-chart>");
        s.push_str(&svg::bar_chart(&bars, mix.records));
        s.push_str("<figcaption>cases (blue) and flags (purple)</figcaption></figure>");
        for w in &mix.warnings {
            s.push_str("<p class=warn>");
            esc_into(w, s);
            s.push_str("</p>");
        }
    }

    fn write_distributions(&self, s: &mut String) {
        let d = &self.distributions;
        s.push_str("<h2 id=dist>Distributions</h2><div class=grid>");
        let over = d.max_length.map(|m| d.lengths.iter().filter(|&&l| l > m).count());
        let label = d.max_length.zip(over).map(|(m, n)| format!("max-length {m}: {n} row(s) over"));
        let marker = d.max_length.zip(label.as_deref()).map(|(m, label)| Marker { at: m as f64, label });
        let charts = [
            (
                "hist-length",
                "sequence length (tokens)",
                svg::histogram(d.lengths.iter().map(|&v| v as f64), Bins::for_counts(&d.lengths, d.max_length), marker),
            ),
            (
                "hist-share",
                "supervised share per row",
                svg::histogram(d.shares.iter().copied(), Bins::for_shares(), None),
            ),
            (
                "hist-calls",
                "tool calls per row",
                svg::histogram(d.calls.iter().map(|&v| v as f64), Bins::for_counts(&d.calls, None), None),
            ),
            (
                "hist-turns",
                "user turns per row",
                svg::histogram(d.turns.iter().map(|&v| v as f64), Bins::for_counts(&d.turns, None), None),
            ),
        ];
        for (id, caption, chart) in charts {
            let _ = write!(s, "<figure id={id}><figcaption>{caption}</figcaption>{chart}</figure>");
        }
        s.push_str("</div>");
    }

    fn write_findings(&self, findings: &[FindingRef], s: &mut String) {
        let _ = write!(s, "<h2 id=findings>Validation findings</h2>");
        let mut by_code: BTreeMap<(Severity, Code), usize> = BTreeMap::new();
        for f in findings {
            *by_code.entry((f.finding.severity, f.finding.code)).or_default() += 1;
        }
        if findings.is_empty() {
            s.push_str("<p>none</p>");
            return;
        }
        s.push_str("<table id=finding-codes><tr><th>code</th><th>severity</th><th>findings</th></tr>");
        for ((severity, code), n) in &by_code {
            let class = if *severity == Severity::Error { " class=bad" } else { "" };
            let _ = write!(s, "<tr><td><code>{code}</code></td><td{class}>{severity}</td><td class=n>{n}</td></tr>");
        }
        s.push_str("</table><table id=finding-list><tr><th>where</th><th>id</th><th>severity</th><th>code</th><th>path</th><th>message</th></tr>");
        for f in findings.iter().take(FINDINGS_LISTED) {
            s.push_str("<tr><td>");
            esc_into(&f.location, s);
            s.push_str("</td><td>");
            let id = f.id.as_deref().unwrap_or("");
            match f.row {
                Some(row) => {
                    let _ = write!(s, "<a href=#r{row}>");
                    esc_into(if id.is_empty() { "row" } else { id }, s);
                    s.push_str("</a>");
                }
                None => esc_into(id, s),
            }
            let f = &f.finding;
            let class = if f.is_error() { " class=bad" } else { "" };
            let _ = write!(s, "</td><td{class}>{}</td><td><code>{}</code></td><td><code>", f.severity, f.code);
            esc_into(&f.path, s);
            s.push_str("</code></td><td>");
            esc_into(&f.message, s);
            s.push_str("</td></tr>");
        }
        s.push_str("</table>");
        if findings.len() > FINDINGS_LISTED {
            let _ = write!(s, "<p>… and {} more (all counted above).</p>", findings.len() - FINDINGS_LISTED);
        }
    }

    fn write_rows(&self, s: &mut String) {
        let (sampled, seed) = self.sample;
        let _ = writeln!(
            s,
            "<h2 id=rows>Rows</h2><p>{} of {} rows: {sampled} sampled with seed {seed}, and every row with a \
             violation. Hover a token for its id.</p><noscript><p class=warn>Rows after the first {EAGER_ROWS} \
             are drawn by the page's script as they are scrolled to; it is off.</p></noscript>\
             <p class=legend><span class=tk><b>supervised</b></span><span class=tk><i>context (no loss)</i></span>\
             <span class=tk><u>control token</u></span><span class=tk><u class=s>supervised control token</u></span></p>",
            self.rows_html.len(),
            self.summary.rows
        );
        for row in &self.rows_html {
            s.push_str(row);
        }
    }
}

/// The rows to show: `n` of `total` chosen by `seed` (the `n` smallest hashes of seed and index, so
/// the choice does not depend on reading order or threads), plus every row in `always`.
#[derive(Debug)]
pub struct Sampler {
    n: usize,
    seed: u64,
    /// (hash, row index) of the rows kept so far, largest hash first.
    kept: std::collections::BinaryHeap<(u64, usize)>,
}

impl Sampler {
    pub fn new(n: usize, seed: u64) -> Self {
        Sampler { n, seed, kept: Default::default() }
    }

    /// Offer row `index`; returns the row it evicts from the sample, or `index` itself when not
    /// taken, or `None` when nothing leaves.
    pub fn offer(&mut self, index: usize) -> Option<usize> {
        let key = (splitmix(self.seed ^ splitmix(index as u64)), index);
        if self.kept.len() < self.n {
            self.kept.push(key);
            return None;
        }
        match self.kept.peek() {
            Some(&top) if key < top => {
                self.kept.pop();
                self.kept.push(key);
                Some(top.1)
            }
            _ => Some(index),
        }
    }

    pub fn taken(&self) -> BTreeSet<usize> {
        self.kept.iter().map(|&(_, i)| i).collect()
    }
}

/// SplitMix64's finalizer: a well-mixed 64-bit hash of `x`.
fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc("<script>alert('x&y')</script>\""),
            "&lt;script&gt;alert(&#39;x&amp;y&#39;)&lt;/script&gt;&quot;"
        );
        assert_eq!(esc("plain é"), "plain é");
    }

    #[test]
    fn the_sample_depends_on_the_seed_only() {
        let take = |seed, order: &mut dyn Iterator<Item = usize>| {
            let mut s = Sampler::new(10, seed);
            order.for_each(|i| {
                s.offer(i);
            });
            s.taken()
        };
        let a = take(1, &mut (0..1000));
        assert_eq!(a.len(), 10);
        assert_eq!(a, take(1, &mut (0..1000).rev()), "same rows whatever the order");
        assert_ne!(a, take(2, &mut (0..1000)), "another seed, another sample");
        assert_eq!(take(1, &mut (0..5)).len(), 5);
    }

    #[test]
    fn the_page_has_every_section_and_links_violations_to_rows() {
        let page = Page {
            summary: Summary {
                inputs: vec!["in<put>.jsonl".into()],
                rows: 2,
                tokens: 10,
                supervised: 4,
                violations: vec![ViolationRef {
                    row: 1,
                    id: "x\"y".into(),
                    violation: Diagnostic::error(Code::NoSupervisedTokens, "", "m"),
                }],
                ..Summary::default()
            },
            mix: Mix {
                records: 2,
                cases: vec![("tool_required".into(), 2)],
                flags: vec![],
                warnings: vec!["No record answers without calling a tool".into()],
            },
            distributions: Distributions { lengths: vec![4, 6], max_length: Some(5), ..Default::default() },
            findings: Some(vec![]),
            ..Page::default()
        };
        let html = page.html();
        for id in ["summary", "mix", "dist", "rows", "findings", "case-chart", "hist-length", "hist-turns"] {
            assert!(html.contains(&format!("id={id}>")) || html.contains(&format!("id={id} ")), "{id}");
        }
        assert!(html.contains("<a href=#r1>x&quot;y</a>"));
        assert!(html.contains("in&lt;put&gt;.jsonl"));
        assert!(html.contains("max-length 5: 1 row(s) over"));
        assert!(html.contains("class=warn>No record answers"));
    }
}
