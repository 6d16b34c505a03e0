//! The `revierfeed` command line: the arguments (clap), one enum of commands,
//! and one file per command. Each command returns a typed [`Error`] or an
//! exit code; `main` prints the error once and exits 1.

mod check;
mod discover;
mod explain;
mod export;
mod fetch_once;
mod import_opml;
mod preview;
mod probe;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{Config, ConfigErrors};

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
    /// Which story a stored item joined and why: its facts, and each
    /// candidate's similarity, shared terms and what vetoed a merge.
    Explain {
        /// The item's entry id (uid) or its link.
        item: String,
    },
}

/// Why a command failed; printed once as `revierfeed: <error>`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid config:\n{0}")]
    Config(#[from] ConfigErrors),
    #[error("no source with id `{id}` in {}", config.display())]
    UnknownSource { id: String, config: PathBuf },
    #[error("`{target}` is neither a source id in {} nor a URL", config.display())]
    NotSourceOrUrl { target: String, config: PathBuf },
    /// Reading a partner failed (discover, preview).
    #[error("{0}")]
    Partner(String),
    #[error("{0}")]
    Opml(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Start-up and runtime failures (database, listener, runtime).
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Parses the arguments, sets up logging and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("revierfeed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli) -> Result<ExitCode, Error> {
    let path = cli.config.as_path();
    match cli.command {
        Command::Check => Ok(check::run(path)),
        Command::Run => {
            let runtime = run::runtime()?;
            let result = runtime.block_on(run::run(path));
            // Whatever a blocking task still does, the process exits now:
            // shutdown already stopped polls and closed the database.
            runtime.shutdown_timeout(std::time::Duration::from_millis(500));
            result
        }
        Command::Fetch {
            once,
            sources,
            force,
        } => {
            if !once {
                eprintln!(
                    "revierfeed fetch: add --once to poll every source now (the daemon is `revierfeed run`)"
                );
                return Ok(ExitCode::from(2));
            }
            run::runtime()?.block_on(fetch_once::run(path, &sources, force))
        }
        Command::Discover { url } => {
            let config = Config::load(path)?;
            let report = run::runtime()?.block_on(discover::discover(&config, &url))?;
            print!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Export { dir } => export::run(&Config::load(path)?, &dir),
        Command::ImportOpml { file } => import_opml::run(path, &file),
        Command::Explain { item } => {
            print!("{}", explain::explain(&Config::load(path)?, &item)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Preview { source } => {
            let config = Config::load(path)?;
            let report = run::runtime()?.block_on(preview::preview(&config, &source))?;
            print!("{report}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A TOML string literal (quoted and escaped) for the config blocks we print or append.
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}
