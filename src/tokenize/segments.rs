//! Encoding rendered text segment by segment, with a cache of segments already seen.
//!
//! A Hugging Face tokenizer first cuts the text at its added tokens and encodes what lies between
//! them independently. So a rendered conversation is, token for token, the concatenation of the
//! encodings of the text between its control tokens (`<|im_start|>`, `<|im_end|>`, …). Those segments
//! repeat: the same long system prompt and tool schemas in every record of an agent, the same history
//! again in every per-turn row. Each distinct segment is encoded once.
//!
//! Exactness: text is only cut where the tokenizer itself would isolate exactly that span, at a
//! match of a special, unnormalized added token without whitespace stripping, found with the
//! tokenizer's own matching rule (leftmost-longest over all its unnormalized added tokens), so every
//! segment is encoded under the same conditions as in one whole encode. Tests compare the two.
//!
//! Segments not yet seen are encoded by [`super::fast`] where the tokenizer allows it (ASCII runs of
//! Qwen-style byte-level BPE), else by the tokenizers crate.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};

use aho_corasick::{AhoCorasick, MatchKind};

use super::fast::{cut_points, FastBpe, QuickBuild};
use super::{TokenSink, TokenizeError, Tokens};

/// A segment's encoding, offsets relative to the segment start.
struct Encoded {
    ids: Box<[u32]>,
    offsets: Box<[(u32, u32)]>,
    /// Whether a token has an empty byte range (the overlap rule treats those apart).
    has_empty: bool,
}

/// Cuts text at control tokens and remembers segment encodings, within a fixed budget.
pub(super) struct SegmentEncoder {
    /// All unnormalized added tokens, matched as the tokenizer matches them.
    matcher: Option<AhoCorasick>,
    /// For each pattern: the token id to emit when the text may be cut there, else `None`.
    cut_ids: Vec<Option<u32>>,
    shards: Vec<Mutex<Shard>>,
    hasher: QuickBuild,
    /// The exact fast path for ASCII text, when the tokenizer is one it reproduces and every added
    /// token is cut here (so none is left inside a segment).
    fast: Option<FastBpe>,
}

#[derive(Default)]
struct Shard {
    map: HashMap<Box<str>, Arc<Encoded>, QuickBuild>,
    tokens: usize,
}

/// Cached tokens per shard before the shard is emptied: 16 shards × 64k tokens (ids, offsets and
/// text, about 16 bytes a token) keep the cache near 16 MB at most, whatever the input size. That
/// holds an agent's shared prompts and a record's history (per-turn rows reuse it right away);
/// four times as much made no measurable difference to speed and added ~40 MB of peak memory.
const SHARD_BUDGET: usize = 64 * 1024;
const SHARDS: usize = 16;

impl SegmentEncoder {
    /// `fast`: the fast path the tokenizer's `tokenizer.json` allows, if any.
    pub(super) fn new(tokenizer: &tokenizers::Tokenizer, fast: Option<FastBpe>) -> SegmentEncoder {
        let mut patterns = Vec::new();
        let mut cut_ids = Vec::new();
        let mut added: Vec<(u32, tokenizers::AddedToken)> = tokenizer.get_added_tokens_decoder().into_iter().collect();
        added.sort_by_key(|(id, _)| *id);
        // The fast path needs every added token cut out before it sees the text.
        let mut all_cut = true;
        for (id, token) in added {
            if token.normalized || token.content.is_empty() {
                all_cut = false;
                continue;
            }
            // Special or not, an added token is split off whole by the tokenizer (the same rule for
            // both, unless special tokens are encoded as text, which this encoder is never used for).
            let clean = !token.lstrip && !token.rstrip && !token.single_word;
            all_cut &= clean && !token.content.bytes().any(|b| b.is_ascii_digit() || b == b'\n');
            patterns.push(token.content);
            cut_ids.push(clean.then_some(id));
        }
        let matcher = (!patterns.is_empty())
            .then(|| AhoCorasick::builder().match_kind(MatchKind::LeftmostLongest).build(&patterns).ok())
            .flatten();
        SegmentEncoder {
            matcher,
            cut_ids,
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            hasher: Default::default(),
            fast: fast.filter(|_| all_cut),
        }
    }

    /// A cache only: for text that is never cut (ordinary text has no control tokens).
    pub(super) fn uncut() -> SegmentEncoder {
        SegmentEncoder {
            matcher: None,
            cut_ids: Vec::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            hasher: Default::default(),
            fast: None,
        }
    }

    pub(super) fn has_fast_path(&self) -> bool {
        self.fast.is_some()
    }

    /// Encode `text` segment by segment; equal to `tokenizer.encode(text, false)`.
    pub(super) fn encode(&self, tokenizer: &tokenizers::Tokenizer, text: &str) -> Result<Tokens, TokenizeError> {
        let mut tokens =
            Tokens { ids: Vec::with_capacity(text.len() / 3), offsets: Vec::with_capacity(text.len() / 3) };
        self.encode_into(tokenizer, text, 0, &mut tokens)?;
        Ok(tokens)
    }

    /// Send the encoding of `text` (which starts at byte `base` of the whole text) to `sink`.
    pub(super) fn encode_into(
        &self,
        tokenizer: &tokenizers::Tokenizer,
        text: &str,
        base: usize,
        sink: &mut impl TokenSink,
    ) -> Result<(), TokenizeError> {
        let mut at = 0;
        if let Some(matcher) = &self.matcher {
            for m in matcher.find_iter(text) {
                let Some(id) = self.cut_ids[m.pattern().as_usize()] else { continue };
                self.segment(tokenizer, &text[at..m.start()], base + at, sink)?;
                sink.token(id, base + m.start(), base + m.end());
                at = m.end();
            }
        }
        self.segment(tokenizer, &text[at..], base + at, sink)
    }

    fn segment(
        &self,
        tokenizer: &tokenizers::Tokenizer,
        piece: &str,
        start: usize,
        sink: &mut impl TokenSink,
    ) -> Result<(), TokenizeError> {
        if piece.is_empty() {
            return Ok(());
        }
        let encoded = self.lookup(tokenizer, piece)?;
        sink.segment(&encoded.ids, &encoded.offsets, start..start + piece.len(), encoded.has_empty);
        Ok(())
    }

    fn lookup(&self, tokenizer: &tokenizers::Tokenizer, piece: &str) -> Result<Arc<Encoded>, TokenizeError> {
        // Bits the shard's own map does not use for its buckets.
        let shard = &self.shards[((self.hasher.hash_one(piece) >> 32) as usize) % SHARDS];
        if let Some(hit) = shard.lock().expect("segment cache lock").map.get(piece) {
            return Ok(hit.clone());
        }
        let encoded = Arc::new(self.encode_piece(tokenizer, piece)?);
        let mut shard = shard.lock().expect("segment cache lock");
        if shard.tokens + encoded.ids.len() > SHARD_BUDGET {
            // Bounded memory: start the shard afresh rather than track recency.
            shard.map.clear();
            shard.tokens = 0;
        }
        shard.tokens += encoded.ids.len();
        shard.map.insert(piece.into(), encoded.clone());
        Ok(encoded)
    }

    /// One segment's encoding: ASCII runs by the fast path when there is one, the rest (and
    /// everything without it) by the tokenizer.
    fn encode_piece(&self, tokenizer: &tokenizers::Tokenizer, piece: &str) -> Result<Encoded, TokenizeError> {
        let (mut ids, mut offsets) = (Vec::with_capacity(piece.len() / 3), Vec::with_capacity(piece.len() / 3));
        let slow = |range: std::ops::Range<usize>, ids: &mut Vec<u32>, offsets: &mut Vec<(u32, u32)>| {
            let e = tokenizer.encode(&piece[range.clone()], false).map_err(|e| TokenizeError::Encode(e.to_string()))?;
            ids.extend_from_slice(e.get_ids());
            let base = range.start as u32;
            offsets.extend(e.get_offsets().iter().map(|&(s, t)| (base + s as u32, base + t as u32)));
            Ok::<(), TokenizeError>(())
        };
        let bytes = piece.as_bytes();
        match &self.fast {
            None => slow(0..piece.len(), &mut ids, &mut offsets)?,
            Some(fast) if bytes.is_ascii() => fast.encode_ascii(bytes, 0, &mut ids, &mut offsets),
            Some(fast) => {
                // Runs between cut points, consecutive runs of the same kind taken together.
                let mut group = 0..0;
                let mut group_ascii = true;
                for cut in cut_points(bytes).chain(std::iter::once(bytes.len())) {
                    let ascii = bytes[group.end..cut].is_ascii();
                    if ascii != group_ascii && !group.is_empty() {
                        match group_ascii {
                            true => fast.encode_ascii(&bytes[group.clone()], group.start, &mut ids, &mut offsets),
                            false => slow(group.clone(), &mut ids, &mut offsets)?,
                        }
                        group = group.end..group.end;
                    }
                    group_ascii = ascii;
                    group.end = cut;
                }
                match group_ascii {
                    true => fast.encode_ascii(&bytes[group.clone()], group.start, &mut ids, &mut offsets),
                    false => slow(group, &mut ids, &mut offsets)?,
                }
            }
        }
        let has_empty = offsets.iter().any(|&(s, e)| s == e);
        Ok(Encoded { ids: ids.into(), offsets: offsets.into(), has_empty })
    }
}
