//! Helpers shared by integration tests (and by `examples/tau_corpus.rs`, which includes the same files).
#![allow(dead_code)]

pub mod forms;
pub mod tau;
