//! The `trajkit` binary: parse → run → print the error chain → exit code.

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    commands::clean_up_on_interrupt();
    let result = match cli.command {
        cli::Command::Convert(args) => commands::convert::run(args),
        cli::Command::CheckMask(args) => commands::check_mask::run(args),
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
