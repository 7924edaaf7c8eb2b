//! The integration tests, as one test binary: each file is a module (named after what it tests),
//! sharing the helpers in `run` (the real binary), `common` (raw/messages forms, the tau-style
//! generator) and `tau_airline`. One binary links once and lets the test runner spread every test
//! over the cores, instead of running sixteen binaries one after another.
//!
//! Run one group with `cargo test --test it report::` (or any test name filter).

mod common;
mod run;
mod tau_airline;

mod adp;
mod agreement;
mod byo_cli;
mod cli;
mod completion;
mod equivalence;
mod eval;
mod golden;
mod golden_byo;
mod golden_harmony;
mod layout;
mod pairs;
mod reliability;
mod report;
mod scale;
mod segments;
mod stats;
mod validate;
