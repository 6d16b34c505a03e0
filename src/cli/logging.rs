//! Log lines on stderr, as text or JSON (`--log-format`, `[log] format`),
//! filtered by `RUST_LOG` (default `info`), and written around the progress
//! bar of `fetch --once` instead of through it: tracing-indicatif suspends
//! the bar for every log line and for the command's own lines on stdout.

use std::io::IsTerminal;

use tracing_indicatif::IndicatifLayer;
use tracing_indicatif::filter::{IndicatifFilter, hide_indicatif_span_fields};
use tracing_subscriber::fmt::format::DefaultFields;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::config::LogFormat;

/// Installs the global subscriber. `silenced` are log targets switched off
/// whatever `RUST_LOG` says, because the command prints those events itself.
pub(super) fn init(format: LogFormat, silenced: &[&str]) {
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    for target in silenced {
        if let Ok(directive) = format!("{target}=off").parse() {
            filter = filter.add_directive(directive);
        }
    }
    // Progress bars only for spans that ask for one (`indicatif.pb_show`).
    let indicatif = IndicatifLayer::new()
        .with_span_field_formatter(hide_indicatif_span_fields(DefaultFields::new()));
    let writer = indicatif.get_stderr_writer();
    // Colours on a terminal only: journald and log files get plain text.
    let ansi = std::io::stderr().is_terminal();
    let lines: Box<dyn Layer<Registry> + Send + Sync> = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(ansi)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(writer)
            .boxed(),
    };
    // A second init (tests calling the CLI twice in one process) keeps the first.
    let _ = tracing_subscriber::registry()
        .with(lines.with_filter(filter))
        .with(indicatif.with_filter(IndicatifFilter::new(false)))
        .try_init();
}

/// Prints one line of a command's output on stdout, with any progress bar
/// cleared while it is written.
pub(super) fn print_line(line: &str) {
    tracing_indicatif::suspend_tracing_indicatif(|| println!("{line}"));
}
