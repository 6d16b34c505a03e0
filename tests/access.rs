//! Partners behind a login or an outbound proxy (issue 16): a source with
//! basic auth, a cookie and its own header is polled through a local proxy;
//! credentials never follow a redirect to another origin; a target reached
//! through the proxy is still judged by the network policy.

use std::sync::Arc;

use axum::body::Body;
use axum::http::Response;
use base64::Engine;
use revierfeed::app::App;
use revierfeed::config::Config;
use revierfeed::pipeline::{self, PollOutcome};

use crate::support::hostile::small_feed;
use crate::support::receivers::{Proxy, Recorder, Seen};
use crate::support::{config_text_with, source};

fn feed_unless_unauthorised(expected_auth: String) -> impl Fn(&Seen) -> Response<Body> {
    move |seen: &Seen| {
        let auth = seen
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if auth != Some(expected_auth.as_str()) {
            return Response::builder()
                .status(401)
                .header("www-authenticate", "Basic realm=\"partner\"")
                .body(Body::from("login required"))
                .unwrap();
        }
        Response::builder()
            .status(200)
            .header("content-type", "application/rss+xml")
            .body(Body::from(small_feed("intern", 3)))
            .unwrap()
    }
}

fn load(dir: &std::path::Path, text: String) -> Config {
    let path = dir.join("config.toml");
    std::fs::write(&path, &text).unwrap();
    Config::load(&path).unwrap_or_else(|e| panic!("config invalid: {e}\n{text}"))
}

/// A test config whose one source carries `access` (TOML lines) and whose `[fetch]` has `fetch`.
fn config(dir: &std::path::Path, url: String, access: &str, fetch: &[(&str, &str)]) -> Config {
    let text = config_text_with(dir, &[source("intern", url, "feed")], fetch);
    load(dir, format!("{text}{access}\n"))
}

#[tokio::test]
async fn a_source_behind_basic_auth_is_polled_through_a_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("feedleser:geheim 42")
    );
    let partner = Recorder::start(feed_unless_unauthorised(expected.clone())).await;
    let proxy = Proxy::start().await;
    std::fs::write(dir.path().join("partner.pw"), "geheim 42\n").unwrap();
    let proxy_key = format!("\"{}\"", proxy.url());
    let config = config(
        dir.path(),
        partner.url("/intern/feed.xml"),
        "headers = { \"X-Partner-Key\" = \"lausitz\" }\n\
         cookies = { sitzung = \"abc123\" }\n\
         basic_auth = { user = \"feedleser\", password_file = \"partner.pw\" }",
        &[("proxy", &proxy_key)],
    );
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    let app = Arc::new(App::new(config).unwrap());
    let reports = pipeline::refresh_all(&app, false, |_| {}).await;
    match &reports[0].outcome {
        PollOutcome::Fetched { report, .. } => assert_eq!(report.new, 3),
        other => panic!("expected the feed, got {other:?}"),
    }
    // The request went through the proxy, in absolute form, to the partner.
    let target = partner.url("/intern/feed.xml");
    assert!(
        proxy
            .seen()
            .iter()
            .any(|l| l == &format!("GET {target} HTTP/1.1")),
        "proxy saw {:?}",
        proxy.seen()
    );
    let seen = partner.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let h = &seen[0].headers;
    assert_eq!(h["authorization"], expected.as_str());
    assert_eq!(h["cookie"], "sitzung=abc123");
    assert_eq!(h["x-partner-key"], "lausitz");
}

#[tokio::test]
async fn without_credentials_the_partner_refuses_and_the_error_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let partner = Recorder::start(feed_unless_unauthorised("Basic x".into())).await;
    let config = config(dir.path(), partner.url("/feed.xml"), "", &[]);
    let app = Arc::new(App::new(config).unwrap());
    let reports = pipeline::refresh_all(&app, false, |_| {}).await;
    assert!(
        matches!(
            &reports[0].outcome,
            PollOutcome::Failed {
                status: Some(401),
                ..
            }
        ),
        "{:?}",
        reports[0].outcome
    );
}

#[tokio::test]
async fn credentials_do_not_follow_a_redirect_to_another_origin() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = Recorder::start(|_| {
        Response::builder()
            .status(200)
            .header("content-type", "application/rss+xml")
            .body(Body::from(small_feed("woanders", 2)))
            .unwrap()
    })
    .await;
    let to = elsewhere.url("/feed.xml");
    let partner = Recorder::start(move |_| {
        Response::builder()
            .status(302)
            .header("location", to.as_str())
            .body(Body::empty())
            .unwrap()
    })
    .await;
    let config = config(
        dir.path(),
        partner.url("/feed.xml"),
        "cookies = { sitzung = \"abc\" }\nheaders = { \"X-Partner-Key\" = \"k\" }\nbearer = { token = \"t0ken\" }",
        &[],
    );
    // A token written into the file works, and `check` warns about it.
    assert_eq!(config.warnings.len(), 1, "{:?}", config.warnings);
    assert!(config.warnings[0].key.ends_with("bearer.token"));
    let app = Arc::new(App::new(config).unwrap());
    let reports = pipeline::refresh_all(&app, false, |_| {}).await;
    assert!(
        matches!(&reports[0].outcome, PollOutcome::Fetched { .. }),
        "{:?}",
        reports[0].outcome
    );
    assert_eq!(partner.seen()[0].headers["authorization"], "Bearer t0ken");
    let there = &elsewhere.seen()[0].headers;
    for name in ["authorization", "cookie", "x-partner-key"] {
        assert!(
            !there.contains_key(name),
            "{name} was sent to another origin: {there:?}"
        );
    }
}

#[tokio::test]
async fn through_a_proxy_targets_are_still_judged_by_the_network_policy() {
    let dir = tempfile::tempdir().unwrap();
    let partner = Recorder::start(feed_unless_unauthorised("x".into())).await;
    let proxy = Proxy::start().await;
    let proxy_key = format!("\"{}\"", proxy.url());
    // Loopback is not opened; the proxy (the operator's choice) may be on it.
    let by_name = format!("http://localhost:{}/feed.xml", partner.addr.port());
    let config = config(
        dir.path(),
        by_name,
        "",
        &[("proxy", &proxy_key), ("allow_networks", "[]")],
    );
    let app = Arc::new(App::new(config).unwrap());
    let reports = pipeline::refresh_all(&app, false, |_| {}).await;
    match &reports[0].outcome {
        PollOutcome::Failed { error, .. } => {
            assert!(
                error.contains("refused to connect") && error.contains("loopback"),
                "{error}"
            )
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(
        proxy.seen().is_empty(),
        "the proxy was asked: {:?}",
        proxy.seen()
    );
    assert!(partner.seen().is_empty());
}

#[test]
fn secrets_come_from_the_environment_or_a_file_and_bad_keys_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let base = config_text_with(
        dir.path(),
        &[source(
            "intern",
            "http://partner.example/feed".into(),
            "feed",
        )],
        &[],
    );
    let path = dir.path().join("config.toml");
    let try_load = |extra: &str| {
        let text = format!("{base}{extra}\n");
        std::fs::write(&path, &text).unwrap();
        Config::load(&path)
    };
    // PATH is set in every environment a test runs in.
    let ok = try_load("bearer = { token_env = \"PATH\" }").unwrap();
    assert!(ok.warnings.is_empty());
    assert!(!format!("{:?}", ok.sources[0].access).contains(&std::env::var("PATH").unwrap()));
    for (extra, key) in [
        (
            "bearer = { token_env = \"REVIERFEED_SURELY_UNSET_VAR\" }",
            "bearer.token_env",
        ),
        (
            "basic_auth = { user = \"u\", password_file = \"missing.pw\" }",
            "basic_auth.password_file",
        ),
        ("basic_auth = { user = \"u\" }", "basic_auth"),
        ("headers = { Host = \"x\" }", "headers.Host"),
        (
            "headers = { Authorization = \"Basic eA==\" }",
            "headers.Authorization",
        ),
        ("cookies = { a = \"b;c\" }", "cookies.a"),
    ] {
        let errors = try_load(extra).expect_err(extra);
        assert!(
            errors.0.iter().any(|e| e.key == format!("source[0].{key}")),
            "{extra}: {errors}"
        );
    }
}
