//! An exact fast path for the byte-level BPE tokenizers of the Qwen2/Qwen3 family, on ASCII text.
//!
//! A Hugging Face tokenizer spends most of its time on bookkeeping (a `NormalizedString` with an
//! alignment per byte, the Oniguruma regex, a `String` per token), not on BPE. For the text between
//! added tokens it does four things: NFC (the identity on ASCII), a split by one fixed regex, the
//! byte-to-character mapping of ByteLevel, and BPE on each piece. This module does the same four
//! things directly on bytes, for ASCII text only, and only when the tokenizer's configuration is
//! exactly that pipeline (checked when it is loaded). Everything else, and any run of text with a
//! non-ASCII character in it, still goes through the tokenizers crate.
//!
//! Text is cut into runs where the regex always ends a piece whatever follows and whatever came
//! before (around ASCII digits, after a newline followed by a visible character), so a non-ASCII
//! character only sends its own run to the slow path. The regex split is written out by hand as the
//! Oniguruma leftmost-first alternation of the pattern below; BPE replays the tokenizers crate's
//! merge loop (lowest rank first, then leftmost; stale queue entries checked the same way).
//! Tests compare both paths on tricky text, every ASCII character, and rendered conversations.

use std::cell::RefCell;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Deserialize;
use serde_json::Value as Json;

/// The pre-tokenizer regex of Qwen2, Qwen2.5 and Qwen3 (and others that copied it).
const PATTERN: &str =
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Words longer than this are not cached (they are rare, and the cache stays small).
const CACHED_WORD: usize = 64;
/// Words cached per thread before the cache starts afresh.
const CACHE_WORDS: usize = 1 << 17;

/// A small multiplicative hasher for short keys (the std SipHash costs more than the BPE lookup).
#[derive(Default, Clone, Copy)]
pub(super) struct QuickHasher(u64);

impl Hasher for QuickHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last) ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        // Final avalanche so that the low bits (the bucket index) depend on every input bit.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h
    }
}

impl QuickHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

pub(super) type QuickBuild = BuildHasherDefault<QuickHasher>;

/// BPE tables for bytes, and the per-thread word cache key.
pub(super) struct FastBpe {
    /// The token of each single byte.
    byte_ids: [u32; 256],
    /// `(left << 32) | right` → (rank, merged token).
    merges: HashMap<u64, (u32, u32), QuickBuild>,
    /// Tells this tokenizer's cached words from another's on the same thread.
    owner: usize,
}

static OWNERS: AtomicUsize = AtomicUsize::new(1);

#[derive(Deserialize)]
struct FileModel {
    #[serde(default)]
    normalizer: Option<Json>,
    #[serde(default)]
    pre_tokenizer: Option<Json>,
    #[serde(default)]
    post_processor: Option<Json>,
    model: BpeModel,
}

#[derive(Deserialize)]
struct BpeModel {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    dropout: Option<f64>,
    #[serde(default)]
    continuing_subword_prefix: Option<String>,
    #[serde(default)]
    end_of_word_suffix: Option<String>,
    #[serde(default)]
    ignore_merges: bool,
    // `vocab` is not read: ids come from the tokenizers crate's model, which loaded the same file.
    #[serde(default)]
    merges: Vec<MergeEntry>,
}

/// A merge as tokenizer.json writes it: `"a b"` (older files) or `["a", "b"]`.
enum MergeEntry {
    Pair(String, String),
    Text(String),
}

/// By hand rather than `#[serde(untagged)]`, which buffers each of the ~150,000 entries into an
/// intermediate value before trying each form: the load is parsed once more here (the tokenizers
/// crate parses it too), so it should cost little.
impl<'de> Deserialize<'de> for MergeEntry {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entry;
        impl<'de> serde::de::Visitor<'de> for Entry {
            type Value = MergeEntry;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(r#"a merge: "a b" or ["a", "b"]"#)
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<MergeEntry, E> {
                Ok(MergeEntry::Text(text.to_owned()))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<MergeEntry, A::Error> {
                use serde::de::Error as _;
                let a = seq.next_element()?.ok_or_else(|| A::Error::invalid_length(0, &self))?;
                let b = seq.next_element()?.ok_or_else(|| A::Error::invalid_length(1, &self))?;
                if seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    return Err(A::Error::invalid_length(3, &self));
                }
                Ok(MergeEntry::Pair(a, b))
            }
        }
        deserializer.deserialize_any(Entry)
    }
}

/// The merges of a `tokenizer.json` the fast path can reproduce, read while the tokenizers crate
/// loads the same file ([`FastBpe::read`], then [`FastBpeMerges::build`] with that crate's model).
pub(super) struct FastBpeMerges(Vec<MergeEntry>);

impl FastBpe {
    /// The merges of a `tokenizer.json`, when its pipeline is exactly the one this module
    /// reproduces; `None` otherwise (the tokenizers crate then does all the work).
    pub(super) fn read(json: &[u8]) -> Option<FastBpeMerges> {
        let file: FileModel = serde_json::from_slice(json).ok()?;
        supported_pipeline(&file).then_some(FastBpeMerges(file.model.merges))
    }
}

impl FastBpeMerges {
    /// The fast path, with token ids from `model`: the tokenizers crate's model of the same file,
    /// whose vocabulary lookups are compiled optimized even in debug builds.
    pub(super) fn build(self, model: &tokenizers::models::ModelWrapper) -> Option<FastBpe> {
        use tokenizers::Model as _;
        let id = |token: &str| model.token_to_id(token);
        let unicode_of_byte = byte_level_chars();
        let mut byte_ids = [0u32; 256];
        let mut text = String::new();
        for (b, c) in unicode_of_byte.iter().enumerate() {
            text.clear();
            text.push(*c);
            byte_ids[b] = id(&text)?;
        }
        let mut merges = HashMap::with_capacity_and_hasher(self.0.len(), QuickBuild::default());
        for (rank, entry) in self.0.iter().enumerate() {
            let (a, b) = match entry {
                MergeEntry::Pair(a, b) => (a.as_str(), b.as_str()),
                MergeEntry::Text(s) => {
                    let mut parts = s.split(' ');
                    match (parts.next(), parts.next(), parts.next()) {
                        (Some(a), Some(b), None) => (a, b),
                        _ => return None,
                    }
                }
            };
            let (left, right) = (id(a)?, id(b)?);
            text.clear();
            text.push_str(a);
            text.push_str(b);
            merges.insert(pair_key(left, right), (rank as u32, id(&text)?));
        }
        Some(FastBpe { byte_ids, merges, owner: OWNERS.fetch_add(1, Ordering::Relaxed) })
    }
}

impl FastBpe {
    /// Encode ASCII `text` (no added token in it) as one stretch of text between added tokens,
    /// appending ids and offsets (shifted by `base`).
    pub(super) fn encode_ascii(&self, text: &[u8], base: usize, ids: &mut Vec<u32>, offsets: &mut Vec<(u32, u32)>) {
        debug_assert!(text.is_ascii());
        WORDS.with(|cache| {
            let mut cache = cache.borrow_mut();
            if cache.owner != self.owner || cache.map.len() > CACHE_WORDS {
                cache.map.clear();
                cache.owner = self.owner;
            }
            let mut at = 0;
            while at < text.len() {
                let end = piece_end(text, at);
                let word = &text[at..end];
                let mut start = (base + at) as u32;
                let mut push = |tokens: &[(u32, u32)]| {
                    for &(id, len) in tokens {
                        ids.push(id);
                        offsets.push((start, start + len));
                        start += len;
                    }
                };
                if let Some(hit) = cache.map.get(word) {
                    push(hit);
                } else {
                    let tokens = self.bpe(word);
                    push(&tokens);
                    if word.len() <= CACHED_WORD {
                        cache.map.insert(word.into(), tokens.into_boxed_slice());
                    }
                }
                at = end;
            }
        });
    }

    /// BPE on one piece: the tokenizers crate's loop (`Word::merge_all` without dropout): pop the
    /// queued pair of lowest (rank, position); skip it when its left symbol is gone, it is last, or
    /// the pair there now merges into another token; else merge and queue the new neighbours.
    fn bpe(&self, word: &[u8]) -> Vec<(u32, u32)> {
        struct Symbol {
            id: u32,
            len: u32,
            prev: isize,
            next: isize,
        }
        let n = word.len();
        let mut symbols: Vec<Symbol> = word
            .iter()
            .enumerate()
            .map(|(i, &b)| Symbol {
                id: self.byte_ids[b as usize],
                len: 1,
                prev: i as isize - 1,
                next: if i + 1 < n { i as isize + 1 } else { -1 },
            })
            .collect();
        let mut queue: BinaryHeap<std::cmp::Reverse<(u32, usize, u32)>> = BinaryHeap::with_capacity(n);
        for i in 0..n.saturating_sub(1) {
            if let Some(&(rank, merged)) = self.merges.get(&pair_key(symbols[i].id, symbols[i + 1].id)) {
                queue.push(std::cmp::Reverse((rank, i, merged)));
            }
        }
        while let Some(std::cmp::Reverse((_, pos, merged))) = queue.pop() {
            if symbols[pos].len == 0 || symbols[pos].next == -1 {
                continue;
            }
            let next = symbols[pos].next as usize;
            let current = self.merges.get(&pair_key(symbols[pos].id, symbols[next].id));
            if current.is_none_or(|&(_, id)| id != merged) {
                continue;
            }
            let (right_len, right_next) = (symbols[next].len, symbols[next].next);
            symbols[pos].id = merged;
            symbols[pos].len += right_len;
            symbols[pos].next = right_next;
            symbols[next].len = 0;
            if right_next > -1 && (right_next as usize) < n {
                symbols[right_next as usize].prev = pos as isize;
            }
            if symbols[pos].prev >= 0 {
                let prev = symbols[pos].prev as usize;
                if let Some(&(rank, id)) = self.merges.get(&pair_key(symbols[prev].id, merged)) {
                    queue.push(std::cmp::Reverse((rank, prev, id)));
                }
            }
            if right_next > -1 && (right_next as usize) < n {
                let after = right_next as usize;
                if let Some(&(rank, id)) = self.merges.get(&pair_key(merged, symbols[after].id)) {
                    queue.push(std::cmp::Reverse((rank, pos, id)));
                }
            }
        }
        symbols.iter().filter(|s| s.len != 0).map(|s| (s.id, s.len)).collect()
    }
}

/// A word's tokens: (id, length in bytes).
type WordTokens = Box<[(u32, u32)]>;

#[derive(Default)]
struct WordCache {
    owner: usize,
    map: HashMap<Box<[u8]>, WordTokens, QuickBuild>,
}

thread_local! {
    static WORDS: RefCell<WordCache> = RefCell::new(WordCache::default());
}

fn pair_key(left: u32, right: u32) -> u64 {
    (u64::from(left) << 32) | u64::from(right)
}

/// NFC (or nothing), the Qwen pattern split isolated, ByteLevel without prefix space or its own
/// regex, no post-processing of offsets, plain BPE.
fn supported_pipeline(file: &FileModel) -> bool {
    let normalizer = match &file.normalizer {
        None | Some(Json::Null) => true,
        Some(n) => n.get("type").and_then(Json::as_str) == Some("NFC"),
    };
    let pre = file.pre_tokenizer.as_ref().and_then(|p| {
        (p.get("type")?.as_str()? == "Sequence").then_some(())?;
        let steps = p.get("pretokenizers")?.as_array()?;
        let [split, byte_level] = steps.as_slice() else { return None };
        let split_ok = split.get("type")?.as_str()? == "Split"
            && split.get("pattern")?.get("Regex")?.as_str()? == PATTERN
            && split.get("behavior")?.as_str()? == "Isolated"
            && !split.get("invert")?.as_bool()?;
        let byte_ok = byte_level.get("type")?.as_str()? == "ByteLevel"
            && !byte_level.get("add_prefix_space")?.as_bool()?
            && !byte_level.get("use_regex").and_then(Json::as_bool).unwrap_or(true);
        (split_ok && byte_ok).then_some(())
    });
    let post = match &file.post_processor {
        None | Some(Json::Null) => true,
        Some(p) => {
            p.get("type").and_then(Json::as_str) == Some("ByteLevel")
                && !p.get("trim_offsets").and_then(Json::as_bool).unwrap_or(true)
        }
    };
    let m = &file.model;
    let model = m.kind.as_deref().is_none_or(|k| k == "BPE")
        && m.dropout.is_none_or(|d| d == 0.0)
        && m.continuing_subword_prefix.as_deref().unwrap_or("").is_empty()
        && m.end_of_word_suffix.as_deref().unwrap_or("").is_empty()
        && !m.ignore_merges;
    normalizer && pre.is_some() && post && model
}

/// GPT-2's byte-to-character table that ByteLevel uses: printable Latin-1 bytes stand for
/// themselves, the others are moved to U+0100 onwards in byte order.
fn byte_level_chars() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut shifted = 0u32;
    for b in 0..=255u8 {
        let keeps = matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
        table[b as usize] = if keeps {
            b as char
        } else {
            shifted += 1;
            char::from_u32(255 + shifted).expect("a valid code point")
        };
    }
    table
}

/// Oniguruma's `\s` on ASCII: tab, line feed, vertical tab, form feed, carriage return, space.
#[inline]
fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ')
}

#[inline]
fn is_other(b: u8) -> bool {
    !is_space(b) && !b.is_ascii_alphanumeric()
}

/// The end of the regex match starting at `at` (ASCII text; `text` ends where the stretch between
/// added tokens ends, or at a point where the regex always ends a piece).
#[inline]
fn piece_end(text: &[u8], at: usize) -> usize {
    let n = text.len();
    let c = text[at];
    let next = text.get(at + 1).copied();
    let run = |from: usize, class: fn(u8) -> bool| from + text[from..].iter().take_while(|&&b| class(b)).count();
    // (?i:'s|'t|'re|'ve|'m|'ll|'d)
    if c == b'\'' {
        if let Some(d) = next.map(|d| d.to_ascii_lowercase()) {
            if matches!(d, b's' | b't' | b'm' | b'd') {
                return at + 2;
            }
            if let Some(e) = text.get(at + 2).map(|e| e.to_ascii_lowercase()) {
                if matches!((d, e), (b'r', b'e') | (b'v', b'e') | (b'l', b'l')) {
                    return at + 3;
                }
            }
        }
    }
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if c.is_ascii_alphabetic() {
        return run(at, |b| b.is_ascii_alphabetic());
    }
    if !c.is_ascii_digit() && c != b'\r' && c != b'\n' && next.is_some_and(|d| d.is_ascii_alphabetic()) {
        return run(at + 1, |b| b.is_ascii_alphabetic());
    }
    // \p{N}
    if c.is_ascii_digit() {
        return at + 1;
    }
    // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
    let other_from = if c == b' ' && next.is_some_and(is_other) { Some(at + 1) } else { is_other(c).then_some(at) };
    if let Some(from) = other_from {
        let end = run(from, is_other);
        return run(end, |b| b == b'\r' || b == b'\n');
    }
    // c is whitespace: \s*[\r\n]+ | \s+(?!\S) | \s+
    let end = run(at, is_space);
    if let Some(last) = text[at..end].iter().rposition(|&b| b == b'\r' || b == b'\n') {
        return at + last + 1;
    }
    if end == n || end - at == 1 {
        end
    } else {
        end - 1
    }
}

/// Where `text` may be cut so that each part tokenizes as it does inside the whole: the regex
/// always ends a piece there, whatever precedes and follows, and NFC cannot join across it. Those
/// are the points on either side of an ASCII digit (a digit is always a piece of its own; on its
/// left only after a visible ASCII character, so no whitespace run is cut) and after a newline
/// followed by a visible ASCII character (a piece holding a newline ends at the last newline of
/// its whitespace run).
pub(super) fn cut_points(text: &[u8]) -> impl Iterator<Item = usize> + '_ {
    (1..text.len()).filter(move |&p| {
        let (before, after) = (text[p - 1], text[p]);
        before.is_ascii_digit()
            || (after.is_ascii_digit() && before.is_ascii_graphic())
            || (before == b'\n' && after.is_ascii_graphic())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < text.len() {
            let end = piece_end(text.as_bytes(), at);
            out.push(&text[at..end]);
            at = end;
        }
        out
    }

    #[test]
    fn pattern_pieces() {
        assert_eq!(
            pieces("Hello world's 123!!\n\n  x  "),
            ["Hello", " world", "'s", " ", "1", "2", "3", "!!\n\n", " ", " x", "  "]
        );
        assert_eq!(pieces("a  b\t\tc \n d"), ["a", " ", " b", "\t", "\tc", " \n", " d"]);
        assert_eq!(pieces("'RE'll'x {\"a\": 1}"), ["'RE", "'ll", "'x", " {\"", "a", "\":", " ", "1", "}"]);
    }

    #[test]
    fn byte_level_table_is_gpt2s() {
        let t = byte_level_chars();
        assert_eq!(t[b' ' as usize], 'Ġ');
        assert_eq!(t[b'\n' as usize], 'Ċ');
        assert_eq!(t[b'a' as usize], 'a');
        assert_eq!(t[0xAD], '\u{143}');
    }
}
