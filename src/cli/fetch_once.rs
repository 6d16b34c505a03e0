//! `revierfeed fetch --once`: what an operator runs after editing the
//! config — polls now, one line per source (with a progress bar on a
//! terminal), renders, and exits 1 if any source failed.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use super::Error;
use crate::app::App;
use crate::config::Config;
use crate::pipeline::{self, PollOutcome};

/// Polls the sources (all, or `only`) once and renders; exit 1 if any failed.
pub(super) async fn run(path: &Path, only: &[String], force: bool) -> Result<ExitCode, Error> {
    let mut config = Config::load(path)?;
    if let Some(id) = only.iter().find(|id| config.source(id).is_none()) {
        return Err(Error::UnknownSource {
            id: id.clone(),
            config: path.to_path_buf(),
        });
    }
    if !only.is_empty() {
        config.sources.retain(|s| only.contains(&s.id));
    }
    let total = config.sources.iter().filter(|s| s.enabled).count();
    let app = Arc::new(App::new(config)?);
    let progress = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {pos}/{len} sources polled {wide_bar} {elapsed}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(bar)
    } else {
        None
    };
    let reports = pipeline::refresh_all(&app, !force, |r| {
        if let Some(bar) = &progress {
            bar.println(r.summary());
            bar.inc(1);
        } else {
            println!("{}", r.summary());
        }
    })
    .await;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
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
