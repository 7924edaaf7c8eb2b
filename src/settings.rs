//! Settings → pipeline objects: the one place where what a user asked for (a template name, a
//! tokenizer, a date, a tools file, the choice of reasoning policy …) becomes a [`Converter`], an
//! [`IngestOptions`] or an output [`Reader`].
//!
//! Both front ends go through it: the binary maps its flags into these structs, the Python package
//! its keyword arguments, so the two cannot build different converters from the same settings.
//! Error messages name the CLI's flags (`--tools PATH: not JSON`), which is what the binary has
//! always printed; the Python package shows the same text.

use std::sync::Arc;

use serde_json::Value;

use crate::completion::Format;
use crate::conversation::normalize_tool;
use crate::emit::EmitKind;
use crate::eval::task::GoldSet;
use crate::eval::{OutputReader, SchemaCache, Weights};
use crate::ingest::{AdpImages, AdpThought, CodeTool, IngestOptions, InputFormat};
use crate::pipeline::{Converter, Expand, Truncate};
use crate::render::load::{self, LoadError};
use crate::render::{ChatTemplate, Date, HarmonyOptions, ReasoningEffort, ReasoningPolicy, RenderOptions};
use crate::tokenize::{TextTokenizer, TokenizeError, TokenizerSource};

/// Why settings could not be turned into pipeline objects.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("--date {0}: expected YYYY-MM-DD")]
    Date(String),
    #[error(transparent)]
    Template(#[from] LoadError),
    #[error("--template {0}: no tokenizer.json next to the template; pass --tokenizer PATH")]
    NoTokenizer(String),
    #[error(transparent)]
    Tokenizer(#[from] TokenizeError),
    /// A file setting (`--tools`, `--weights`) that cannot be read.
    #[error("--{flag} {path}")]
    Read {
        flag: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("--{flag} {path}: not JSON")]
    NotJson {
        flag: &'static str,
        path: String,
        #[source]
        source: serde_json::Error,
    },
    /// `object`: the file is an object without a `custom_tools` array.
    #[error("--tools {path}: expected a JSON array of tool schemas{}", if *object { " (or an object with `custom_tools`)" } else { "" })]
    ToolsNotArray { path: String, object: bool },
    #[error("--weights {path}: {message}")]
    Weights { path: String, message: String },
    #[error("cannot read {path}")]
    GoldRead {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}: no assistant turns to evaluate")]
    NoGoldTasks(String),
    #[error("--parser {0}: expected qwen3, chatml, harmony or hermes")]
    Parser(String),
    /// A named choice that is none of the choices (the CLI's flags cannot give one; Python can).
    #[error("{setting}={value:?}: expected one of {choices}")]
    Choice { setting: &'static str, value: String, choices: String },
}

/// An error with its causes, `outer: inner: …`, as the binary prints errors (anyhow's `{:#}`), for
/// errors that travel on as text.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A setting with named values (`--reasoning train|context|drop` …), for front ends that take
/// them as strings.
pub trait Choice: Sized + Copy + 'static {
    /// The setting's name, as keyword arguments spell it.
    const SETTING: &'static str;
    /// Each name with its value; the first name of a value is its canonical one.
    const CHOICES: &'static [(&'static str, Self)];
}

/// A choice by name; the error lists the names.
pub fn parse<T: Choice>(value: &str) -> Result<T, SettingsError> {
    T::CHOICES.iter().find(|(name, _)| *name == value).map(|(_, v)| *v).ok_or_else(|| SettingsError::Choice {
        setting: T::SETTING,
        value: value.to_string(),
        choices: T::CHOICES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
    })
}

impl Choice for ReasoningPolicy {
    const SETTING: &'static str = "reasoning";
    const CHOICES: &'static [(&'static str, Self)] =
        &[("train", ReasoningPolicy::Train), ("context", ReasoningPolicy::Context), ("drop", ReasoningPolicy::Drop)];
}

impl Choice for Expand {
    const SETTING: &'static str = "expand";
    const CHOICES: &'static [(&'static str, Self)] =
        &[("conversation", Expand::Conversation), ("per-turn", Expand::PerTurn), ("per_turn", Expand::PerTurn)];
}

impl Choice for ReasoningEffort {
    const SETTING: &'static str = "reasoning_effort";
    const CHOICES: &'static [(&'static str, Self)] =
        &[("low", ReasoningEffort::Low), ("medium", ReasoningEffort::Medium), ("high", ReasoningEffort::High)];
}

impl Choice for EmitKind {
    const SETTING: &'static str = "emit";
    const CHOICES: &'static [(&'static str, Self)] =
        &[("tokens", EmitKind::Tokens), ("messages", EmitKind::Messages), ("text", EmitKind::Text)];
}

impl Choice for Truncate {
    const SETTING: &'static str = "truncate";
    const CHOICES: &'static [(&'static str, Self)] = &[("drop", Truncate::Drop), ("turns", Truncate::Turns)];
}

impl Choice for AdpThought {
    const SETTING: &'static str = "adp_thought";
    const CHOICES: &'static [(&'static str, Self)] =
        &[("reasoning", AdpThought::Reasoning), ("content", AdpThought::Content), ("drop", AdpThought::Drop)];
}

impl Choice for AdpImages {
    const SETTING: &'static str = "adp_images";
    const CHOICES: &'static [(&'static str, Self)] = &[("refuse", AdpImages::Refuse), ("drop", AdpImages::Drop)];
}

/// `--adp-code-tool LANG=TOOL[:ARG]`.
pub fn parse_code_tool(spec: &str) -> Result<CodeTool, SettingsError> {
    CodeTool::parse(spec).ok_or_else(|| SettingsError::Choice {
        setting: "adp_code_tool",
        value: spec.to_string(),
        choices: "LANG=TOOL, LANG=TOOL:ARGUMENT".into(),
    })
}

/// `--empty-think train|context`: whether the empty think block is trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrainEmptyThink(pub bool);

impl Choice for TrainEmptyThink {
    const SETTING: &'static str = "empty_think";
    const CHOICES: &'static [(&'static str, Self)] =
        &[("train", TrainEmptyThink(true)), ("context", TrainEmptyThink(false))];
}

/// `--input-format`: read by [`InputFormat::parse`] (which also knows the formats' other names).
pub fn parse_input_format(value: &str) -> Result<InputFormat, SettingsError> {
    InputFormat::parse(value).ok_or_else(|| SettingsError::Choice {
        setting: "input_format",
        value: value.to_string(),
        choices: "raw, messages, sharegpt, adp".into(),
    })
}

/// `--date`: the date templates see through strftime_now; today when absent.
pub fn date(setting: Option<&str>) -> Result<Date, SettingsError> {
    match setting {
        Some(d) => Date::parse(d).ok_or_else(|| SettingsError::Date(d.to_string())),
        None => Ok(Date::today()),
    }
}

/// A template with the tokenizer that goes with it (`tokenizer` when given, else the template's
/// own) and the date, resolved the same way for every command.
pub struct Resolved {
    pub template: ChatTemplate,
    pub tokenizer: Option<TokenizerSource>,
    pub date: Date,
    spec: String,
}

/// Resolve a template spec with its variant (`--template-name`), tokenizer and date: the template
/// sees the tokenizer's special tokens.
pub fn resolve(
    template: &str,
    variant: Option<&str>,
    tokenizer: Option<&str>,
    date_setting: Option<&str>,
) -> Result<Resolved, SettingsError> {
    let date = date(date_setting)?;
    let loaded = load::load_with(template, load::LoadOptions { variant, tokenizer, date })?;
    let tokenizer = match tokenizer {
        Some(spec) => Some(TokenizerSource::parse(spec)),
        None => loaded.tokenizer,
    };
    Ok(Resolved { template: loaded.template, tokenizer, date, spec: template.to_string() })
}

impl Resolved {
    /// Load the tokenizer; an error when the template has none and none was given.
    pub fn load_tokenizer(&self) -> Result<TextTokenizer, SettingsError> {
        match &self.tokenizer {
            Some(source) => Ok(TextTokenizer::load(source)?),
            None => Err(SettingsError::NoTokenizer(self.spec.clone())),
        }
    }
}

/// How records are read: everything in [`IngestOptions`] but the default tools, which come from
/// the `tools` file.
#[derive(Debug, Clone, Default)]
pub struct InputSettings {
    /// Format, trailing users …; its `default_tools` are replaced by those of `tools`.
    pub options: IngestOptions,
    /// `--tools`: a JSON file of tool schemas for records that carry none.
    pub tools: Option<String>,
}

impl InputSettings {
    pub fn ingest_options(&self) -> Result<IngestOptions, SettingsError> {
        let default_tools = self.read_tools()?.map(|tools| Arc::new(tools.into_iter().map(normalize_tool).collect()));
        Ok(IngestOptions { default_tools, ..self.options.clone() })
    }

    /// The `tools` file as written (validate checks the schemas themselves).
    pub fn read_tools(&self) -> Result<Option<Vec<Value>>, SettingsError> {
        self.tools.as_deref().map(read_tools).transpose()
    }
}

/// A `--tools` file: a JSON array of tool schemas, or an object holding one under `custom_tools`
/// (an ADP dataset's `metadata.json`).
pub fn read_tools(path: &str) -> Result<Vec<Value>, SettingsError> {
    match read_json("tools", path)? {
        Value::Array(items) => Ok(items),
        Value::Object(mut map) => match map.remove("custom_tools") {
            Some(Value::Array(items)) => Ok(items),
            _ => Err(SettingsError::ToolsNotArray { path: path.to_string(), object: true }),
        },
        _ => Err(SettingsError::ToolsNotArray { path: path.to_string(), object: false }),
    }
}

/// A `--weights` file: reward weights overriding the defaults.
pub fn read_weights(path: &str) -> Result<Weights, SettingsError> {
    Weights::from_json(&read_json("weights", path)?)
        .map_err(|message| SettingsError::Weights { path: path.to_string(), message })
}

/// A `--gold` file of trajectories, each assistant turn a task; refused when it holds none (the
/// records it could not read are in `problems`, for the caller to report).
pub fn read_gold(path: &str, cache: &SchemaCache) -> Result<GoldSet, SettingsError> {
    let gold = GoldSet::read(path, &IngestOptions::default(), cache)
        .map_err(|source| SettingsError::GoldRead { path: path.to_string(), source })?;
    if gold.tasks.is_empty() {
        return Err(SettingsError::NoGoldTasks(path.to_string()));
    }
    Ok(gold)
}

fn read_json(flag: &'static str, path: &str) -> Result<Value, SettingsError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| SettingsError::Read { flag, path: path.to_string(), source })?;
    serde_json::from_str(&text).map_err(|source| SettingsError::NotJson { flag, path: path.to_string(), source })
}

/// The settings of `trajkit convert` (and of every command that converts): what a [`Converter`]
/// is built from.
#[derive(Debug, Clone)]
pub struct ConvertSettings {
    /// Built-in name, path, or Hugging Face name.
    pub template: String,
    /// `--template-name`: one of a model's named templates.
    pub template_name: Option<String>,
    pub tokenizer: Option<String>,
    /// YYYY-MM-DD; today when absent.
    pub date: Option<String>,
    pub input: InputSettings,
    pub reasoning: ReasoningPolicy,
    pub train_empty_think: bool,
    pub expand: Expand,
    pub harmony: HarmonyOptions,
}

impl Default for ConvertSettings {
    /// The CLI's defaults.
    fn default() -> Self {
        ConvertSettings {
            template: "qwen3".into(),
            template_name: None,
            tokenizer: None,
            date: None,
            input: InputSettings::default(),
            reasoning: ReasoningPolicy::Train,
            train_empty_think: true,
            expand: Expand::Conversation,
            harmony: HarmonyOptions::default(),
        }
    }
}

impl ConvertSettings {
    pub fn resolve(&self) -> Result<Resolved, SettingsError> {
        resolve(&self.template, self.template_name.as_deref(), self.tokenizer.as_deref(), self.date.as_deref())
    }

    /// The converter; `with_tokenizer` is false when nothing needs tokens.
    pub fn converter(&self, with_tokenizer: bool) -> Result<Converter, SettingsError> {
        let resolved = self.resolve()?;
        let tokenizer = if with_tokenizer { Some(resolved.load_tokenizer()?) } else { None };
        Ok(Converter {
            template: resolved.template,
            tokenizer,
            ingest: self.input.ingest_options()?,
            render: RenderOptions {
                reasoning: self.reasoning,
                train_empty_think: self.train_empty_think,
                date: resolved.date,
                harmony: self.harmony.clone(),
            },
            expand: self.expand,
            validation: None,
        })
    }
}

/// How model outputs are read (eval, score): the template they were generated with, a parser
/// other than the template's, the tokenizer for outputs given as ids, the date for prompts.
#[derive(Debug, Clone)]
pub struct OutputSettings {
    pub template: String,
    pub parser: Option<String>,
    pub tokenizer: Option<String>,
    pub date: Option<String>,
}

impl Default for OutputSettings {
    fn default() -> Self {
        OutputSettings { template: "qwen3".into(), parser: None, tokenizer: None, date: None }
    }
}

impl OutputSettings {
    /// The reader of model outputs these settings describe.
    pub fn reader(&self) -> Result<OutputReader, SettingsError> {
        let format = match &self.parser {
            Some(name) => Format::parse(name).ok_or_else(|| SettingsError::Parser(name.clone()))?,
            None => Format::for_template(&self.template),
        };
        let resolved = resolve(&self.template, None, self.tokenizer.as_deref(), self.date.as_deref())?;
        let render = RenderOptions { date: resolved.date, ..Default::default() };
        Ok(OutputReader::new(format, resolved.template, render, resolved.tokenizer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_parse_by_name_and_list_the_names_when_wrong() {
        assert_eq!(parse::<ReasoningPolicy>("context").unwrap(), ReasoningPolicy::Context);
        assert_eq!(parse::<Expand>("per_turn").unwrap(), Expand::PerTurn);
        assert_eq!(parse::<TrainEmptyThink>("context").unwrap(), TrainEmptyThink(false));
        let e = parse::<ReasoningEffort>("max").unwrap_err().to_string();
        assert_eq!(e, r#"reasoning_effort="max": expected one of low, medium, high"#);
        assert!(parse_input_format("csv").unwrap_err().to_string().contains("raw, messages, sharegpt, adp"));
    }

    #[test]
    fn file_settings_name_their_flag() {
        let e = read_tools("/nonexistent/tools.json").unwrap_err();
        assert!(e.to_string().starts_with("--tools /nonexistent/tools.json"));
        assert!(std::error::Error::source(&e).is_some(), "the io error stays in the chain");
        assert_eq!(date(Some("2026-13-01")).unwrap_err().to_string(), "--date 2026-13-01: expected YYYY-MM-DD");
    }
}
