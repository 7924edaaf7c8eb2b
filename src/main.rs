//! The `trajkit` binary: parse → run → print the error chain → exit code.

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc's `mi_option_t` (mimalloc.h).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> ExitCode {
    // Keep freed memory for reuse instead of returning it to the OS a second later: each batch of
    // rows would otherwise fault in (and the kernel zero) fresh pages again, a third of the time of
    // `--expand per-turn`. The peak is the same; memory just is not given back before exit.
    // SAFETY: setting an option has no preconditions; mimalloc reads it when it next purges.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    let cli = cli::Cli::parse();
    commands::clean_up_on_interrupt();
    let result = match cli.command {
        cli::Command::Convert(args) => commands::convert::run(args),
        cli::Command::CheckMask(args) => commands::check_mask::run(args),
        cli::Command::Report(args) => commands::report::run(args),
        cli::Command::Validate(args) => commands::validate::run(args),
        cli::Command::Stats(args) => commands::stats::run(args),
        cli::Command::InspectTemplate(args) => commands::inspect_template::run(args),
        cli::Command::Pairs(args) => commands::pairs::run(args),
        cli::Command::Eval(args) => commands::eval::run(args),
        cli::Command::Score(args) => commands::score::run(args),
    };
    match result {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(e) => {
            eprintln!("trajkit: {e:#}");
            ExitCode::from(commands::Exit::Error.code())
        }
    }
}
