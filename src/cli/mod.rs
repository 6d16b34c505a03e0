//! The `revierfeed` command line: the arguments (clap), one enum of commands,
//! and one file per command. Each command returns a typed [`Error`] or an
//! exit code; `main` prints the error once and exits 1.

mod check;
mod completions;
mod discover;
mod explain;
mod export;
mod fetch_once;
mod import_opml;
mod logging;
mod manpage;
mod preview;
mod probe;
mod run;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::builder::PossibleValuesParser;
use clap::{CommandFactory, Parser, Subcommand};
use ipnet::IpNet;

use crate::config::{Config, ConfigErrors, LogFormat};

/// The config file when neither `--config` nor `REVIERFEED_CONFIG` names one.
const DEFAULT_CONFIG: &str = "config.toml";

#[derive(Parser)]
#[command(
    name = "revierfeed",
    version,
    about = "Polls the news of Lausitz partner projects and serves them as one merged feed."
)]
struct Cli {
    /// The config file (relative paths inside it are relative to its directory)
    /// [default: config.toml; `discover` and `preview` use built-in defaults without one].
    #[arg(
        long,
        short,
        global = true,
        env = "REVIERFEED_CONFIG",
        value_name = "PATH"
    )]
    config: Option<PathBuf>,

    /// Log lines on stderr as text or JSON [default: `[log] format` in the config, else text].
    #[arg(
        long,
        global = true,
        env = "REVIERFEED_LOG_FORMAT",
        value_name = "FORMAT",
        value_parser = PossibleValuesParser::new(LogFormat::NAMES)
    )]
    log_format: Option<String>,

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
        /// Also allow connecting to this non-public range (an intranet partner),
        /// like `[fetch] allow_networks`; repeatable.
        #[arg(long = "allow-network", value_name = "CIDR", value_parser = parse_network)]
        allow_networks: Vec<IpNet>,
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
        /// Also allow connecting to this non-public range (an intranet partner),
        /// like `[fetch] allow_networks`; repeatable.
        #[arg(long = "allow-network", value_name = "CIDR", value_parser = parse_network)]
        allow_networks: Vec<IpNet>,
    },
    /// Which story a stored item joined and why: its facts, and each
    /// candidate's similarity, shared terms and what vetoed a merge.
    Explain {
        /// The item's entry id (uid) or its link.
        item: String,
    },
    /// Print a shell completion script to stdout, e.g.
    /// `revierfeed completions bash > /etc/bash_completion.d/revierfeed`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page revierfeed(1) (roff) to stdout, e.g.
    /// `revierfeed manpage | man -l -`; with --dir, write it and a page per command there.
    Manpage {
        /// Write revierfeed.1 and revierfeed-COMMAND.1 into this directory instead.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// A CIDR range or a single address, as `[fetch] allow_networks` takes them.
fn parse_network(s: &str) -> Result<IpNet, String> {
    crate::config::parse_network(s)
        .ok_or_else(|| format!("`{s}` is not a CIDR range such as 10.20.0.0/16 or fd00::/8"))
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
    // Before anything allocates: the settings hold for every block.
    crate::allocator::tune();
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("revierfeed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The clap description of the command line, for the man page and completions.
fn command() -> clap::Command {
    Cli::command()
}

fn dispatch(cli: Cli) -> Result<ExitCode, Error> {
    let flag_format = cli.log_format.as_deref().and_then(LogFormat::parse);
    // Logging starts once the config (and its `[log] format`) is known;
    // errors before that are printed by `main`, not logged.
    let logs = |config: Option<&Config>, silenced: &[&str]| {
        let format = flag_format
            .or(config.map(|c| c.log.format))
            .unwrap_or_default();
        logging::init(format, silenced);
    };
    let explicit = cli.config.as_deref();
    let path = explicit.unwrap_or(Path::new(DEFAULT_CONFIG));
    match cli.command {
        Command::Completions { shell } => completions::run(command(), shell),
        Command::Manpage { dir } => manpage::run(command(), dir.as_deref()),
        Command::Check => {
            logs(None, &[]);
            Ok(check::run(path))
        }
        Command::Run => {
            let config = Config::load(path)?;
            logs(Some(&config), &[]);
            let runtime = run::runtime()?;
            let result = runtime.block_on(run::run(config));
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
            let config = Config::load(path)?;
            // Each poll's result is this command's output: printed, not logged too.
            logs(Some(&config), &[crate::pipeline::POLL_LOG_TARGET]);
            run::runtime()?.block_on(fetch_once::run(config, &sources, force))
        }
        Command::Discover {
            url,
            allow_networks,
        } => {
            let config = reading_config(explicit, allow_networks)?;
            logs(Some(&config), &[]);
            let report = run::runtime()?.block_on(discover::discover(&config, &url))?;
            print!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { item } => {
            let config = Config::load(path)?;
            logs(Some(&config), &[]);
            print!("{}", explain::explain(&config, &item)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Export { dir } => {
            let config = Config::load(path)?;
            logs(Some(&config), &[]);
            export::run(&config, &dir)
        }
        Command::ImportOpml { file } => {
            logs(None, &[]);
            import_opml::run(path, &file)
        }
        Command::Preview {
            source,
            allow_networks,
        } => {
            let config = reading_config(explicit, allow_networks)?;
            logs(Some(&config), &[]);
            let report = run::runtime()?.block_on(preview::preview(&config, &source))?;
            print!("{report}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The config of `discover` and `preview`, which read partners and publish
/// nothing: `[feed]` may be missing, and without a config file at the default
/// place the built-in defaults apply (a file named explicitly must exist).
/// `--allow-network` ranges are added to `[fetch] allow_networks`.
fn reading_config(explicit: Option<&Path>, allow: Vec<IpNet>) -> Result<Config, Error> {
    let default = Path::new(DEFAULT_CONFIG);
    let mut config = match explicit {
        Some(path) => Config::load_for_reading(path)?,
        None if default.exists() => Config::load_for_reading(default)?,
        None => Config::builtin(default),
    };
    config.fetch.allow_networks.extend(allow);
    Ok(config)
}

/// A TOML string literal (quoted and escaped) for the config blocks we print or append.
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}
