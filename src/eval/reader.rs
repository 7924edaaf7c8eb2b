//! How model outputs are read: the parser of a template's format, and the tokenizer for outputs
//! given as token ids (loaded on first use: text outputs never need it). Made from a user's
//! settings by [`crate::settings::OutputSettings::reader`].

use std::sync::OnceLock;

use super::prediction;
use crate::completion::{Format, ParseError};
use crate::conversation::Message;
use crate::render::{ChatTemplate, RenderOptions};
use crate::tokenize::{TextTokenizer, TokenizerSource};

pub struct OutputReader {
    pub format: Format,
    pub template: ChatTemplate,
    pub render: RenderOptions,
    tokenizer_source: Option<TokenizerSource>,
    tokenizer: OnceLock<Result<TextTokenizer, String>>,
}

impl OutputReader {
    pub fn new(
        format: Format,
        template: ChatTemplate,
        render: RenderOptions,
        tokenizer_source: Option<TokenizerSource>,
    ) -> OutputReader {
        OutputReader { format, template, render, tokenizer_source, tokenizer: OnceLock::new() }
    }

    pub fn tokenizer(&self) -> Result<&TextTokenizer, String> {
        self.tokenizer
            .get_or_init(|| match &self.tokenizer_source {
                Some(source) => TextTokenizer::load(source).map_err(|e| e.to_string()),
                None => Err("outputs given as token ids need a tokenizer: pass --tokenizer".into()),
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Parse one output; `Err` when it cannot even be attempted (ids without a tokenizer).
    pub fn parse(&self, output: &prediction::Output) -> Result<Result<Message, ParseError>, String> {
        output.parse(self.format, || self.tokenizer())
    }
}
