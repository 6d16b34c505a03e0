//! Log lines on stderr, as text or JSON (`--log-format`, `[log] format`),
//! filtered by `RUST_LOG` (default `info`), and written around the progress
//! bar of `fetch --once` instead of through it: tracing-indicatif suspends
//! the bar for every log line and for the command's own lines on stdout.

use std::io::IsTerminal;

use tracing::{Level, Subscriber};
use tracing_indicatif::IndicatifLayer;
use tracing_indicatif::filter::hide_indicatif_span_fields;
use tracing_subscriber::filter::{FilterFn, LevelFilter, filter_fn};
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
    // A second init (tests calling the CLI twice in one process) keeps the first.
    // `try_init` also caps the `log` crate at the subscriber's level hint.
    let _ = subscriber(format, filter).try_init();
}

/// Log lines through `filter`, and progress bars.
///
/// Every layer's filter must give a level hint: the subscriber's hint is
/// what `log`'s max level is set to, and without one it is TRACE. Then
/// html5ever, which sanitises every item, formats its `debug!` and `trace!`
/// arguments for every token before any filter drops them: ~10 % of a poll
/// cycle's CPU (BENCHMARKS.md).
fn subscriber(format: LogFormat, filter: EnvFilter) -> impl Subscriber + Send + Sync {
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
    tracing_subscriber::registry()
        .with(lines.with_filter(filter))
        .with(indicatif.with_filter(progress_spans()))
}

/// Progress bars only for spans that ask for one (`indicatif.pb_show`), at
/// INFO or above: tracing-indicatif's own filter does the same but gives no
/// level hint (see `subscriber`).
fn progress_spans() -> FilterFn<impl Fn(&tracing::Metadata<'_>) -> bool> {
    let wanted = |meta: &tracing::Metadata<'_>| {
        meta.is_span()
            && *meta.level() <= Level::INFO
            && meta.fields().field("indicatif.pb_show").is_some()
    };
    filter_fn(wanted).with_max_level_hint(LevelFilter::INFO)
}

/// Prints one line of a command's output on stdout, with any progress bar
/// cleared while it is written.
pub(super) fn print_line(line: &str) {
    tracing_indicatif::suspend_tracing_indicatif(|| println!("{line}"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint(directives: &str) -> Option<LevelFilter> {
        subscriber(LogFormat::Text, EnvFilter::new(directives)).max_level_hint()
    }

    #[test]
    fn the_level_hint_follows_the_log_filter_so_log_crate_records_are_cut_early() {
        assert_eq!(hint("info"), Some(LevelFilter::INFO));
        assert_eq!(hint("debug"), Some(LevelFilter::DEBUG));
        assert_eq!(hint("info,html5ever=trace"), Some(LevelFilter::TRACE));
        // The progress bar's span is at INFO, so the hint never goes below it.
        assert_eq!(hint("warn"), Some(LevelFilter::INFO));
    }

    #[test]
    fn progress_bars_are_only_for_spans_that_ask_for_one() {
        // With log lines off, a span exists only if the progress layer wants it.
        let quiet = subscriber(LogFormat::Text, EnvFilter::new("off"));
        tracing::subscriber::with_default(quiet, || {
            let asks = tracing::info_span!("asks", indicatif.pb_show = tracing::field::Empty);
            let plain = tracing::info_span!("plain");
            let verbose =
                tracing::debug_span!("verbose", indicatif.pb_show = tracing::field::Empty);
            assert!(!asks.is_disabled());
            assert!(plain.is_disabled());
            assert!(verbose.is_disabled());
        });
    }
}
