//! Mask: supervised byte spans × token byte offsets → a 0/1 mask per token.
//!
//! The alignment rule lives here and only here: a token is supervised when its byte range overlaps
//! a supervised span. That is what transformers does with `{% generation %}` character spans, and
//! it keeps masks right on non-ASCII text where a token covers part of a character (TRAPS 11).

use std::ops::Range;

/// Label for tokens that carry no loss, as PyTorch's cross-entropy expects.
pub const IGNORE_INDEX: i64 = -100;

/// 1 for every token whose byte range overlaps one of `spans` (sorted, disjoint), else 0.
pub fn token_mask(offsets: &[(usize, usize)], spans: &[Range<usize>]) -> Vec<u8> {
    let mut cursor = SpanCursor::new(spans);
    offsets.iter().map(|&(start, end)| cursor.token(start, end)).collect()
}

/// The overlap rule applied to tokens as they come, in text order: what lets the tokenizer mask a
/// cached segment as a whole (see [`SpanCursor::uniform`]) instead of token by token.
#[derive(Debug, Clone)]
pub struct SpanCursor<'a> {
    spans: &'a [Range<usize>],
    /// Spans before this one end before every token still to come.
    first_live: usize,
}

impl<'a> SpanCursor<'a> {
    /// `spans`: sorted and disjoint (empty ones allowed: they mark the token strictly containing them).
    pub fn new(spans: &'a [Range<usize>]) -> Self {
        SpanCursor { spans, first_live: 0 }
    }

    /// Skip the spans that end at or before `start`: no token from there on can overlap them.
    fn advance(&mut self, start: usize) {
        while self.first_live < self.spans.len() && self.spans[self.first_live].end <= start {
            self.first_live += 1;
        }
    }

    /// The mask of the token at `start..end`; tokens must come in order of `start`.
    pub fn token(&mut self, start: usize, end: usize) -> u8 {
        self.advance(start);
        let overlaps = self.spans[self.first_live..]
            .iter()
            .take_while(|s| s.start < end.max(start + 1))
            .any(|s| s.start < end && start < s.end);
        u8::from(overlaps)
    }

    /// The mask every token inside `start..end` gets, when it is the same for all of them: 0 when
    /// no span reaches into the range, 1 when one span covers it (for tokens with non-empty ranges;
    /// an empty token at the span's start would get 0). `None` when tokens must be taken one by one.
    pub fn uniform(&mut self, start: usize, end: usize) -> Option<u8> {
        self.advance(start);
        match self.spans.get(self.first_live) {
            None => Some(0),
            Some(s) if s.start >= end => Some(0),
            Some(s) if s.start <= start && s.end >= end && start < end => Some(1),
            Some(_) => None,
        }
    }
}

/// `labels` as trainers want them: the token id where the mask is 1, else -100.
pub fn labels(ids: &[u32], mask: &[u8]) -> Vec<i64> {
    ids.iter().zip(mask).map(|(&id, &m)| if m == 1 { i64::from(id) } else { IGNORE_INDEX }).collect()
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)] // slices of spans, not ranges of values
mod tests {
    use super::*;

    #[test]
    fn overlap_rule() {
        let offsets = [(0, 3), (3, 5), (5, 9), (9, 10), (10, 12)];
        assert_eq!(token_mask(&offsets, &[4..9]), vec![0, 1, 1, 0, 0]);
        assert_eq!(token_mask(&offsets, &[5..9, 9..10]), vec![0, 0, 1, 1, 0]);
        assert_eq!(token_mask(&offsets, &[]), vec![0; 5]);
        assert_eq!(token_mask(&offsets, &[0..1, 11..12]), vec![1, 0, 0, 0, 1]);
    }

    #[test]
    fn uniform_ranges_agree_with_the_token_rule() {
        let spans = [2..2, 4..9, 12..20, 25..25, 30..31];
        // Every range start..end within 0..34, tokens of width 1 and 2 tiling it.
        for start in 0..34 {
            for end in start..34 {
                let mut cursor = SpanCursor::new(&spans);
                let Some(value) = cursor.uniform(start, end) else { continue };
                for width in [1, 2] {
                    let tokens: Vec<(usize, usize)> =
                        (start..end).step_by(width).map(|a| (a, (a + width).min(end))).collect();
                    let mask = token_mask(&tokens, &spans);
                    assert!(mask.iter().all(|&m| m == value), "{start}..{end} width {width}: {mask:?} vs {value}");
                }
                // An empty token is 0 where the range is uniformly 0.
                if value == 0 {
                    assert!(token_mask(&[(start, start), (end, end)], &spans).iter().all(|&m| m == 0));
                }
            }
        }
    }

    #[test]
    fn labels_use_ignore_index() {
        assert_eq!(labels(&[5, 6, 7], &[0, 1, 0]), vec![-100, 6, -100]);
    }
}
