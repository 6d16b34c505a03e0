//! The command line as an operator uses it: the shipped config is valid,
//! `check` names file:line:col and key, `fetch --once` prints one line per source.

use std::process::Command;

use revierfeed::config::{Config, SourceKind};

use crate::support::{self, PartnerServer};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_revierfeed"))
}

#[test]
fn the_shipped_config_loads() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml");
    let config = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.feed.language, "de");
    assert_eq!(config.server.listen.to_string(), "127.0.0.1:8080");
    assert!(
        config.fetch.user_agent.contains("revierfeed")
            && config.fetch.user_agent.contains("https://")
    );
    assert!(config.fetch.allow_networks.is_empty(), "safe by default");
    let neue = config.source("neue-lausitz").unwrap();
    assert_eq!(neue.url.as_str(), "https://steady.page/neuelausitz/rss");
    assert_eq!(neue.kind, SourceKind::Feed);
    assert_eq!(config.source("qlee").unwrap().kind, SourceKind::Html);
    let out = bin()
        .arg("--config")
        .arg(&path)
        .arg("check")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn check_names_file_line_column_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[feed]\ntitle = \"T\"\ntitel = \"x\"\npublic_url = \"http://127.0.0.1:8080/\"\n",
    )
    .unwrap();
    let out = bin()
        .arg("--config")
        .arg(&path)
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:3:1: feed.titel", path.display())),
        "{err}"
    );
    assert!(err.contains("did you mean `title`"), "{err}");

    std::fs::write(&path, "[feed]\ntitle = \"T\"\npublic_url = \"http://127.0.0.1:8080/\"\n[fetch]\nschedule = \"every tuesday\"\n").unwrap();
    let out = bin()
        .arg("--config")
        .arg(&path)
        .arg("check")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains(":5:12: fetch.schedule"), "{err}");

    let out = bin()
        .arg("--config")
        .arg(dir.path().join("missing.toml"))
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
}

#[test]
fn help_explains_every_command() {
    let out = bin().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for cmd in ["run", "fetch", "check", "--config"] {
        assert!(help.contains(cmd), "{cmd} missing from --help:\n{help}");
    }
}

#[tokio::test]
async fn fetch_once_prints_a_line_per_source() {
    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut sources = support::feed_sources(&server);
    sources.push(support::source(
        "gone",
        server.url("gone", "/feed.xml"),
        "feed",
    ));
    let _ = support::config(dir.path(), &sources, "");
    let config_path = dir.path().join("config.toml");
    let out = tokio::task::spawn_blocking(move || {
        bin()
            .arg("--config")
            .arg(&config_path)
            .args(["fetch", "--once"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "one source failed:\n{stdout}");
    for (site, _) in support::FEED_SITES {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(site))
            .unwrap_or_else(|| panic!("no line for {site}:\n{stdout}"));
        assert!(line.contains("new") && line.contains("ms"), "{line}");
    }
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("gone") && l.contains("FAILED: HTTP 404")),
        "{stdout}"
    );
    assert!(stdout.contains("7 sources polled, 1 failed"));
    // The second run is all conditional.
    let config_path = dir.path().join("config.toml");
    let out = tokio::task::spawn_blocking(move || {
        bin()
            .arg("--config")
            .arg(&config_path)
            .args(["fetch", "--once", "--source", "neuwerda"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("unchanged (304)"));
}
