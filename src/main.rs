//! The `revierfeed` command line: parses arguments, sets up logging, loads
//! the config and hands over to the library. No logic of its own.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use revierfeed::app::{App, PollOutcome};
use revierfeed::config::Config;
use tokio::sync::mpsc;

#[derive(Parser)]
#[command(
    name = "revierfeed",
    version,
    about = "Polls the news of Lausitz partner projects and serves them as one merged feed."
)]
struct Cli {
    /// The config file (relative paths inside it are relative to its directory).
    #[arg(
        long,
        short,
        global = true,
        env = "REVIERFEED_CONFIG",
        default_value = "config.toml"
    )]
    config: PathBuf,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: poll every source on its schedule and serve the feeds
    /// until SIGTERM or Ctrl-C. SIGHUP (or saving the config file) reloads the config.
    Run,
    /// Poll sources now and exit, printing one line per source.
    Fetch {
        /// Poll every source once (required; the daemon is `run`).
        #[arg(long)]
        once: bool,
        /// Only these sources (by id); default all.
        #[arg(long = "source", value_name = "ID")]
        sources: Vec<String>,
        /// Also poll sources that asked us to wait (Retry-After).
        #[arg(long)]
        force: bool,
    },
    /// Validate the config file and exit non-zero on errors.
    Check,
    /// Show what is at a URL (a feed, a page announcing feeds, or a news
    /// listing and how it would be read) and print a [[source]] block to paste.
    Discover {
        /// A partner's homepage, news page or feed.
        url: url::Url,
    },
    /// Write every served file (feeds, pages, OPML, archives, with .gz twins)
    /// into a directory, atomically, for nginx or a CDN to serve.
    Export {
        /// Target directory (created if missing).
        dir: PathBuf,
    },
    /// Add the feeds of an OPML file as [[source]] entries to the config file
    /// (sources already configured are skipped; the result is validated first).
    ImportOpml {
        /// The OPML file.
        file: PathBuf,
    },
    /// Show the items a source would give, as a table, without storing anything.
    /// Use it to check a new source or its [source.selectors] before relying on them.
    Preview {
        /// A source id from the config, or any URL.
        source: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Check => check(&cli.config),
        Command::Run => runtime().and_then(|rt| rt.block_on(run(&cli.config))),
        Command::Fetch {
            once,
            sources,
            force,
        } => {
            if !once {
                eprintln!(
                    "revierfeed fetch: add --once to poll every source now (the daemon is `revierfeed run`)"
                );
                return ExitCode::from(2);
            }
            runtime().and_then(|rt| rt.block_on(fetch_once(&cli.config, &sources, force)))
        }
        Command::Discover { url } => runtime().and_then(|rt| {
            rt.block_on(async {
                let config = load(&cli.config)?;
                print_report(revierfeed::tools::discover(&config, &url).await)
            })
        }),
        Command::Export { dir } => export(&cli.config, &dir),
        Command::ImportOpml { file } => import_opml(&cli.config, &file),
        Command::Preview { source } => runtime().and_then(|rt| {
            rt.block_on(async {
                let config = load(&cli.config)?;
                print_report(revierfeed::tools::preview(&config, &source).await)
            })
        }),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("revierfeed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn export(config_path: &std::path::Path, dir: &std::path::Path) -> anyhow::Result<ExitCode> {
    let config = load(config_path)?;
    let store = revierfeed::store::Store::open(&config.database_path())?;
    let written = revierfeed::portable::export(&config, &store, dir)?;
    println!(
        "{written} files written to {} (each with a .gz twin)",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn import_opml(config_path: &std::path::Path, file: &std::path::Path) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    match revierfeed::portable::import_opml(config_path, &text) {
        Ok(added) if added.is_empty() => println!(
            "nothing to add: every feed of {} is configured already",
            file.display()
        ),
        Ok(added) => println!(
            "{} sources added to {}: {}",
            added.len(),
            config_path.display(),
            added.join(", ")
        ),
        Err(e) => {
            eprintln!("revierfeed: {e}");
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(report: Result<String, String>) -> anyhow::Result<ExitCode> {
    match report {
        Ok(text) => {
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("revierfeed: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    limit_malloc_arenas();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    // The async threads only move bytes (answers are pre-rendered, parsing and
    // SQLite run on the blocking threads), so half the cores serve them; on 2
    // cores one event loop answered 304s 10–20 % faster than two that woke
    // each other (BENCHMARKS.md). TOKIO_WORKER_THREADS overrides it.
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        builder.worker_threads((cores / 2).max(1));
    }
    Ok(builder
        .enable_all()
        // Blocking work here is SQLite behind one connection, parsing and
        // rendering: more threads than a few only wait for the connection.
        // With tokio's default of 512, a cycle over 1,000 sources ran ~500
        // threads, each with its malloc arena and per-thread sanitiser, and
        // peaked at 141 MB; 16 threads: 94 MB; 4: 83 MB (BENCHMARKS.md).
        .max_blocking_threads(4)
        .build()?)
}

/// glibc gives every thread that allocates under contention its own arena
/// (up to 8 per core) and keeps what each one grew to; the blocking threads
/// that parse and store made a cycle over 1,000 sources peak ~10 MB higher
/// with the default than with two arenas (BENCHMARKS.md).
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any other thread starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

fn load(path: &std::path::Path) -> anyhow::Result<Config> {
    Config::load(path).map_err(|errors| anyhow::anyhow!("invalid config:\n{errors}"))
}

fn check(path: &std::path::Path) -> anyhow::Result<ExitCode> {
    match Config::load(path) {
        Ok(c) => {
            println!(
                "{}: ok ({} sources, serving on {}, database {})",
                path.display(),
                c.sources.len(),
                c.server.listen,
                c.database_path().display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            eprintln!("{errors}");
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn run(path: &std::path::Path) -> anyhow::Result<ExitCode> {
    let config = load(path)?;
    let listen = config.server.listen;
    let app = Arc::new(App::new(config)?);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {listen} (server.listen in {})",
                path.display()
            )
        })?;
    let (reload_tx, reload_rx) = mpsc::channel(4);
    // A failing watcher (e.g. inotify limits) leaves SIGHUP as the way to reload.
    let _watcher = revierfeed::daemon::watch_config(path, reload_tx.clone())
        .inspect_err(
            |e| tracing::warn!(error = %e, "not watching the config file; reload with SIGHUP"),
        )
        .ok();
    spawn_reload_signal(reload_tx);
    revierfeed::daemon::run(app, listener, reload_rx, shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

fn spawn_reload_signal(tx: mpsc::Sender<()>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the config");
            let _ = tx.try_send(());
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("Ctrl-C received"),
        _ = term => tracing::info!("SIGTERM received"),
    }
}

async fn fetch_once(
    path: &std::path::Path,
    only: &[String],
    force: bool,
) -> anyhow::Result<ExitCode> {
    let mut config = load(path)?;
    for id in only {
        if config.source(id).is_none() {
            anyhow::bail!("no source with id `{id}` in {}", path.display());
        }
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
    let reports = app
        .poll_all(!force, |r| {
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
