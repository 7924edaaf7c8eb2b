//! trajkit turns agent trajectories into training data that is exactly what a model sees.
//!
//! The library is the pipeline; the `trajkit` binary is a thin layer over it.
//!
//! ```text
//! source     read JSONL / JSON files; every record keeps its file and line
//! diagnostic one located-problem type (code enum, severity, JSON path, message) for every stage
//! batch      the record loop every command runs on: parallel, in input order, memory flat
//!   → ingest        `ingest::read`, the one way every command reads a record: UTF-8, JSON checks,
//!                   raw annotation / TRL/OpenAI messages / ShareGPT → one Conversation, `FILE:LINE` ids
//!   → validate      (`convert --validate`) the step checks, as a pipeline step
//!   → conversation  the canonical model (messages, tool calls, tool results, reasoning, tools)
//!   → pipeline      policy (reasoning, train flags) and expansion (conversation / per-turn)
//!   → render        the model's chat template (minijinja, Python-jinja compatible) → text + spans
//!   → tokenize      one encode of the whole text → ids + byte offsets
//!   → mask          byte spans × offsets → assistant_masks / labels
//!   → emit          JSONL rows that TRL loads as they are
//! check      reads rows back as turns and lints the mask (`check_mask`: a record's rows, checked)
//! completion model output (text or token ids) in a template's format → content, reasoning, tool calls
//!            (named for what it reads, not `parse`: ingest::parse reads a record's JSON)
//! eval       gold turns × parsed outputs → tool-use metrics per case (eval) and decomposed rewards (score)
//! validate   step checks (unknown tools, schema-breaking or guessed arguments, ignored results) and
//!            case classification (tool_required, clarification, …) before any of that
//! text       the text heuristics validate, eval and pairs share: numbers, salient values, phrases
//! report     one self-contained HTML page: summary, case mix, histograms, rows token by token
//! family     qwen3 / chatml / harmony by name (their tokenizer and output format are said by tokenize and parse)
//! hub, pyjson leaves: the local Hugging Face cache; Python's json.dumps (templates' tojson, argument strings)
//! settings   what a user asks for (flags, Python keyword arguments) → converter, ingest options, reader
//! pairs      DPO preference pairs: read them, synthesize them from trajectories, tokenize as TRL does
//! ```

pub mod batch;
pub mod check;
pub mod check_mask;
pub mod completion;
pub mod conversation;
pub mod diagnostic;
pub mod emit;
pub mod eval;
pub mod family;
pub mod hub;
pub mod ingest;
pub mod mask;
pub mod mix;
pub mod pairs;
#[cfg(feature = "cli")]
pub mod parquet_out;
pub mod pipeline;
pub mod pyjson;
pub mod render;
pub mod report;
pub mod settings;
pub mod source;
pub mod text;
pub mod tokenize;
pub mod validate;
