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

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};

use aho_corasick::{AhoCorasick, MatchKind};

use super::{TokenizeError, Tokens};

/// A segment's encoding, offsets relative to the segment start.
struct Encoded {
    ids: Box<[u32]>,
    offsets: Box<[(u32, u32)]>,
}

/// Cuts text at control tokens and remembers segment encodings, within a fixed budget.
pub(super) struct SegmentEncoder {
    /// All unnormalized added tokens, matched as the tokenizer matches them.
    matcher: Option<AhoCorasick>,
    /// For each pattern: the token id to emit when the text may be cut there, else `None`.
    cut_ids: Vec<Option<u32>>,
    shards: Vec<Mutex<Shard>>,
    hasher: std::collections::hash_map::RandomState,
}

#[derive(Default)]
struct Shard {
    map: HashMap<Box<str>, Arc<Encoded>>,
    tokens: usize,
}

/// Cached tokens per shard before the shard is emptied: 16 shards × 256k tokens keep the cache
/// near 50 MB at most, whatever the input size.
const SHARD_BUDGET: usize = 256 * 1024;
const SHARDS: usize = 16;

impl SegmentEncoder {
    pub(super) fn new(tokenizer: &tokenizers::Tokenizer) -> SegmentEncoder {
        let mut patterns = Vec::new();
        let mut cut_ids = Vec::new();
        let mut added: Vec<(u32, tokenizers::AddedToken)> = tokenizer.get_added_tokens_decoder().into_iter().collect();
        added.sort_by_key(|(id, _)| *id);
        for (id, token) in added {
            if token.normalized || token.content.is_empty() {
                continue;
            }
            let clean = token.special && !token.lstrip && !token.rstrip && !token.single_word;
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
        }
    }

    /// A cache only: for text that is never cut (ordinary text has no control tokens).
    pub(super) fn uncut() -> SegmentEncoder {
        SegmentEncoder {
            matcher: None,
            cut_ids: Vec::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            hasher: Default::default(),
        }
    }

    /// Encode `text` segment by segment; equal to `tokenizer.encode(text, false)`.
    pub(super) fn encode(&self, tokenizer: &tokenizers::Tokenizer, text: &str) -> Result<Tokens, TokenizeError> {
        let mut tokens = Tokens { ids: Vec::with_capacity(text.len() / 3), offsets: Vec::with_capacity(text.len() / 3) };
        self.encode_into(tokenizer, text, 0, &mut tokens)?;
        Ok(tokens)
    }

    /// Append the encoding of `text` (which starts at byte `base` of the whole text) to `tokens`.
    pub(super) fn encode_into(
        &self,
        tokenizer: &tokenizers::Tokenizer,
        text: &str,
        base: usize,
        tokens: &mut Tokens,
    ) -> Result<(), TokenizeError> {
        let mut at = 0;
        if let Some(matcher) = &self.matcher {
            for m in matcher.find_iter(text) {
                let Some(id) = self.cut_ids[m.pattern().as_usize()] else { continue };
                self.segment(tokenizer, &text[at..m.start()], base + at, tokens)?;
                tokens.ids.push(id);
                tokens.offsets.push((base + m.start(), base + m.end()));
                at = m.end();
            }
        }
        self.segment(tokenizer, &text[at..], base + at, tokens)
    }

    fn segment(
        &self,
        tokenizer: &tokenizers::Tokenizer,
        piece: &str,
        start: usize,
        tokens: &mut Tokens,
    ) -> Result<(), TokenizeError> {
        if piece.is_empty() {
            return Ok(());
        }
        let encoded = self.lookup(tokenizer, piece)?;
        tokens.ids.extend_from_slice(&encoded.ids);
        tokens.offsets.extend(encoded.offsets.iter().map(|&(s, e)| (start + s as usize, start + e as usize)));
        Ok(())
    }

    fn lookup(&self, tokenizer: &tokenizers::Tokenizer, piece: &str) -> Result<Arc<Encoded>, TokenizeError> {
        let mut h = self.hasher.build_hasher();
        piece.hash(&mut h);
        let shard = &self.shards[(h.finish() as usize) % SHARDS];
        if let Some(hit) = shard.lock().expect("segment cache lock").map.get(piece) {
            return Ok(hit.clone());
        }
        let e = tokenizer.encode(piece, false).map_err(|e| TokenizeError::Encode(e.to_string()))?;
        let encoded = Arc::new(Encoded {
            ids: e.get_ids().into(),
            offsets: e.get_offsets().iter().map(|&(s, t)| (s as u32, t as u32)).collect(),
        });
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
}
