//! Command-line arguments (clap types only; turning them into pipeline settings happens in
//! `commands::settings`).

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(name = "trajkit", version, about = "Agent trajectories → token-exact, loss-masked training data")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Convert trajectories (raw, messages, ShareGPT or Agent Data Protocol) into training rows.
    Convert(ConvertArgs),
    /// Print the supervised spans of training rows and lint the masks.
    CheckMask(CheckMaskArgs),
    /// One self-contained HTML page to look at a dataset before training: summary, case mix,
    /// histograms, a sample of rows token by token with the mask, validation findings.
    Report(ReportArgs),
    /// Check every record, turn and step: tools and argument schemas, call/result order, guessed
    /// arguments, ignored results, control tokens (exit 1 when there are errors).
    Validate(ValidateArgs),
    /// What a dataset is made of: cases (tool_required, clarification, …), flags, calls, tokens per
    /// row, tools, and warnings when the mix will teach the wrong habits.
    Stats(StatsArgs),
    /// Probe a chat template: what it renders (system, tools, calls, results, reasoning, parallel
    /// calls), whether it is prefix-preserving, how an assistant turn ends and whether the mask
    /// covers that.
    InspectTemplate(InspectTemplateArgs),
    /// Measure model outputs against gold trajectories: format, tool selection, arguments, no-tool,
    /// clarification and decline behaviour, grounding, answers (see docs/eval.md).
    Eval(EvalArgs),
    /// The decomposed reward of each completion, for GRPO; `--serve` answers JSONL requests on stdin.
    Score(ScoreArgs),
    /// DPO preference pairs for tool use: convert pair records, or synthesize rejected variants of
    /// good trajectories (--synthesize), in TRL's preference format (docs/pairs.md).
    Pairs(PairsArgs),
}

/// Flags shared by every command that renders conversations.
#[derive(Args, Debug, Clone)]
pub struct RenderFlags {
    /// Chat template: qwen3, chatml, harmony (GPT-OSS), a path (.jinja file, tokenizer_config.json,
    /// or model folder), or a Hugging Face name org/name[@revision] from the local cache.
    #[arg(long, short = 't', default_value = "qwen3")]
    pub template: String,
    /// Which of a model's named chat templates to use (default: `default`, and `tool_use` for
    /// rows with tools when the model has one).
    #[arg(long)]
    pub template_name: Option<String>,
    /// Tokenizer: qwen3, gpt-oss (both embedded), a tokenizer.json / model folder, or a Hugging
    /// Face name from the local cache. Default: the template's own.
    #[arg(long)]
    pub tokenizer: Option<String>,
    #[command(flatten)]
    pub input: InputFlags,
    /// Reasoning: train (supervised), context (rendered, no loss) or drop (removed).
    #[arg(long, value_enum, default_value = "train")]
    pub reasoning: ReasoningArg,
    /// The empty think block Qwen3 puts on the final turn: train it, or keep it as context.
    #[arg(long, value_enum, default_value = "train")]
    pub empty_think: EmptyThinkArg,
    /// One row per record (conversation) or one row per user turn (per-turn).
    #[arg(long, value_enum, default_value = "conversation")]
    pub expand: ExpandArg,
    /// The date templates see through strftime_now (YYYY-MM-DD); default today.
    #[arg(long)]
    pub date: Option<String>,
    /// Worker threads (default: all cores). Output is identical for any value.
    #[arg(long)]
    pub threads: Option<usize>,
    #[command(flatten)]
    pub harmony: HarmonyFlags,
}

/// How records are read, for every command that reads trajectories.
#[derive(Args, Debug, Clone)]
pub struct InputFlags {
    /// Input format; detected per record when absent.
    #[arg(long, value_enum)]
    pub input_format: Option<InputFormatArg>,
    /// JSON file with a list of tool schemas, for records that carry none.
    #[arg(long)]
    pub tools: Option<String>,
    /// Remove user messages that follow the last assistant output. By default they are kept as
    /// context (the row is what apply_chat_template gives) with a `trailing_user_turn` warning.
    #[arg(long)]
    pub drop_trailing_user: bool,
    #[command(flatten)]
    pub adp: AdpFlags,
}

const ADP: &str = "Agent Data Protocol input (docs/adp.md)";

/// How Agent Data Protocol records are read.
#[derive(Args, Debug, Clone)]
pub struct AdpFlags {
    /// Where an action's `description` (the agent's thought) goes: the message's reasoning, its
    /// content (before the text), or nowhere.
    #[arg(long, value_enum, default_value = "reasoning", help_heading = ADP)]
    pub adp_thought: AdpThoughtArg,
    /// Images (image observations, web screenshots): refuse the record, or drop them with a warning.
    #[arg(long, value_enum, default_value = "refuse", help_heading = ADP)]
    pub adp_images: AdpImagesArg,
    /// Use a web observation's HTML when it has no accessibility tree (refused otherwise).
    #[arg(long, help_heading = ADP)]
    pub adp_web_html: bool,
    /// The tool a code action calls, per language: LANG=TOOL or LANG=TOOL:ARGUMENT (repeatable).
    /// Default: bash → execute_bash(command), python → execute_ipython_cell(code), other →
    /// execute_<lang>(code).
    #[arg(long, value_name = "LANG=TOOL[:ARG]", value_parser = parse_code_tool, help_heading = ADP)]
    pub adp_code_tool: Vec<trajkit::ingest::CodeTool>,
}

fn parse_code_tool(s: &str) -> Result<trajkit::ingest::CodeTool, String> {
    trajkit::ingest::CodeTool::parse(s).ok_or_else(|| format!("`{s}`: expected LANG=TOOL or LANG=TOOL:ARGUMENT"))
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum AdpThoughtArg {
    Reasoning,
    Content,
    Drop,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum AdpImagesArg {
    Refuse,
    Drop,
}

const HARMONY: &str = "Harmony system message (--template harmony)";

/// The system message of `--template harmony` (GPT-OSS); the defaults are openai-harmony's.
#[derive(Args, Debug, Clone)]
pub struct HarmonyFlags {
    /// The `Reasoning:` line.
    #[arg(long, value_enum, default_value = "medium", help_heading = HARMONY)]
    pub reasoning_effort: ReasoningEffortArg,
    /// The first line of the system message.
    #[arg(long, default_value = "You are ChatGPT, a large language model trained by OpenAI.", help_heading = HARMONY)]
    pub model_identity: String,
    /// The `Knowledge cutoff:` line.
    #[arg(long, default_value = "2024-06", help_heading = HARMONY)]
    pub knowledge_cutoff: String,
    /// A `Current date:` line (none by default), e.g. 2025-06-28.
    #[arg(long, help_heading = HARMONY)]
    pub current_date: Option<String>,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum ReasoningEffortArg {
    Low,
    Medium,
    High,
}

#[derive(Args, Debug)]
pub struct ConvertArgs {
    /// Input files (JSONL, JSON array, or one JSON object); `-` reads stdin.
    #[arg(required = true)]
    pub inputs: Vec<String>,
    #[command(flatten)]
    pub render: RenderFlags,
    /// What to write: tokens (ids, masks, labels, messages), messages only, or rendered text.
    #[arg(long, value_enum, default_value = "tokens")]
    pub emit: EmitArg,
    /// Write here instead of stdout.
    #[arg(long, short = 'o')]
    pub output: Option<String>,
    /// Write rejected records and rows (JSONL: file, line, id, code, path, message, length of an over-long
    /// row, the original record) here.
    #[arg(long)]
    pub rejects: Option<String>,
    /// Write a JSON summary here: records read, written and rejected, rows written, warnings and rejects
    /// by code.
    #[arg(long)]
    pub report: Option<String>,
    /// Stop at the first record that cannot be converted (exit 2).
    #[arg(long)]
    pub strict: bool,
    /// Check every record as `trajkit validate` does; records with errors go to the reject report.
    #[arg(long)]
    pub validate: bool,
    /// With --validate: keep a record whose errors all sit in single assistant steps, with those
    /// steps in context but without loss.
    #[arg(long, requires = "validate")]
    pub mask_bad_steps: bool,
    /// Fail (exit 1, and -o FILE is left as it was) when more than N records, or more than P% of the
    /// records read, are rejected.
    #[arg(long, value_name = "N|P%", value_parser = MaxRejects::parse)]
    pub max_rejects: Option<MaxRejects>,
    /// Longest row, in tokens; rows over it are handled as --truncate says.
    #[arg(long, value_name = "TOKENS")]
    pub max_length: Option<usize>,
    /// Rows over --max-length: drop them (to the reject report, with their length), or drop whole turns
    /// from the start, keeping the system message and tools, until they fit.
    #[arg(long, value_enum, default_value = "drop", requires = "max_length")]
    pub truncate: TruncateArg,
    /// Output format: jsonl, or parquet (default: parquet when -o ends in .parquet, else jsonl).
    #[arg(long, value_enum)]
    pub output_format: Option<OutputFormatArg>,
    /// Take only part K of N of the input (0 <= K < N): the records whose index, counted from 0 across
    /// all inputs in order, is K modulo N. N processes with K = 0..N-1 split a corpus with no coordination.
    #[arg(long, value_name = "K/N", value_parser = trajkit::batch::Shard::parse)]
    pub shard: Option<trajkit::batch::Shard>,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormatArg {
    Jsonl,
    Parquet,
}

#[derive(Args, Debug)]
pub struct CheckMaskArgs {
    /// Convert output (rows with input_ids), or raw/messages input to convert on the fly.
    #[arg(required = true)]
    pub inputs: Vec<String>,
    #[command(flatten)]
    pub render: RenderFlags,
    /// Show the whole sequence with the supervised text highlighted.
    #[arg(long)]
    pub full: bool,
    /// Show at most N rows (all rows are still linted).
    #[arg(short = 'n', long = "rows")]
    pub rows: Option<usize>,
    /// Colour: auto (on a terminal), always, never.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorArg,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Convert output (rows with input_ids), or raw/messages input to convert on the fly.
    #[arg(required = true)]
    pub inputs: Vec<String>,
    #[command(flatten)]
    pub render: RenderFlags,
    /// Write the page here instead of stdout.
    #[arg(long, short = 'o')]
    pub output: Option<String>,
    /// Show N rows token by token, sampled with --seed; rows with a violation are always shown too.
    #[arg(short = 'n', long = "rows", default_value_t = 100)]
    pub rows: usize,
    /// Seed of the row sample.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Mark this length on the sequence-length histogram and count the rows over it.
    #[arg(long, value_name = "TOKENS")]
    pub max_length: Option<usize>,
    /// Also check every record as `trajkit validate` does and list the findings.
    #[arg(long)]
    pub validate: bool,
}

/// Flags shared by eval and score: how model outputs are read.
#[derive(Args, Debug, Clone)]
pub struct OutputFlags {
    /// Chat template the outputs were generated with: qwen3, chatml, harmony, or a path. It picks
    /// the output parser and the tokenizer for outputs given as token ids.
    #[arg(long, short = 't', default_value = "qwen3")]
    pub template: String,
    /// Output parser: qwen3, chatml, harmony, hermes. Default: the template's (hermes for paths).
    #[arg(long)]
    pub parser: Option<String>,
    /// Tokenizer for outputs given as token ids: qwen3, gpt-oss, or a tokenizer.json / model folder.
    /// Default: the template's own.
    #[arg(long)]
    pub tokenizer: Option<String>,
    /// The date templates see through strftime_now (YYYY-MM-DD), for prompts; default today.
    #[arg(long)]
    pub date: Option<String>,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Gold trajectories (raw, messages or ShareGPT records): every assistant message is a turn.
    #[arg(long)]
    pub gold: String,
    /// Model outputs, one per gold turn, keyed by record id and turn index (formats: docs/eval.md).
    #[arg(long, required_unless_present = "prompts")]
    pub pred: Option<String>,
    #[command(flatten)]
    pub output_flags: OutputFlags,
    /// Report as a table (text) or as one JSON object.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReportFormatArg,
    /// Write one JSON line per judged prediction here: id, turn, case, kind, failed checks, reward.
    #[arg(long)]
    pub details: Option<String>,
    /// Instead of evaluating, write one JSON line per gold turn with its prompt (rendered text and
    /// messages), reference and tools: the input of a generation script or a GRPO dataset.
    #[arg(long, conflicts_with = "pred")]
    pub prompts: bool,
    /// Write here instead of stdout.
    #[arg(long, short = 'o')]
    pub output: Option<String>,
}

#[derive(Args, Debug)]
pub struct ScoreArgs {
    /// Requests (JSONL: a completion plus its reference, or a gold id and turn); `-` or nothing
    /// reads stdin.
    pub input: Option<String>,
    /// Stay open: answer each request line on stdin with one JSON line, flushed at once.
    #[arg(long)]
    pub serve: bool,
    #[command(flatten)]
    pub output_flags: OutputFlags,
    /// Gold trajectories, for requests that name a turn (`id`, `turn`) instead of carrying `reference`.
    #[arg(long)]
    pub gold: Option<String>,
    /// JSON object of component weights overriding the defaults (docs/eval.md).
    #[arg(long)]
    pub weights: Option<String>,
    /// Write here instead of stdout.
    #[arg(long, short = 'o')]
    pub output: Option<String>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormatArg {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct InspectTemplateArgs {
    /// The template: a built-in name, a .jinja file, a tokenizer_config.json, a model folder or a
    /// Hugging Face name from the local cache.
    pub template: String,
    /// Which of a model's named chat templates to inspect.
    #[arg(long)]
    pub template_name: Option<String>,
    /// Take the special tokens (bos_token, eos_token, ...) from this tokenizer's config.
    #[arg(long)]
    pub tokenizer: Option<String>,
    /// The date strftime_now sees (YYYY-MM-DD); default today.
    #[arg(long)]
    pub date: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Input files (JSONL, JSON array, or one JSON object); `-` reads stdin.
    #[arg(required = true)]
    pub inputs: Vec<String>,
    /// How records are read (the `--tools` file is also checked once itself).
    #[command(flatten)]
    pub input: InputFlags,
    /// text: a line per finding and a summary table; json: one JSON object per finding (summary on stderr).
    #[arg(long, value_enum, default_value = "text")]
    pub format: FormatArg,
    /// Worker threads (default: all cores). Output is identical for any value.
    #[arg(long)]
    pub threads: Option<usize>,
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Input files (JSONL, JSON array, or one JSON object); `-` reads stdin.
    #[arg(required = true)]
    pub inputs: Vec<String>,
    /// Template (and tokenizer) for the tokens-per-row figures, and how records are read.
    #[command(flatten)]
    pub render: RenderFlags,
    /// text: tables and warnings; json: one JSON object.
    #[arg(long, value_enum, default_value = "text")]
    pub format: FormatArg,
    /// Write one JSON line per record here: id, case, flags, and the evidence for the case.
    #[arg(long)]
    pub per_record: Option<String>,
}

#[derive(Args, Debug)]
pub struct PairsArgs {
    /// Pair records ({"prompt", "chosen", "rejected", "tools"}), or trajectories with --synthesize.
    #[arg(required = true)]
    pub inputs: Vec<String>,
    /// Derive rejected variants of the trajectories' assistant moves: `all` or a comma-separated list of
    /// direct_answer, unnecessary_call, guessed_argument, forced_irrelevant_call, ignores_result,
    /// repeated_call, malformed_call.
    #[arg(long, value_name = "KINDS")]
    pub synthesize: Option<String>,
    /// With --synthesize: every user turn's assistant moves (per-turn), or only the last turn's
    /// (conversation).
    #[arg(long, value_enum, default_value = "per-turn")]
    pub expand: ExpandArg,
    /// Seed of the synthetic choices (which tool, which invented value, how a call is broken).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// With --synthesize: at most N pairs of one kind per record, spread over its user turns and
    /// chosen by the seed; 0 keeps every move a kind applies to.
    #[arg(long, value_name = "N", default_value_t = trajkit::pairs::synthesize::DEFAULT_MAX_PER_KIND)]
    pub max_per_kind: usize,
    /// At most N pairs per record (chosen by the seed).
    #[arg(long, value_name = "N")]
    pub max_per_record: Option<usize>,
    /// With --synthesize: write the summary as JSON here (per kind: records and moves it applied to,
    /// pairs written, and the moves it was skipped at, by reason).
    #[arg(long, value_name = "FILE")]
    pub report: Option<String>,
    /// Also write prompt_ids / chosen_ids / rejected_ids as TRL's DPOTrainer builds them with this chat
    /// template (qwen3, chatml, harmony, or a path); pairs whose prompt is not a token prefix are rejected.
    /// Without it, only the conversational columns are written (malformed_call then writes Qwen3 text).
    #[arg(long, short = 't')]
    pub template: Option<String>,
    /// Tokenizer for --template (default: the template's own).
    #[arg(long)]
    pub tokenizer: Option<String>,
    /// The date templates see through strftime_now (YYYY-MM-DD); default today.
    #[arg(long)]
    pub date: Option<String>,
    #[command(flatten)]
    pub input: InputFlags,
    /// Write here instead of stdout.
    #[arg(long, short = 'o')]
    pub output: Option<String>,
    /// Stop at the first record that cannot be read or tokenized (exit 2).
    #[arg(long)]
    pub strict: bool,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum FormatArg {
    Text,
    Json,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum InputFormatArg {
    Raw,
    Messages,
    Sharegpt,
    Adp,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum ReasoningArg {
    Train,
    Context,
    Drop,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum EmptyThinkArg {
    Train,
    Context,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum ExpandArg {
    Conversation,
    PerTurn,
}

/// `--max-rejects`: a number of records, or a percentage of the records read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaxRejects {
    Count(usize),
    Percent(f64),
}

impl MaxRejects {
    fn parse(s: &str) -> Result<MaxRejects, String> {
        let bad = || format!("`{s}`: expected a number of records (10) or a percentage (0.5%)");
        match s.strip_suffix('%') {
            Some(p) => match p.trim().parse::<f64>() {
                Ok(p) if (0.0..=100.0).contains(&p) => Ok(MaxRejects::Percent(p)),
                _ => Err(bad()),
            },
            None => s.trim().parse().map(MaxRejects::Count).map_err(|_| bad()),
        }
    }
}

impl std::fmt::Display for MaxRejects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MaxRejects::Count(n) => write!(f, "{n}"),
            MaxRejects::Percent(p) => write!(f, "{p}%"),
        }
    }
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum TruncateArg {
    Drop,
    Turns,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum EmitArg {
    Tokens,
    Messages,
    Text,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}
