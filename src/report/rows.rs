//! One row, token by token: every token an element with its id in `title`, supervised tokens
//! highlighted, control tokens apart, each turn a block with its role. Markup per token is kept
//! short (`<i title=9707>Hello</i>`): a page of 1,000 rows holds hundreds of thousands of them.
//!
//! Tags: `i` a token without loss, `b` a supervised token, `u` a control token (`u class=s` when
//! supervised).

use std::collections::HashSet;
use std::fmt::Write as _;

use super::esc_into;
use crate::check::Turn;
use crate::diagnostic::Diagnostic;
use crate::tokenize::TextTokenizer;

/// Rows longer than this have their history (the turns before the last user turn) collapsed.
pub const COLLAPSE_TOKENS: usize = 512;

/// Decodes tokens for display and knows the control tokens.
pub struct TokenText<'a> {
    tok: &'a TextTokenizer,
    control: HashSet<u32>,
}

impl<'a> TokenText<'a> {
    pub fn new(tok: &'a TextTokenizer) -> Self {
        TokenText { tok, control: tok.added_token_ids().into_iter().collect() }
    }

    pub fn tokenizer(&self) -> &'a TextTokenizer {
        self.tok
    }

    /// `ids` as display pieces: each token alone, except that tokens holding parts of one
    /// character (byte-level BPE splits some UTF-8 characters) are shown together.
    fn pieces(&self, ids: &[u32]) -> Vec<(std::ops::Range<usize>, String)> {
        let mut out = Vec::with_capacity(ids.len());
        let mut start = 0;
        for i in 0..ids.len() {
            if self.control.contains(&ids[i]) && start < i {
                out.push((start..i, self.tok.decode(&ids[start..i])));
                start = i;
            }
            let text = self.tok.decode(&ids[start..=i]);
            let partial = text.ends_with('\u{FFFD}') && i + 1 - start < 4 && i + 1 < ids.len();
            if !partial || self.control.contains(&ids[i]) {
                out.push((start..i + 1, text));
                start = i + 1;
            }
        }
        if start < ids.len() {
            out.push((start..ids.len(), self.tok.decode(&ids[start..])));
        }
        out
    }
}

/// `html` in an inert `<script type=text/x-row-gz>`, gzip-compressed and base64-encoded, for the
/// page's script to decompress and put in place when it is needed. The browser only scans such text
/// while loading, where it would build an element per token, and the compressed form is about a
/// tenth of the markup, so a page of 1,000 long rows loads fast. Base64 holds no `<`, so the element
/// cannot be closed early by anything in the data.
fn inert(id: &str, html: &str) -> String {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::with_capacity(html.len() / 8), flate2::Compression::new(6));
    gz.write_all(html.as_bytes()).expect("writing to memory");
    let bytes = gz.finish().expect("writing to memory");
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 64);
    let _ = write!(out, "<script type=text/x-row-gz id={id}>");
    base64_into(&bytes, &mut out);
    out.push_str("</script>");
    out
}

/// The HTML an inert row element holds, from its text (base64 of gzip): what the page's script puts
/// in place, for tests and tools that read a saved report. `None` when the text is not such data.
pub fn decode_inert(text: &str) -> Option<String> {
    use std::io::Read as _;
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut bytes = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.as_bytes().chunks(4) {
        let digits = chunk.iter().take_while(|&&c| c != b'=');
        let kept = digits.clone().count();
        let n = digits.map(|&c| value(c)).try_fold(0u32, |n, v| Some(n << 6 | v? as u32))?;
        bytes.extend_from_slice(&(n << (6 * (4 - kept))).to_be_bytes()[1..kept.max(1)]);
    }
    let mut html = String::new();
    flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut html).ok()?;
    Some(html)
}

/// Standard base64 with padding (what the page's `atob` reads).
fn base64_into(bytes: &[u8], out: &mut String) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in bytes.chunks(3) {
        let n =
            (chunk[0] as u32) << 16 | (*chunk.get(1).unwrap_or(&0) as u32) << 8 | *chunk.get(2).unwrap_or(&0) as u32;
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
}

/// What the report shows of one row.
pub struct RowView<'a> {
    /// Position of the row in the input (0-based): its anchor is `r{index}`.
    pub index: usize,
    pub id: &'a str,
    pub ids: &'a [u32],
    pub mask: &'a [u8],
    pub template: &'a str,
    /// The turns read back from the ids (`None`: no known turn markers).
    pub turns: Option<&'a [Turn]>,
    /// Assistant turns (0-based) kept without loss on purpose.
    pub no_loss_turns: &'a [usize],
    pub violations: &'a [Diagnostic],
}

/// A stretch of the row shown as one block.
struct Block {
    role: String,
    range: std::ops::Range<usize>,
    marks: Vec<&'static str>,
}

impl RowView<'_> {
    fn blocks(&self, text: &TokenText) -> Vec<Block> {
        let Some(turns) = self.turns.filter(|t| !t.is_empty()) else {
            return vec![Block { role: "?".into(), range: 0..self.ids.len(), marks: vec!["no turn markers found"] }];
        };
        let mut blocks = Vec::new();
        if turns[0].start > 0 {
            blocks.push(Block { role: "prefix".into(), range: 0..turns[0].start, marks: vec![] });
        }
        let mut assistant = 0;
        for (k, turn) in turns.iter().enumerate() {
            let end = turns.get(k + 1).map_or(self.ids.len(), |next| next.start).max(turn.end).min(self.ids.len());
            let range = turn.start.min(end)..end;
            let mut marks = Vec::new();
            if turn.is_assistant() {
                if self.no_loss_turns.contains(&assistant) {
                    marks.push("no loss");
                }
                assistant += 1;
                if text.tok.decode(&self.ids[range.clone()]).contains("<think>\n\n</think>") {
                    let trained = self.mask[range.clone()].contains(&1);
                    marks.push(if trained { "empty think · trained" } else { "empty think" });
                }
            }
            // Qwen and Hermes templates put tool results in user turns: shown as what they are.
            let head = &self.ids[range.start..(range.start + 4).min(range.end)];
            let role = match turn.role.as_str() {
                "user" if text.tok.decode(head).contains("<tool_response>") => "tool".to_string(),
                role => role.to_string(),
            };
            blocks.push(Block { role, range, marks });
        }
        blocks
    }

    /// The row as an HTML `<section>`: header, violations, collapsed history (when long), turns.
    /// `lazy`: the row's tokens are written into an inert element and drawn by the page's script
    /// when the row comes near the screen (see [`inert`]).
    pub fn write_html(&self, text: &TokenText, lazy: bool, out: &mut String) {
        let supervised = self.mask.iter().filter(|&&m| m == 1).count();
        let share = if self.ids.is_empty() { 0.0 } else { supervised as f64 * 100.0 / self.ids.len() as f64 };
        let n = self.index;
        let _ = write!(out, "<section class=row id=r{n}><h3><a href=#r{n}>#{n}</a> ");
        esc_into(self.id, out);
        let _ = write!(out, " <small>{} tokens · {supervised} supervised ({share:.1}%) · ", self.ids.len());
        esc_into(if self.template.is_empty() { "?" } else { self.template }, out);
        out.push_str("</small></h3>");
        if !self.violations.is_empty() {
            out.push_str("<ul class=viol>");
            for v in self.violations {
                let _ = write!(out, "<li><code>{}</code> ", v.code);
                esc_into(&v.message, out);
                out.push_str("</li>");
            }
            out.push_str("</ul>");
        }
        let blocks = self.blocks(text);
        // History: the blocks before the last user turn, collapsed on long rows.
        let last_user = blocks.iter().rposition(|b| b.role == "user").unwrap_or(0);
        let split = if self.ids.len() > COLLAPSE_TOKENS { last_user } else { 0 };
        let mut body = String::new();
        if split > 0 {
            let (start, end) = (blocks[0].range.start, blocks[split - 1].range.end);
            let trained = self.mask[start..end].iter().filter(|&&m| m == 1).count();
            let mut history = String::new();
            for b in &blocks[..split] {
                self.write_block(b, text, &mut history);
            }
            let summary =
                format!("<summary>history: {split} turn(s), {} tokens, {trained} supervised</summary>", end - start);
            if !self.violations.is_empty() {
                // A violation may sit in the history: open, so it is seen.
                let _ = write!(body, "<details class=hist open>{summary}<div class=tk>{history}</div></details>");
            } else if lazy {
                // The whole body is drawn later; a script element cannot hold another one.
                let _ = write!(body, "<details class=hist>{summary}<div class=tk>{history}</div></details>");
            } else {
                let _ = write!(
                    body,
                    "<details class=hist data-h=h{n}>{summary}<div class=tk></div></details>{}",
                    inert(&format!("h{n}"), &history)
                );
            }
        }
        body.push_str("<div class=tk>");
        for b in &blocks[split..] {
            self.write_block(b, text, &mut body);
        }
        body.push_str("</div>");
        if lazy {
            // About the height the body will take, so the scroll bar stays put as rows are drawn.
            let height = 40 + self.ids.len().min(COLLAPSE_TOKENS) * 2 / 3;
            let _ = write!(out, "<div class=lz data-src=b{n} style=\"min-height:{height}px\"></div>");
            out.push_str(&inert(&format!("b{n}"), &body));
        } else {
            out.push_str(&body);
        }
        out.push_str("</section>\n");
    }

    fn write_block(&self, block: &Block, text: &TokenText, out: &mut String) {
        let class = match block.role.as_str() {
            "assistant" => "a",
            "user" => "u",
            "system" | "developer" => "s",
            "tool" | "ipython" => "tl",
            // Harmony names a tool result's author: `functions.get_weather`.
            role if role.starts_with("functions.") => "tl",
            _ => "o",
        };
        let _ = write!(out, "<div class=\"t {class}\"><span class=rl>");
        esc_into(&block.role, out);
        out.push_str("</span>");
        for mark in &block.marks {
            let _ = write!(out, "<span class=mk>{mark}</span>");
        }
        let base = block.range.start;
        for (range, piece) in text.pieces(&self.ids[block.range.clone()]) {
            let (start, end) = (base + range.start, base + range.end);
            let trained = self.mask[start..end].contains(&1);
            let control = text.control.contains(&self.ids[start]);
            let open = match (control, trained) {
                (false, false) => "<i",
                (false, true) => "<b",
                (true, false) => "<u",
                (true, true) => "<u class=s",
            };
            out.push_str(open);
            out.push_str(" title=");
            if end - start == 1 {
                let _ = write!(out, "{}", self.ids[start]);
            } else {
                let ids: Vec<String> = self.ids[start..end].iter().map(u32::to_string).collect();
                let _ = write!(out, "\"{}\"", ids.join(" "));
            }
            out.push('>');
            esc_into(&piece, out);
            out.push_str(if control {
                "</u>"
            } else if trained {
                "</b>"
            } else {
                "</i>"
            });
        }
        out.push_str("</div>");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::row_turns;
    use crate::tokenize::{Embedded, TokenizerSource};

    fn qwen3() -> TextTokenizer {
        TextTokenizer::load(&TokenizerSource::Embedded(Embedded::Qwen3)).unwrap()
    }

    #[test]
    fn base64_matches_the_standard_vectors() {
        for (bytes, want) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")] {
            let mut out = String::new();
            base64_into(bytes.as_bytes(), &mut out);
            assert_eq!(out, want);
        }
        let mut out = String::new();
        base64_into(&[0xfb, 0xff, 0xbf], &mut out);
        assert_eq!(out, "+/+/");
        assert_eq!(decode_inert("not base64!"), None);
    }

    #[test]
    fn tokens_carry_their_ids_and_the_mask_and_data_is_escaped() {
        let tok = qwen3();
        let text = "<|im_start|>user\n<script>alert(1)</script> é<|im_end|>\n<|im_start|>assistant\nok<|im_end|>\n";
        let ids = tok.encode(text).unwrap().ids;
        let turns = row_turns("qwen3", &tok, &ids, None).unwrap();
        let assistant = turns.iter().find(|t| t.is_assistant()).unwrap();
        let mut mask = vec![0u8; ids.len()];
        for m in &mut mask[assistant.start + 3..assistant.end] {
            *m = 1;
        }
        let view = RowView {
            index: 7,
            id: "a<b",
            ids: &ids,
            mask: &mask,
            template: "qwen3",
            turns: Some(&turns),
            no_loss_turns: &[],
            violations: &[],
        };
        let tt = TokenText::new(&tok);
        let mut html = String::new();
        view.write_html(&tt, false, &mut html);
        assert!(html.starts_with("<section class=row id=r7>"));
        assert!(html.contains("a&lt;b"));
        assert!(!html.contains("<script>") && html.contains("&lt;script"), "{html}");
        let start = tok.token_to_id("<|im_start|>").unwrap();
        assert!(html.contains(&format!("<u title={start}>&lt;|im_start|&gt;</u>")), "control tokens apart");
        let ok = tok.token_to_id("ok").unwrap();
        assert!(html.contains(&format!("<b title={ok}>ok</b>")), "{html}");
        let end = tok.token_to_id("<|im_end|>").unwrap();
        assert!(html.contains(&format!("<u class=s title={end}>")), "a supervised end token");
        // Every token is shown once: as many elements as ids (no piece spans two tokens here but é's).
        let shown: usize = ["<i ", "<b ", "<u "].iter().map(|t| html.matches(t).count()).sum();
        assert!(shown >= ids.len() - 1 && shown <= ids.len());
        assert_eq!(html.matches("<div class=\"t ").count(), turns.len());
        // Drawn later: the same body inside one inert script element, after a placeholder.
        let mut lazy = String::new();
        view.write_html(&tt, true, &mut lazy);
        assert!(lazy.contains("<div class=lz data-src=b7 "));
        let open = "<script type=text/x-row-gz id=b7>";
        let at = lazy.find(open).unwrap() + open.len();
        assert_eq!(lazy.matches("<script").count(), 1);
        assert!(lazy.ends_with("</script></section>\n"));
        let body = decode_inert(&lazy[at..lazy.len() - "</script></section>\n".len()]).unwrap();
        assert!(body.contains(&format!("<b title={ok}>ok</b>")), "{body}");
        let eager = &html[html.find("<div class=tk>").unwrap()..html.len() - "</section>\n".len()];
        assert_eq!(body, eager, "the same tokens, drawn later");
    }

    #[test]
    fn pieces_join_the_tokens_of_one_character() {
        let tok = qwen3();
        let ids = tok.encode("日本語の🙂").unwrap().ids;
        let pieces = TokenText::new(&tok).pieces(&ids);
        let joined: String = pieces.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(joined, "日本語の🙂");
        assert!(pieces.iter().all(|(_, t)| !t.contains('\u{FFFD}')));
        assert_eq!(pieces.last().unwrap().0.end, ids.len());
    }
}
