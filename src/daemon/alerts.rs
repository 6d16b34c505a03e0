//! Alerts: after each poll the daemon decides, per `[[alert]]` channel and
//! source, whether the source has just started failing (its `after_failures`-th
//! failed poll in a row) or has recovered from a failure that was announced,
//! and sends that once — to a webhook (generic JSON, Slack-compatible, Matrix)
//! or by mail. The decision is a pure function ([`decide`]); this file also
//! owns the rate limits and the delivery.
//!
//! What an alert remembers lives in memory; the failure count itself is the
//! store's. After a restart a source already past the threshold counts as
//! announced (the same config announced it when it crossed), so a restart
//! neither repeats a "failing" alert nor swallows the "recovered" one.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::config::{AlertChannel, AlertSettings, Config, SourceConfig, WebhookFormat};
use crate::pipeline::{PollOutcome, PollReport};
use crate::text::truncate_chars;

/// What an operator is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    Failing,
    Recovered,
}

/// What one channel remembers of one source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Track {
    /// A "failing" alert went out and no "recovered" yet.
    pub(crate) announced: bool,
    /// When the last "failing" alert went out.
    pub(crate) last_failing: Option<DateTime<Utc>>,
}

/// The decision for one poll on one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decision {
    pub(crate) track: Track,
    pub(crate) event: Option<Event>,
    /// A "failing" alert was due but a rate limit held it back.
    pub(crate) held_back: bool,
}

/// How a poll went, as far as alerts care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Polled {
    Failed,
    Succeeded,
    /// Deferred by the partner's Retry-After: says nothing either way.
    Neither,
}

/// The state change of one poll. `track` is `None` when this channel has
/// not seen the source since it started; `failures_before` is the store's
/// count of failed polls in a row before this one; `sent_last_hour` the
/// channel's "failing" alerts in the hour before `now`.
pub(crate) fn decide(
    track: Option<&Track>,
    failures_before: u32,
    polled: Polled,
    rule: &AlertSettings,
    now: DateTime<Utc>,
    sent_last_hour: u32,
) -> Decision {
    let track = track.cloned().unwrap_or(Track {
        announced: failures_before >= rule.after_failures,
        last_failing: None,
    });
    let keep = |track: Track| Decision {
        track,
        event: None,
        held_back: false,
    };
    match polled {
        Polled::Neither => keep(track),
        Polled::Succeeded if track.announced => Decision {
            track: Track {
                announced: false,
                ..track
            },
            event: Some(Event::Recovered),
            held_back: false,
        },
        Polled::Succeeded => keep(track),
        Polled::Failed => {
            let failures = failures_before.saturating_add(1);
            if track.announced || failures < rule.after_failures {
                return keep(track);
            }
            let too_soon = track.last_failing.is_some_and(|t| {
                now.signed_duration_since(t)
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    < rule.min_interval
            });
            if too_soon || sent_last_hour >= rule.max_per_hour {
                return Decision {
                    track,
                    event: None,
                    held_back: true,
                };
            }
            Decision {
                track: Track {
                    announced: true,
                    last_failing: Some(now),
                },
                event: Some(Event::Failing),
                held_back: false,
            }
        }
    }
}

/// One alert's content, the same for every channel.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Notice {
    pub(crate) event: Event,
    pub(crate) source_id: String,
    pub(crate) source_name: String,
    pub(crate) source_url: String,
    /// The poll's error (partner-controlled text: escaped by each format).
    pub(crate) error: Option<String>,
    /// Failed polls in a row (for "failing": up to and including this one).
    pub(crate) failures: u32,
    pub(crate) status_url: String,
    pub(crate) at: DateTime<Utc>,
}

/// The longest error text an alert carries.
const MAX_ERROR_CHARS: usize = 500;

impl Notice {
    pub(crate) fn subject(&self) -> String {
        match self.event {
            Event::Failing => format!("revierfeed: {} is failing", self.source_name),
            Event::Recovered => format!("revierfeed: {} has recovered", self.source_name),
        }
    }

    /// Plain text, for mail and chat.
    pub(crate) fn text(&self) -> String {
        match self.event {
            Event::Failing => format!(
                "Source {} ({}) failed {} polls in a row: {}\nStatus: {}",
                self.source_name,
                self.source_id,
                self.failures,
                self.error.as_deref().unwrap_or("unknown error"),
                self.status_url
            ),
            Event::Recovered => format!(
                "Source {} ({}) is polled successfully again after {} failed polls.\nStatus: {}",
                self.source_name, self.source_id, self.failures, self.status_url
            ),
        }
    }

    /// The JSON body for a webhook of this format.
    pub(crate) fn webhook_body(&self, format: WebhookFormat) -> serde_json::Value {
        match format {
            WebhookFormat::Json => json!({
                "event": match self.event { Event::Failing => "failing", Event::Recovered => "recovered" },
                "source": { "id": self.source_id, "name": self.source_name, "url": self.source_url },
                "error": self.error,
                "failures": self.failures,
                "status_url": self.status_url,
                "at": self.at.to_rfc3339(),
                "text": self.text(),
            }),
            // Slack's mrkdwn treats <, > and & as markup: those three are escaped.
            WebhookFormat::Slack => json!({ "text": slack_escape(&self.text()) }),
            WebhookFormat::Matrix => json!({
                "msgtype": "m.text",
                "body": self.text(),
                "format": "org.matrix.custom.html",
                "formatted_body": self.matrix_html(),
            }),
        }
    }

    fn matrix_html(&self) -> String {
        let esc = |s: &str| html_escape::encode_text(s).to_string();
        let head = match self.event {
            Event::Failing => format!(
                "<b>{}</b> ({}) failed {} polls in a row: {}",
                esc(&self.source_name),
                esc(&self.source_id),
                self.failures,
                esc(self.error.as_deref().unwrap_or("unknown error"))
            ),
            Event::Recovered => format!(
                "<b>{}</b> ({}) is polled successfully again after {} failed polls.",
                esc(&self.source_name),
                esc(&self.source_id),
                self.failures
            ),
        };
        let link = html_escape::encode_double_quoted_attribute(&self.status_url);
        format!("{head}<br><a href=\"{link}\">Status</a>")
    }
}

fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Text from a partner made safe for one line of a message: control
/// characters become spaces, and it is cut at a bound.
fn clean(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    truncate_chars(s.trim(), MAX_ERROR_CHARS)
}

/// Alert state of the running daemon, and the clients that deliver.
pub(crate) struct Alerter {
    state: Mutex<State>,
    http: reqwest::Client,
}

#[derive(Default)]
struct State {
    /// The `[[alert]]` tables the state belongs to; a reload that changes them starts afresh.
    channels: Vec<AlertSettings>,
    tracks: HashMap<(usize, String), Track>,
    /// Per channel, when its "failing" alerts of the last hour went out.
    recent: HashMap<usize, VecDeque<DateTime<Utc>>>,
}

/// How long one delivery may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(20);

impl Alerter {
    pub(crate) fn new(user_agent: &str) -> anyhow::Result<Alerter> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        // The operator's own chat server or relay: no partner input, so no
        // network policy; proxies from the environment apply.
        let http = reqwest::Client::builder()
            .user_agent(user_agent)
            .timeout(SEND_TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()?;
        Ok(Alerter {
            state: Mutex::default(),
            http,
        })
    }

    /// After a poll of `source` that began with `failures_before` failed
    /// polls in a row: decides for every channel and sends in the background.
    pub(crate) fn observe(
        &self,
        config: &Config,
        source: &SourceConfig,
        failures_before: u32,
        report: &PollReport,
        now: DateTime<Utc>,
    ) {
        let (polled, error) = match &report.outcome {
            PollOutcome::Failed { error, .. } => (Polled::Failed, Some(clean(error))),
            PollOutcome::Deferred { .. } => (Polled::Neither, None),
            PollOutcome::NotModified | PollOutcome::Fetched { .. } => (Polled::Succeeded, None),
        };
        let mut due = Vec::new();
        {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if state.channels != config.alerts {
                *state = State {
                    channels: config.alerts.clone(),
                    ..State::default()
                };
            }
            for (i, rule) in config.alerts.iter().enumerate() {
                let recent = state.recent.entry(i).or_default();
                while recent
                    .front()
                    .is_some_and(|t| now.signed_duration_since(*t) >= chrono::Duration::hours(1))
                {
                    recent.pop_front();
                }
                let sent = recent.len() as u32;
                let key = (i, source.id.clone());
                let d = decide(
                    state.tracks.get(&key),
                    failures_before,
                    polled,
                    rule,
                    now,
                    sent,
                );
                if d.held_back {
                    tracing::info!(source = %source.id, channel = i, "alert held back by its rate limit (min_interval, max_per_hour)");
                }
                if d.event == Some(Event::Failing) {
                    state.recent.entry(i).or_default().push_back(now);
                }
                state.tracks.insert(key, d.track);
                if let Some(event) = d.event {
                    due.push((rule.channel.clone(), event));
                }
            }
        }
        for (channel, event) in due {
            let notice = Notice {
                event,
                source_id: source.id.clone(),
                source_name: source.name.clone(),
                source_url: source.url.to_string(),
                error: error.clone(),
                failures: match event {
                    Event::Failing => failures_before.saturating_add(1),
                    Event::Recovered => failures_before,
                },
                status_url: status_url(config, &source.id),
                at: now,
            };
            let http = self.http.clone();
            tokio::spawn(async move {
                let what = notice.subject();
                match deliver(&http, &channel, &notice).await {
                    Ok(()) => tracing::info!(source = %notice.source_id, "alert sent: {what}"),
                    Err(e) => {
                        tracing::warn!(source = %notice.source_id, error = %e, "alert not delivered: {what}")
                    }
                }
            });
        }
    }
}

/// The source's row on /status.
fn status_url(config: &Config, id: &str) -> String {
    format!("{}status#source-{id}", config.feed.public_url)
}

async fn deliver(
    http: &reqwest::Client,
    channel: &AlertChannel,
    notice: &Notice,
) -> anyhow::Result<()> {
    match channel {
        AlertChannel::Webhook { url, format, token } => {
            let body = notice.webhook_body(*format);
            let mut request = if *format == WebhookFormat::Matrix {
                // Matrix sends events by PUT to …/send/m.room.message/{txnId}.
                let mut u = url.clone();
                let txn = format!("revierfeed-{}", rand::random::<u64>());
                u.path_segments_mut()
                    .map_err(|_| anyhow::anyhow!("{url} cannot take a path"))?
                    .pop_if_empty()
                    .push(&txn);
                http.put(u)
            } else {
                http.post(url.clone())
            };
            if let Some(token) = token {
                request = request.bearer_auth(token.expose());
            }
            let response = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(serde_json::to_vec(&body)?)
                .send()
                .await?;
            anyhow::ensure!(
                response.status().is_success(),
                "{url} answered HTTP {}",
                response.status()
            );
            Ok(())
        }
        AlertChannel::Mail {
            host,
            port,
            from,
            to,
        } => {
            use lettre::AsyncTransport;
            let mut message = lettre::Message::builder()
                .from(from.parse()?)
                .subject(notice.subject());
            for t in to {
                message = message.to(t.parse()?);
            }
            let message = message
                .header(lettre::message::header::ContentType::TEXT_PLAIN)
                .body(notice.text())?;
            // Plain SMTP to the host's relay (documented): the relay does TLS onwards.
            let transport =
                lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous(host)
                    .port(*port)
                    .timeout(Some(SEND_TIMEOUT))
                    .build();
            transport.send(message).await?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(after: u32) -> AlertSettings {
        AlertSettings {
            channel: AlertChannel::Mail {
                host: "localhost".into(),
                port: 25,
                from: "a@b.example".into(),
                to: vec![],
            },
            after_failures: after,
            min_interval: Duration::from_secs(3600),
            max_per_hour: 2,
        }
    }

    /// Runs polls through `decide` as the daemon does; returns the events.
    fn run(polls: &[Polled], rule: &AlertSettings, minutes_apart: i64) -> Vec<Option<Event>> {
        let t0: DateTime<Utc> = "2026-03-02T10:00:00Z".parse().unwrap();
        let (mut track, mut failures) = (None, 0u32);
        polls
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let now = t0 + chrono::Duration::minutes(minutes_apart * i as i64);
                let d = decide(track.as_ref(), failures, *p, rule, now, 0);
                track = Some(d.track);
                failures = match p {
                    Polled::Failed => failures + 1,
                    Polled::Succeeded => 0,
                    Polled::Neither => failures,
                };
                d.event
            })
            .collect()
    }

    use Polled::*;

    #[test]
    fn one_alert_when_failing_starts_and_one_when_it_ends() {
        let events = run(
            &[
                Succeeded, Failed, Failed, Failed, Failed, Neither, Failed, Succeeded, Succeeded,
            ],
            &rule(3),
            15,
        );
        let sent: Vec<(usize, Event)> = events
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.map(|e| (i, e)))
            .collect();
        assert_eq!(sent, vec![(3, Event::Failing), (7, Event::Recovered)]);
    }

    #[test]
    fn failures_below_the_threshold_say_nothing() {
        let events = run(
            &[Failed, Failed, Succeeded, Failed, Succeeded],
            &rule(3),
            15,
        );
        assert!(events.iter().all(Option::is_none), "{events:?}");
    }

    #[test]
    fn a_flapping_source_is_announced_once_per_min_interval() {
        // Fails, recovers, fails again 20 minutes later: within the hour, held back.
        let events = run(
            &[
                Failed, Succeeded, Failed, Succeeded, Failed, Failed, Failed, Failed, Succeeded,
            ],
            &rule(1),
            10,
        );
        let failing = events
            .iter()
            .filter(|e| **e == Some(Event::Failing))
            .count();
        let recovered = events
            .iter()
            .filter(|e| **e == Some(Event::Recovered))
            .count();
        // The first at 0 min; the next allowed at ≥ 60 min (poll 6); each with its recovery.
        assert_eq!((failing, recovered), (2, 2), "{events:?}");
        assert_eq!(events[0], Some(Event::Failing));
        assert_eq!(events[2], None);
        assert_eq!(events[6], Some(Event::Failing));
    }

    #[test]
    fn the_hourly_cap_holds_back_and_a_restart_does_not_repeat() {
        let now: DateTime<Utc> = "2026-03-02T10:00:00Z".parse().unwrap();
        let d = decide(None, 2, Failed, &rule(3), now, 2);
        assert_eq!((d.event, d.held_back), (None, true));
        // After a restart, a source already past the threshold is not announced again…
        let d = decide(None, 5, Failed, &rule(3), now, 0);
        assert_eq!(d.event, None);
        // …but its recovery is.
        let d = decide(None, 5, Succeeded, &rule(3), now, 0);
        assert_eq!(d.event, Some(Event::Recovered));
    }

    #[test]
    fn partner_text_is_escaped_for_each_format() {
        let n = Notice {
            event: Event::Failing,
            source_id: "x".into(),
            source_name: "<b>X</b> & Co".into(),
            source_url: "http://x.example/".into(),
            error: Some(clean("HTTP 500 <script>alert(1)</script>\u{7}")),
            failures: 3,
            status_url: "http://feeds.example/status#source-x".into(),
            at: "2026-03-02T10:00:00Z".parse().unwrap(),
        };
        let matrix = n.webhook_body(WebhookFormat::Matrix);
        let html = matrix["formatted_body"].as_str().unwrap();
        assert!(
            !html.contains("<script>") && html.contains("&lt;script&gt;"),
            "{html}"
        );
        assert!(html.contains("<a href=\"http://feeds.example/status#source-x\">"));
        let slack = n.webhook_body(WebhookFormat::Slack);
        assert!(!slack["text"].as_str().unwrap().contains('<'));
        let generic = n.webhook_body(WebhookFormat::Json);
        assert_eq!(generic["event"], "failing");
        assert_eq!(generic["source"]["id"], "x");
        assert!(!generic["error"].as_str().unwrap().contains('\u{7}'));
    }
}
