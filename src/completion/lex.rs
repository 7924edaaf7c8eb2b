//! Lexing: generated output → text pieces and control-token pieces.
//!
//! A template's structure is written with control tokens (`<|im_end|>`, `<|channel|>` …), and the
//! same characters can also occur as ordinary text: Harmony encodes message content with
//! `encode_ordinary`, so a user who typed `<|end|>` is answered with those characters, not with the
//! token. From token ids the two are told apart exactly (the id is the control token or it is not);
//! from text they cannot be, and every occurrence of a control token's spelling counts as the token.

use std::borrow::Cow;
use std::ops::Range;

use crate::tokenize::TextTokenizer;

/// One piece of the output: a control token, or the text between control tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    Special(&'a str),
    Text(&'a str),
}

/// The output as one string plus where its control tokens are.
#[derive(Debug, Clone)]
pub struct Lexed<'a> {
    text: Cow<'a, str>,
    /// Byte ranges of `text` that are control tokens, sorted and disjoint.
    specials: Vec<Range<usize>>,
}

impl<'a> Lexed<'a> {
    /// Split text at every occurrence of one of `specials` (all of which start with `<` or `[`).
    pub fn from_text(text: &'a str, specials: &[&str]) -> Lexed<'a> {
        let mut ranges = Vec::new();
        let bytes = text.as_bytes();
        let mut at = 0;
        while at < bytes.len() {
            if bytes[at] == b'<' || bytes[at] == b'[' {
                if let Some(s) = specials.iter().filter(|s| text[at..].starts_with(**s)).max_by_key(|s| s.len()) {
                    ranges.push(at..at + s.len());
                    at += s.len();
                    continue;
                }
            }
            at += 1;
        }
        Lexed { text: Cow::Borrowed(text), specials: ranges }
    }

    /// Decode token ids: ids whose token text `is_special` accepts become control pieces, runs of
    /// the other ids are decoded together as text (so multi-byte characters split over tokens
    /// come out whole).
    pub fn from_ids(tokenizer: &TextTokenizer, ids: &[u32], is_special: impl Fn(&str) -> bool) -> Lexed<'static> {
        let mut text = String::new();
        let mut specials = Vec::new();
        let mut run_start = 0;
        for (i, &id) in ids.iter().enumerate() {
            let Some(token) = tokenizer.id_to_token(id).filter(|t| is_special(t)) else { continue };
            text.push_str(&tokenizer.decode(&ids[run_start..i]));
            specials.push(text.len()..text.len() + token.len());
            text.push_str(&token);
            run_start = i + 1;
        }
        text.push_str(&tokenizer.decode(&ids[run_start..]));
        Lexed { text: Cow::Owned(text), specials }
    }

    /// The whole output as text (control tokens spelled out).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Text before the first control token.
    pub fn head(&self) -> &str {
        &self.text[..self.specials.first().map_or(self.text.len(), |r| r.start)]
    }

    /// All pieces in order; empty text pieces are left out.
    pub fn pieces(&self) -> Vec<Piece<'_>> {
        let mut out = Vec::with_capacity(self.specials.len() * 2 + 1);
        let mut at = 0;
        for r in &self.specials {
            if r.start > at {
                out.push(Piece::Text(&self.text[at..r.start]));
            }
            out.push(Piece::Special(&self.text[r.clone()]));
            at = r.end;
        }
        if at < self.text.len() {
            out.push(Piece::Text(&self.text[at..]));
        }
        out
    }
}

/// At most `max` characters of `s`, for error messages.
pub(crate) fn preview(s: &str, max: usize) -> String {
    let s = s.trim();
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_split_at_the_longest_special() {
        let l = Lexed::from_text("a<|im_end|>\n<|im_end|", &["<|im_end|>", "<|im"]);
        assert_eq!(
            l.pieces(),
            vec![
                Piece::Text("a"),
                Piece::Special("<|im_end|>"),
                Piece::Text("\n"),
                Piece::Special("<|im"),
                Piece::Text("_end|")
            ]
        );
        assert_eq!(l.head(), "a");
    }
}
