//! `[[alert]]`: where the daemon tells an operator that a source started
//! failing or recovered — a webhook (generic JSON, Slack-compatible or a
//! Matrix room) or mail through an SMTP relay — and how often it may.

use std::time::Duration;

use url::Url;

use super::Secret;

/// One `[[alert]]` table, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertSettings {
    pub channel: AlertChannel,
    /// Failed polls in a row before a source counts as failing.
    pub after_failures: u32,
    /// A source that fails again within this time after its last "failing"
    /// alert is not announced again (a flapping partner sends one pair).
    pub min_interval: Duration,
    /// "Failing" alerts this channel sends in any hour, over all sources.
    pub max_per_hour: u32,
}

impl AlertSettings {
    pub const DEFAULT_AFTER_FAILURES: u32 = 3;
    pub const DEFAULT_MIN_INTERVAL: Duration = Duration::from_secs(6 * 3600);
    pub const DEFAULT_MAX_PER_HOUR: u32 = 20;
}

/// Where an alert goes.
#[derive(Debug, Clone, PartialEq)]
pub enum AlertChannel {
    /// POSTed (PUT for Matrix) to `url`, with `token` as bearer when given.
    Webhook {
        url: Url,
        format: WebhookFormat,
        token: Option<Secret>,
    },
    /// Plain SMTP to a relay (the host's MTA), one mail to all of `to`.
    Mail {
        host: String,
        port: u16,
        from: String,
        to: Vec<String>,
    },
}

/// The body a webhook receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFormat {
    /// `{"event": …, "source": {…}, "error": …, "status_url": …, "text": …}`.
    Json,
    /// `{"text": …}`: Slack incoming webhooks, Mattermost, Rocket.Chat.
    Slack,
    /// An `m.room.message` event, PUT to the room's send URL plus a transaction id.
    Matrix,
}

impl WebhookFormat {
    pub const ALL: [(&str, WebhookFormat); 3] = [
        ("json", WebhookFormat::Json),
        ("slack", WebhookFormat::Slack),
        ("matrix", WebhookFormat::Matrix),
    ];
}
