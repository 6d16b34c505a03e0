//! Checks of `[[alert]]` tables: exactly one channel (a webhook or mail),
//! its address, format and token, and the thresholds.

use toml::Spanned;
use url::Url;

use super::Validator;
use super::access::SecretKeys;
use crate::config::error::one_of;
use crate::config::raw::RawAlert;
use crate::config::{AlertChannel, AlertSettings, WebhookFormat};

impl Validator<'_> {
    pub(super) fn alert(&mut self, raw: Spanned<RawAlert>, index: usize) -> Option<AlertSettings> {
        let key = |k: &str| format!("alert[{index}].{k}");
        let span = raw.span();
        let raw = raw.into_inner();
        let after_failures = self.count(
            raw.after_failures,
            &key("after_failures"),
            1..=1000,
            AlertSettings::DEFAULT_AFTER_FAILURES as usize,
        ) as u32;
        let min_interval = self.duration_or_zero(
            raw.min_interval,
            &key("min_interval"),
            AlertSettings::DEFAULT_MIN_INTERVAL,
        );
        let max_per_hour = self.count(
            raw.max_per_hour,
            &key("max_per_hour"),
            1..=10_000,
            AlertSettings::DEFAULT_MAX_PER_HOUR as usize,
        ) as u32;
        let channel = match (raw.webhook, raw.mail_to) {
            (Some(webhook), None) => {
                for (k, v) in [("mail_from", &raw.mail_from), ("smtp", &raw.smtp)] {
                    if let Some(v) = v {
                        self.err(
                            v.span(),
                            &key(k),
                            "belongs to a mail alert (mail_to), not a webhook",
                        );
                    }
                }
                let url = match Url::parse(webhook.get_ref()) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                        Some(u)
                    }
                    _ => {
                        self.err(webhook.span(), &key("webhook"), "must be an http(s) URL");
                        None
                    }
                };
                let format = match &raw.format {
                    None => Some(WebhookFormat::Json),
                    Some(f) => {
                        let found = WebhookFormat::ALL
                            .iter()
                            .find(|(name, _)| name == f.get_ref())
                            .map(|(_, f)| *f);
                        if found.is_none() {
                            let names = one_of(WebhookFormat::ALL.iter().map(|(n, _)| *n));
                            self.err(f.span(), &key("format"), format!("use {names}"));
                        }
                        found
                    }
                };
                let token =
                    if raw.token.is_some() || raw.token_env.is_some() || raw.token_file.is_some() {
                        let keys = SecretKeys {
                            literal: raw.token,
                            env: raw.token_env,
                            file: raw.token_file,
                            names: ("token", "token_env", "token_file"),
                        };
                        Some(self.secret(keys, span.clone(), &format!("alert[{index}]"))?)
                    } else {
                        None
                    };
                if format == Some(WebhookFormat::Matrix) && token.is_none() {
                    self.err(
                        span,
                        &key("token_env"),
                        "a Matrix room needs an access token (token_env or token_file)",
                    );
                }
                AlertChannel::Webhook {
                    url: url?,
                    format: format?,
                    token,
                }
            }
            (None, Some(to)) => {
                for (k, v) in [
                    ("format", &raw.format),
                    ("token", &raw.token),
                    ("token_env", &raw.token_env),
                    ("token_file", &raw.token_file),
                ] {
                    if let Some(v) = v {
                        self.err(v.span(), &key(k), "belongs to a webhook alert, not mail");
                    }
                }
                let mut addresses = Vec::new();
                for a in &to {
                    match a.get_ref().parse::<lettre::Address>() {
                        Ok(_) => addresses.push(a.get_ref().clone()),
                        Err(e) => {
                            self.err(a.span(), &key("mail_to"), format!("`{}`: {e}", a.get_ref()))
                        }
                    }
                }
                if to.is_empty() {
                    self.err(span.clone(), &key("mail_to"), "names no recipient");
                }
                let from = match &raw.mail_from {
                    Some(f) => match f.get_ref().parse::<lettre::Address>() {
                        Ok(_) => Some(f.get_ref().clone()),
                        Err(e) => {
                            self.err(
                                f.span(),
                                &key("mail_from"),
                                format!("`{}`: {e}", f.get_ref()),
                            );
                            None
                        }
                    },
                    None => {
                        self.err(
                            span.clone(),
                            &key("mail_from"),
                            "a mail alert needs a sender address",
                        );
                        None
                    }
                };
                let relay = match &raw.smtp {
                    None => Some(("localhost".to_string(), 25)),
                    Some(s) => match Url::parse(s.get_ref()) {
                        Ok(u) if u.scheme() == "smtp" && u.host_str().is_some() => Some((
                            u.host_str().unwrap_or_default().to_string(),
                            u.port().unwrap_or(25),
                        )),
                        _ => {
                            self.err(
                                s.span(),
                                &key("smtp"),
                                "must be a relay such as \"smtp://localhost:25\" (plain SMTP to the host's mail server)",
                            );
                            None
                        }
                    },
                };
                let (host, port) = relay?;
                AlertChannel::Mail {
                    host,
                    port,
                    from: from?,
                    to: addresses,
                }
            }
            _ => {
                self.err(
                    span,
                    &format!("alert[{index}]"),
                    "give either `webhook` or `mail_to`",
                );
                return None;
            }
        };
        Some(AlertSettings {
            channel,
            after_failures,
            min_interval,
            max_per_hour,
        })
    }
}
