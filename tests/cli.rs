//! The command line as an operator uses it: the shipped config is valid,
//! `check` names file:line:col and key, `fetch --once` prints one line per
//! source (once, on stdout), `discover`/`preview` need no config and store
//! nothing, logs can be JSON, completions and the man page cover every command.

use std::process::Command;

use revierfeed::config::Config;
use revierfeed::model::SourceKind;

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
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "one source failed:\n{stdout}");
    for (site, _) in support::FEED_SITES {
        let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with(site)).collect();
        let [line] = lines[..] else {
            panic!("not one line for {site}:\n{stdout}");
        };
        assert!(line.contains("new") && line.contains("ms"), "{line}");
        // The result is the command's output; the log does not repeat it.
        assert!(
            !stderr
                .lines()
                .any(|l| l.contains(site) && (l.contains(" new,") || l.contains("poll failed"))),
            "{site}'s result logged as well:\n{stderr}"
        );
    }
    assert!(
        !stderr.contains("FAILED") && !stderr.contains("poll failed"),
        "{stderr}"
    );
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

async fn run_cli(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || bin().args(args).output().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn discover_finds_the_feed_or_the_listing_and_prints_a_snippet() {
    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let _ = support::config(dir.path(), &[], "");
    let config = dir.path().join("config.toml").display().to_string();
    let out = run_cli(vec![
        "--config".into(),
        config.clone(),
        "discover".into(),
        server.url("revierbote", "/"),
    ])
    .await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("announcing 2 feed(s)"), "{text}");
    assert!(
        text.contains(&format!("url = \"{}\"", server.url("revierbote", "/feed/"))),
        "{text}"
    );
    assert!(
        text.contains("kind = \"feed\"") && text.contains("name = \"Revierbote Lausitz\""),
        "{text}"
    );
    // The snippet is valid config.
    let snippet = text.split("[[source]]").nth(1).unwrap();
    let mut with_source = std::fs::read_to_string(&config).unwrap();
    with_source.push_str("[[source]]");
    with_source.push_str(snippet);
    assert!(
        revierfeed::config::Config::parse(&with_source, std::path::Path::new("x.toml")).is_ok(),
        "{with_source}"
    );

    let out = run_cli(vec![
        "--config".into(),
        config.clone(),
        "discover".into(),
        server.url("qlee", "/aktuelles/neuigkeiten/"),
    ])
    .await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("announces no feed") && text.contains("reading it as a news listing"),
        "{text}"
    );
    assert!(
        text.contains("18 items") && text.contains("kind = \"html\""),
        "{text}"
    );
}

#[tokio::test]
async fn preview_shows_items_and_stores_nothing() {
    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let _ = support::config(
        dir.path(),
        &[support::source(
            "mittelstand",
            server.url("mittelstand", "/aktuelles/"),
            "html",
        )],
        "",
    );
    let config = dir.path().join("config.toml").display().to_string();
    let out = run_cli(vec![
        "--config".into(),
        config.clone(),
        "preview".into(),
        "mittelstand".into(),
    ])
    .await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("12 items, 0 hidden by rules (nothing was stored)"),
        "{text}"
    );
    let row = text
        .lines()
        .find(|l| l.contains("Mitgliederversammlung 2026"))
        .unwrap();
    assert!(
        row.starts_with("11.11.2026 18:30") && row.contains("Geschäftsstelle"),
        "{row}"
    );
    // Where the date and the title were read: this page's JSON-LD.
    assert!(
        text.contains("DATE FROM") && row.matches("JSON-LD").count() == 2,
        "{row}"
    );
    assert!(
        !dir.path().join("test.db").exists(),
        "preview must not create or touch the database"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("migrated"), "{stderr}");

    let out = run_cli(vec![
        "--config".into(),
        config,
        "preview".into(),
        "no-such-source".into(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("neither a source id"));
}

#[tokio::test]
async fn export_writes_every_served_file_atomically() {
    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let _ = support::config(dir.path(), &support::feed_sources(&server), "");
    let config = dir.path().join("config.toml").display().to_string();
    let out = run_cli(vec![
        "--config".into(),
        config.clone(),
        "fetch".into(),
        "--once".into(),
    ])
    .await;
    assert!(out.status.success());
    let target = dir.path().join("www");
    let out = run_cli(vec![
        "--config".into(),
        config,
        "export".into(),
        target.display().to_string(),
    ])
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in [
        "index.html",
        "feed.atom",
        "feed.rss",
        "feed.json",
        "sources/neuwerda.atom",
        "sources.opml",
        "status.json",
        "archive/1.atom",
        "feed.atom.gz",
    ] {
        assert!(target.join(f).is_file(), "{f} missing");
    }
    let atom = std::fs::read(target.join("feed.atom")).unwrap();
    let json = std::fs::read(target.join("feed.json")).unwrap();
    let entries = feed_rs::parser::parse(&atom[..]).unwrap().entries.len();
    let json = support::strict::json_feed_1_1(&json, "exported feed.json");
    assert_eq!(json["items"].as_array().unwrap().len(), entries);
    assert_eq!(
        support::strict::credited(&json).len(),
        89,
        "every item exported"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&target)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}

#[tokio::test]
async fn import_opml_adds_new_feeds_and_keeps_the_config_valid() {
    let dir = tempfile::tempdir().unwrap();
    let _ = support::config(
        dir.path(),
        &[support::source(
            "neuwerda",
            "https://www.neuwerda.example/aktuelles/rss.php".into(),
            "feed",
        )],
        "",
    );
    let config = dir.path().join("config.toml");
    let opml = dir.path().join("partner.opml");
    std::fs::write(
        &opml,
        r#"<?xml version="1.0"?><opml version="2.0"><head><title>Partner</title></head><body>
        <outline text="Kommunen"><outline type="rss" text="Stadt Neuwerda" xmlUrl="https://www.neuwerda.example/aktuelles/rss.php"/>
        <outline type="rss" text="Stadt Forst (Lausitz)" xmlUrl="https://www.forst.example/rss.xml" htmlUrl="https://www.forst.example/"/></outline>
        <outline type="rss" text="Revierbote" xmlUrl="https://revierbote.example/feed/"/></body></opml>"#,
    )
    .unwrap();
    let out = run_cli(vec![
        "--config".into(),
        config.display().to_string(),
        "import-opml".into(),
        opml.display().to_string(),
    ])
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("2 sources added"), "{stdout}");
    let c = revierfeed::config::Config::load(&config).unwrap();
    assert_eq!(c.sources.len(), 3);
    let forst = c
        .sources
        .iter()
        .find(|s| s.url.as_str() == "https://www.forst.example/rss.xml")
        .unwrap();
    assert_eq!(
        (forst.id.as_str(), forst.name.as_str(), forst.tags.clone()),
        (
            "stadt-forst-lausitz",
            "Stadt Forst (Lausitz)",
            vec!["kommunen".to_string()]
        )
    );
    // Importing again adds nothing; a broken file changes nothing.
    let again = run_cli(vec![
        "--config".into(),
        config.display().to_string(),
        "import-opml".into(),
        opml.display().to_string(),
    ])
    .await;
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to add"));
    std::fs::write(&opml, "<opml><body><outline").unwrap();
    let before = std::fs::read_to_string(&config).unwrap();
    let bad = run_cli(vec![
        "--config".into(),
        config.display().to_string(),
        "import-opml".into(),
        opml.display().to_string(),
    ])
    .await;
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), before);
}

#[tokio::test]
async fn discover_and_preview_need_no_config_file() {
    let server = PartnerServer::start().await;
    // An empty directory: no config.toml, and nothing may be left behind.
    let dir = tempfile::tempdir().unwrap();
    let run_in = |args: Vec<String>| {
        let cwd = dir.path().to_path_buf();
        async move {
            tokio::task::spawn_blocking(move || {
                bin()
                    .current_dir(cwd)
                    .env_remove("REVIERFEED_CONFIG")
                    .env_remove("RUST_LOG")
                    .args(args)
                    .output()
                    .unwrap()
            })
            .await
            .unwrap()
        }
    };
    let url = server.url("revierbote", "/");
    // Loopback is refused by default, as with any config ...
    let out = run_in(vec!["discover".into(), url.clone()]).await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refused") && err.contains("loopback"), "{err}");
    // ... and --allow-network opens it.
    let out = run_in(vec![
        "discover".into(),
        "--allow-network".into(),
        "127.0.0.0/8".into(),
        url,
    ])
    .await;
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}{err}");
    assert!(
        text.contains("announcing 2 feed(s)") && text.contains("kind = \"feed\""),
        "{text}"
    );
    assert!(!err.contains("migrated"), "{err}");

    let out = run_in(vec![
        "preview".into(),
        "--allow-network".into(),
        "127.0.0.1".into(),
        server.url("mittelstand", "/aktuelles/"),
    ])
    .await;
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}{err}");
    assert!(text.contains("12 items, 0 hidden by rules"), "{text}");
    assert!(!err.contains("migrated"), "{err}");

    let out = run_in(vec!["check".into()]).await;
    assert_eq!(out.status.code(), Some(1), "check needs a config file");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");

    // A named config file must exist; one without [feed] is enough to read partners.
    let out = run_in(vec![
        "--config".into(),
        "missing.toml".into(),
        "preview".into(),
        "http://127.0.0.1:1/".into(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
    std::fs::write(
        dir.path().join("partners.toml"),
        "[fetch]\nallow_networks = [\"127.0.0.0/8\"]\n",
    )
    .unwrap();
    let out = run_in(vec![
        "--config".into(),
        "partners.toml".into(),
        "preview".into(),
        server.url("mittelstand", "/aktuelles/"),
    ])
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // ... which `check` (serving) still refuses.
    let out = run_in(vec![
        "--config".into(),
        "partners.toml".into(),
        "check".into(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing table [feed]"));
}

#[tokio::test]
async fn log_lines_are_json_when_asked_and_check_opens_no_database() {
    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let text = support::config_text(
        dir.path(),
        &[support::source(
            "neuwerda",
            server.url("neuwerda", "/aktuelles/rss.php"),
            "feed",
        )],
        "",
    );
    let config = dir.path().join("config.toml");
    std::fs::write(&config, format!("{text}\n[log]\nformat = \"json\"\n")).unwrap();
    let path = config.display().to_string();

    let out = run_cli(vec!["--config".into(), path.clone(), "check".into()]).await;
    assert!(out.status.success());
    assert!(
        !dir.path().join("test.db").exists(),
        "check opened the database"
    );

    // A new database logs its migrations: as JSON objects, one per line.
    let out = run_cli(vec![
        "--config".into(),
        path.clone(),
        "fetch".into(),
        "--once".into(),
    ])
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "database schema migrated"),
        "{stderr}"
    );
    // The flag overrides the config.
    std::fs::remove_file(dir.path().join("test.db")).unwrap();
    let out = run_cli(vec![
        "--config".into(),
        path,
        "--log-format".into(),
        "text".into(),
        "fetch".into(),
        "--once".into(),
    ])
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("INFO")
            && stderr.contains("database schema migrated")
            && !stderr.contains('{'),
        "{stderr}"
    );
}

#[test]
fn completions_and_the_man_page_cover_every_command() {
    let help = String::from_utf8(bin().arg("--help").output().unwrap().stdout).unwrap();
    // The commands as --help lists them (indented name, then its description).
    let commands: Vec<&str> = help
        .split("Commands:")
        .nth(1)
        .unwrap()
        .split("Options:")
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 9, "{commands:?}");
    for shell in ["bash", "zsh", "fish"] {
        let out = bin().args(["completions", shell]).output().unwrap();
        assert!(out.status.success());
        let script = String::from_utf8(out.stdout).unwrap();
        for c in &commands {
            assert!(script.contains(c), "{shell} completion lacks {c}");
        }
        // Fish names long options without their dashes.
        assert!(script.contains("allow-network") && script.contains("log-format"));
    }
    // roff writes a hyphen as `\-`.
    let page = String::from_utf8(bin().arg("manpage").output().unwrap().stdout)
        .unwrap()
        .replace("\\-", "-");
    assert!(page.contains(".TH revierfeed 1"));
    for c in &commands {
        assert!(
            page.contains(&format!("revierfeed-{c}(1)")),
            "man page lacks {c}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["manpage", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    for c in &commands {
        let sub = std::fs::read_to_string(dir.path().join(format!("revierfeed-{c}.1"))).unwrap();
        assert!(
            sub.replace("\\-", "-")
                .contains(&format!(".TH revierfeed-{c} 1")),
            "{c}: {sub}"
        );
    }
}
