//! Turning command-line flags into pipeline settings: one resolver for template, tokenizer and
//! date, the converter, and how records are read. The record loop itself is the library's
//! [`trajkit::batch`]; this module depends on `cli`, never the other way round.

use std::sync::OnceLock;

use anyhow::{bail, Context as _, Result};

use crate::cli::{
    AdpImagesArg, AdpThoughtArg, EmptyThinkArg, ExpandArg, HarmonyFlags, InputFlags, InputFormatArg, OutputFlags,
    ReasoningArg, ReasoningEffortArg, RenderFlags,
};
use trajkit::conversation::normalize_tool;
use trajkit::eval::task::GoldSet;
use trajkit::eval::{prediction, SchemaCache};
use trajkit::ingest::{AdpImages, AdpOptions, AdpThought, IngestOptions, InputFormat};
use trajkit::parse::{Format, ParseError};
use trajkit::pipeline::{Converter, Expand, Validation};
use trajkit::render::{load, ChatTemplate, Date, HarmonyOptions, ReasoningEffort, ReasoningPolicy, RenderOptions};
use trajkit::source::RawRecord;
use trajkit::tokenize::{TextTokenizer, TokenizerSource};
use trajkit::validate::Validator;

pub use trajkit::batch::Selection;

/// [`trajkit::batch::for_each_record`] with the commands' error type.
pub fn for_each_record<T: Send>(
    inputs: &[String],
    pool: &rayon::ThreadPool,
    work: impl Fn(&RawRecord) -> T + Sync,
    sink: impl FnMut(&RawRecord, T) -> Result<bool>,
) -> Result<()> {
    trajkit::batch::for_each_record(inputs, pool, work, sink)
}

/// [`trajkit::batch::for_each_selected_record`] with the commands' error type.
pub fn for_each_selected_record<T: Send>(
    inputs: &[String],
    pool: &rayon::ThreadPool,
    selection: &Selection,
    work: impl Fn(&RawRecord) -> T + Sync,
    sink: impl FnMut(&RawRecord, T) -> Result<bool>,
) -> Result<()> {
    trajkit::batch::for_each_selected_record(inputs, pool, selection, work, sink)
}

/// `--threads`: a pool of that many workers (default: one per core).
pub fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool> {
    Ok(trajkit::batch::thread_pool(threads)?)
}

/// `--date`: the date templates see through strftime_now; today when absent.
pub fn date(flag: Option<&str>) -> Result<Date> {
    match flag {
        Some(d) => Date::parse(d).with_context(|| format!("--date {d}: expected YYYY-MM-DD")),
        None => Ok(Date::today()),
    }
}

/// `--template` with `--template-name`, `--tokenizer` and `--date`, resolved the same way for every
/// command: the template (seeing the tokenizer's special tokens), the tokenizer that goes with it
/// (`--tokenizer`, else the template's own) and the date.
pub struct Resolved {
    pub template: ChatTemplate,
    pub tokenizer: Option<TokenizerSource>,
    pub date: Date,
    spec: String,
}

pub fn resolve(
    template: &str,
    variant: Option<&str>,
    tokenizer: Option<&str>,
    date_flag: Option<&str>,
) -> Result<Resolved> {
    let date = date(date_flag)?;
    let loaded = load::load_with(template, load::LoadOptions { variant, tokenizer, date })?;
    let tokenizer = match tokenizer {
        Some(spec) => Some(TokenizerSource::parse(spec)),
        None => loaded.tokenizer,
    };
    Ok(Resolved { template: loaded.template, tokenizer, date, spec: template.to_string() })
}

impl Resolved {
    /// Load the tokenizer; an error when the template has none and `--tokenizer` was not given.
    pub fn load_tokenizer(&self) -> Result<TextTokenizer> {
        match &self.tokenizer {
            Some(source) => Ok(TextTokenizer::load(source)?),
            None => bail!("--template {}: no tokenizer.json next to the template; pass --tokenizer PATH", self.spec),
        }
    }
}

/// Build the converter the flags describe. `with_tokenizer` is false when nothing needs tokens.
pub fn converter(flags: &RenderFlags, with_tokenizer: bool) -> Result<Converter> {
    let resolved =
        resolve(&flags.template, flags.template_name.as_deref(), flags.tokenizer.as_deref(), flags.date.as_deref())?;
    let tokenizer = if with_tokenizer { Some(resolved.load_tokenizer()?) } else { None };
    Ok(Converter {
        template: resolved.template,
        tokenizer,
        ingest: ingest_options(&flags.input)?,
        render: RenderOptions {
            reasoning: match flags.reasoning {
                ReasoningArg::Train => ReasoningPolicy::Train,
                ReasoningArg::Context => ReasoningPolicy::Context,
                ReasoningArg::Drop => ReasoningPolicy::Drop,
            },
            train_empty_think: matches!(flags.empty_think, EmptyThinkArg::Train),
            date: resolved.date,
            harmony: harmony_options(&flags.harmony),
        },
        expand: match flags.expand {
            ExpandArg::Conversation => Expand::Conversation,
            ExpandArg::PerTurn => Expand::PerTurn,
        },
        validation: None,
    })
}

/// `convert --validate [--mask-bad-steps]`: validate's checks as the step between ingest and render.
/// The `--tools` file's own findings are printed once here.
pub fn validation(ingest: &IngestOptions, mask_bad_steps: bool) -> Validation {
    let (validator, tool_findings) = Validator::new(ingest.clone(), None);
    for finding in &tool_findings {
        eprintln!("{}: --tools {finding}", finding.severity);
    }
    Validation { validator, mask_bad_steps }
}

fn harmony_options(flags: &HarmonyFlags) -> HarmonyOptions {
    HarmonyOptions {
        reasoning_effort: match flags.reasoning_effort {
            ReasoningEffortArg::Low => ReasoningEffort::Low,
            ReasoningEffortArg::Medium => ReasoningEffort::Medium,
            ReasoningEffortArg::High => ReasoningEffort::High,
        },
        model_identity: flags.model_identity.clone(),
        knowledge_cutoff: flags.knowledge_cutoff.clone(),
        current_date: flags.current_date.clone(),
    }
}

/// How records are read: `--input-format`, the `--tools` file for records that carry none, and
/// whether trailing user messages stay.
pub fn ingest_options(flags: &InputFlags) -> Result<IngestOptions> {
    let default_tools = match &flags.tools {
        Some(path) => Some(std::sync::Arc::new(read_tools(path)?.into_iter().map(normalize_tool).collect())),
        None => None,
    };
    Ok(IngestOptions {
        format: flags.input_format.map(|f| match f {
            InputFormatArg::Raw => InputFormat::Raw,
            InputFormatArg::Messages => InputFormat::Messages,
            InputFormatArg::Sharegpt => InputFormat::ShareGpt,
            InputFormatArg::Adp => InputFormat::Adp,
        }),
        default_tools,
        drop_trailing_user: flags.drop_trailing_user,
        adp: AdpOptions {
            thought: match flags.adp.adp_thought {
                AdpThoughtArg::Reasoning => AdpThought::Reasoning,
                AdpThoughtArg::Content => AdpThought::Content,
                AdpThoughtArg::Drop => AdpThought::Drop,
            },
            images: match flags.adp.adp_images {
                AdpImagesArg::Refuse => AdpImages::Refuse,
                AdpImagesArg::Drop => AdpImages::Drop,
            },
            web_html: flags.adp.adp_web_html,
            code_tools: flags.adp.adp_code_tool.clone(),
        },
    })
}

/// The `--tools` file as written: a JSON array of tool schemas, or an object holding one under
/// `custom_tools` (an ADP dataset's `metadata.json`).
pub fn read_tools(path: &str) -> Result<Vec<serde_json::Value>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("--tools {path}"))?;
    let value: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("--tools {path}: not JSON"))?;
    match value {
        serde_json::Value::Array(items) => Ok(items),
        serde_json::Value::Object(mut map) => match map.remove("custom_tools") {
            Some(serde_json::Value::Array(items)) => Ok(items),
            _ => bail!("--tools {path}: expected a JSON array of tool schemas (or an object with `custom_tools`)"),
        },
        _ => bail!("--tools {path}: expected a JSON array of tool schemas"),
    }
}

/// How many problem lines to print before only counting them.
pub(crate) const SHOWN: usize = 20;

/// How model outputs are read: the parser, and the tokenizer for outputs given as ids (loaded on
/// first use: text outputs never need it).
pub(crate) struct Reader {
    pub format: Format,
    pub template: ChatTemplate,
    pub render: RenderOptions,
    tokenizer_source: Option<TokenizerSource>,
    tokenizer: OnceLock<Result<TextTokenizer, String>>,
}

impl Reader {
    pub fn new(flags: &OutputFlags) -> Result<Reader> {
        let format = match &flags.parser {
            Some(name) => Format::parse(name)
                .with_context(|| format!("--parser {name}: expected qwen3, chatml, harmony or hermes"))?,
            None => Format::for_template(&flags.template),
        };
        let resolved = resolve(&flags.template, None, flags.tokenizer.as_deref(), flags.date.as_deref())?;
        Ok(Reader {
            format,
            template: resolved.template,
            render: RenderOptions { date: resolved.date, ..Default::default() },
            tokenizer_source: resolved.tokenizer,
            tokenizer: OnceLock::new(),
        })
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
    pub fn parse(
        &self,
        output: &prediction::Output,
    ) -> Result<Result<trajkit::conversation::Message, ParseError>, String> {
        output.parse(self.format, || self.tokenizer())
    }
}

/// Read the gold file, printing what could not be read.
pub(crate) fn read_gold(path: &str, cache: &SchemaCache) -> Result<GoldSet> {
    let gold = GoldSet::read(path, &IngestOptions::default(), cache).with_context(|| format!("cannot read {path}"))?;
    for p in gold.problems.iter().take(SHOWN) {
        eprintln!("warning: gold {p}");
    }
    if gold.problems.len() > SHOWN {
        eprintln!("warning: … and {} more gold records that could not be read", gold.problems.len() - SHOWN);
    }
    if gold.tasks.is_empty() {
        bail!("{path}: no assistant turns to evaluate");
    }
    Ok(gold)
}
