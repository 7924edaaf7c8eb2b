//! Eval and score: what a model does with tools, measured against reference trajectories.
//!
//! After SFT the question is what the model learned: does it call tools when it should and only
//! then, with valid arguments, and does it use the results? For GRPO the same checks are reward
//! components. Both read the same gold trajectories and the same parsed outputs:
//!
//! ```text
//! gold records ──ingest──▶ Conversation ──task──▶ one Task per assistant turn (reference, tools, results)
//! predictions ──prediction──▶ Output ──parse──▶ Message
//!   → judge    Task × Message → Judgement (selection, arguments per key, answer, grounding …)
//!   → metrics  Judgements → rates overall and per case type (eval)
//!   → reward   Judgement → components and weighted total (score)
//!   → score    a request line → its reward as a response line (`score`, `score --serve`, Python)
//! ```
//!
//! Schema validity and case types are `trajkit validate`'s and `stats`' own code ([`tools`] wraps
//! [`crate::validate::ToolSet`], [`cases`] calls its classifier), so eval, stats and validate agree
//! on what a valid call and a clarification record are. Grounding and "asks the user" are
//! [`crate::text`]'s, the rules validate's `unused_result` and case inference use.

pub mod cases;
pub mod judge;
pub mod metrics;
pub mod prediction;
pub mod reader;
pub mod reward;
pub mod score;
pub mod task;
pub mod text;
pub mod tools;

pub use judge::{judge, Judgement};
pub use metrics::Report;
pub use prediction::{Key, Output, Prediction};
pub use reader::OutputReader;
pub use reward::{reward, Reward, Weights};
pub use task::{tasks, Task, TurnKind};
pub use tools::SchemaCache;
