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
    let mut mask = vec![0u8; offsets.len()];
    let mut first_live = 0;
    for (i, &(start, end)) in offsets.iter().enumerate() {
        // Spans entirely before this token can no longer match any later token either.
        while first_live < spans.len() && spans[first_live].end <= start {
            first_live += 1;
        }
        let overlaps = spans[first_live..]
            .iter()
            .take_while(|s| s.start < end.max(start + 1))
            .any(|s| s.start < end && start < s.end);
        mask[i] = u8::from(overlaps);
    }
    mask
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
    fn labels_use_ignore_index() {
        assert_eq!(labels(&[5, 6, 7], &[0, 1, 0]), vec![-100, 6, -100]);
    }
}
