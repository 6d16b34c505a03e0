//! `revierfeed fetch --once`: what an operator runs after editing the
//! config — polls now, one line per source (with a progress bar on a
//! terminal), renders, and exits 1 if any source failed.

use std::process::ExitCode;
use std::sync::Arc;

use tracing_indicatif::span_ext::IndicatifSpanExt;
use tracing_indicatif::style::ProgressStyle;

use super::{Error, logging};
use crate::app::App;
use crate::config::Config;
use crate::pipeline::{self, PollOutcome};

/// Polls the sources (all, or `only`) once and renders; exit 1 if any failed.
/// Each source's result is printed once, on stdout; on a terminal a progress
/// bar on stderr counts the polls and steps aside for every line printed or logged.
pub(super) async fn run(
    mut config: Config,
    only: &[String],
    force: bool,
) -> Result<ExitCode, Error> {
    if let Some(id) = only.iter().find(|id| config.source(id).is_none()) {
        return Err(Error::UnknownSource {
            id: id.clone(),
            config: config.path.clone(),
        });
    }
    if !only.is_empty() {
        config.sources.retain(|s| only.contains(&s.id));
    }
    let total = config.sources.iter().filter(|s| s.enabled).count();
    let app = Arc::new(App::new(config)?);
    // The bar belongs to this span (tracing-indicatif draws it only on a terminal).
    let progress = tracing::info_span!("fetch_once", indicatif.pb_show = tracing::field::Empty);
    progress.pb_set_style(
        &ProgressStyle::with_template("{spinner} {pos}/{len} sources polled {wide_bar} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    progress.pb_set_length(total as u64);
    progress.pb_start();
    let reports = pipeline::refresh_all(&app, !force, |r| {
        logging::print_line(&r.summary());
        progress.pb_inc(1);
    })
    .await;
    drop(progress);
    app.render().await?;
    let failed = reports
        .iter()
        .filter(|r| matches!(r.outcome, PollOutcome::Failed { .. }))
        .count();
    println!("{} sources polled, {} failed", reports.len(), failed);
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
