//! Turning command-line flags into the library's settings ([`trajkit::settings`], which builds the
//! converter, resolves template, tokenizer and date, and reads the tools file for the Python
//! package too). The record loop itself is the library's
//! [`trajkit::batch`]; this module depends on `cli`, never the other way round.

use anyhow::Result;

use crate::cli::{
    AdpImagesArg, AdpThoughtArg, EmptyThinkArg, ExpandArg, HarmonyFlags, InputFlags, InputFormatArg, OutputFlags,
    ReasoningArg, ReasoningEffortArg, RenderFlags,
};
use trajkit::eval::task::GoldSet;
use trajkit::eval::SchemaCache;
use trajkit::ingest::{AdpImages, AdpOptions, AdpThought, IngestOptions, InputFormat};
use trajkit::pipeline::{Converter, Expand, Validation};
use trajkit::render::{Date, HarmonyOptions, ReasoningEffort, ReasoningPolicy};
use trajkit::settings::{ConvertSettings, InputSettings, OutputSettings, Resolved};
use trajkit::source::RawRecord;
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
    Ok(trajkit::settings::date(flag)?)
}

/// `--template` with `--template-name`, `--tokenizer` and `--date`, resolved the same way for every
/// command ([`trajkit::settings::resolve`]).
pub fn resolve(
    template: &str,
    variant: Option<&str>,
    tokenizer: Option<&str>,
    date_flag: Option<&str>,
) -> Result<Resolved> {
    Ok(trajkit::settings::resolve(template, variant, tokenizer, date_flag)?)
}

/// Build the converter the flags describe. `with_tokenizer` is false when nothing needs tokens.
pub fn converter(flags: &RenderFlags, with_tokenizer: bool) -> Result<Converter> {
    Ok(convert_settings(flags).converter(with_tokenizer)?)
}

/// The render flags as the library's settings (the Python package fills the same struct).
pub fn convert_settings(flags: &RenderFlags) -> ConvertSettings {
    ConvertSettings {
        template: flags.template.clone(),
        template_name: flags.template_name.clone(),
        tokenizer: flags.tokenizer.clone(),
        date: flags.date.clone(),
        input: input_settings(&flags.input),
        reasoning: match flags.reasoning {
            ReasoningArg::Train => ReasoningPolicy::Train,
            ReasoningArg::Context => ReasoningPolicy::Context,
            ReasoningArg::Drop => ReasoningPolicy::Drop,
        },
        train_empty_think: matches!(flags.empty_think, EmptyThinkArg::Train),
        expand: match flags.expand {
            ExpandArg::Conversation => Expand::Conversation,
            ExpandArg::PerTurn => Expand::PerTurn,
        },
        harmony: harmony_options(&flags.harmony),
    }
}

/// `convert --validate [--mask-bad-steps]`: validate's checks as the step between ingest and render.
/// The `--tools` file's own findings are printed once here.
pub fn validation(ingest: &IngestOptions, mask_bad_steps: bool) -> Validation {
    let (validator, tool_findings) = Validator::new(ingest.clone(), None);
    for finding in &tool_findings {
        eprintln!("{}: --tools {}", finding.severity, finding.labelled());
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
pub fn input_settings(flags: &InputFlags) -> InputSettings {
    InputSettings {
        options: IngestOptions {
            format: flags.input_format.map(|f| match f {
                InputFormatArg::Raw => InputFormat::Raw,
                InputFormatArg::Messages => InputFormat::Messages,
                InputFormatArg::Sharegpt => InputFormat::ShareGpt,
                InputFormatArg::Adp => InputFormat::Adp,
            }),
            default_tools: None,
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
        },
        tools: flags.tools.clone(),
    }
}

/// [`input_settings`] with the `--tools` file read.
pub fn ingest_options(flags: &InputFlags) -> Result<IngestOptions> {
    Ok(input_settings(flags).ingest_options()?)
}

/// The output flags of eval and score as the library's settings.
pub fn output_settings(flags: &OutputFlags) -> OutputSettings {
    OutputSettings {
        template: flags.template.clone(),
        parser: flags.parser.clone(),
        tokenizer: flags.tokenizer.clone(),
        date: flags.date.clone(),
    }
}

/// How many problem lines to print before only counting them.
pub(crate) const SHOWN: usize = 20;

/// Read the gold file, printing what could not be read.
pub(crate) fn read_gold(path: &str, cache: &SchemaCache) -> Result<GoldSet> {
    let gold = trajkit::settings::read_gold(path, cache)?;
    for p in gold.problems.iter().take(SHOWN) {
        eprintln!("warning: gold {p}");
    }
    if gold.problems.len() > SHOWN {
        eprintln!("warning: … and {} more gold records that could not be read", gold.problems.len() - SHOWN);
    }
    Ok(gold)
}
