//! The `mdm` command line: parses arguments, loads settings, installs telemetry and hands
//! each subcommand to its module under `commands/`. No business logic lives here.

mod cli;
mod commands;
mod settings;

use clap::Parser;
use std::io::IsTerminal;

/// mimalloc: reconcile allocates and frees millions of small strings (keys, rows); glibc's
/// allocator spends a sixth of an incremental run consolidating and unlinking chunks.
/// Built with `no_thp` (transparent huge pages off for the process): mimalloc gives freed
/// memory back to the OS and a run allocates it again phase after phase; with huge pages
/// each such fault zeroes 2 MB. Measured at 1M records on SQLite: an incremental run
/// 4.8-5.1 s -> 4.3-4.7 s, a forced full re-match unchanged (41.6 -> 40.2 s).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    init_tracing(cli.global.verbose);
    quiet_when_the_reader_goes_away();
    match commands::dispatch(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // `mdm ... | head`: output nobody reads any more is no error.
        Err(e) if broken_pipe(&e) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// `println!` panics when stdout's reader has gone (Rust ignores SIGPIPE): such a panic
/// ends the command quietly with status 0, as `head` expects of what it reads from.
fn quiet_when_the_reader_goes_away() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let p = info.payload();
        let msg = p
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| p.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("MDM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colours only for a person at a terminal: a log file or a CI capture gets plain text.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
