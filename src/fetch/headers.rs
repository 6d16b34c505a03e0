//! HTTP headers both ways: the conditional request's headers (with a
//! source's own headers, credentials and cookies), and what a
//! response says about itself (validators, freshness from Cache-Control or
//! Expires, Retry-After).

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{self, HeaderMap, HeaderValue};

use super::Want;
use crate::config::{Auth, SourceAccess};
use crate::model::Validators;

/// Adds a source's own headers, cookies and credentials to a request (the
/// caller has checked that the request goes to the source's origin).
pub(super) fn with_access(
    mut request: reqwest::RequestBuilder,
    access: &SourceAccess,
) -> reqwest::RequestBuilder {
    for (name, value) in &access.headers {
        // Validated with the config; a value that no longer parses is skipped, not sent half.
        if let (Ok(n), Ok(v)) = (
            header::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            request = request.header(n, v);
        }
    }
    if !access.cookies.is_empty() {
        let cookie = access
            .cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        if let Ok(mut v) = HeaderValue::from_str(&cookie) {
            v.set_sensitive(true);
            request = request.header(header::COOKIE, v);
        }
    }
    match &access.auth {
        Some(Auth::Basic { user, password }) => request.basic_auth(user, Some(password.expose())),
        Some(Auth::Bearer(token)) => request.bearer_auth(token.expose()),
        None => request,
    }
}

/// Accept for what the request is for, and the validators as If-None-Match/If-Modified-Since.
pub(super) fn request_headers(validators: &Validators, want: Want) -> HeaderMap {
    let mut h = HeaderMap::new();
    let accept = match want {
        Want::Feed => {
            "application/atom+xml, application/rss+xml, application/feed+json, application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, text/html;q=0.7, */*;q=0.5"
        }
        Want::Page => "text/html, application/xhtml+xml;q=0.9, */*;q=0.5",
    };
    h.insert(header::ACCEPT, HeaderValue::from_static(accept));
    h.insert(
        header::ACCEPT_ENCODING,
        HeaderValue::from_static("gzip, br"),
    );
    if let Some(v) = validators
        .etag
        .as_deref()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        h.insert(header::IF_NONE_MATCH, v);
    }
    if let Some(v) = validators
        .last_modified
        .as_deref()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        h.insert(header::IF_MODIFIED_SINCE, v);
    }
    h
}

/// A header's value as text; absent when empty, not text, or implausibly long.
pub(super) fn header_string(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .filter(|s| !s.is_empty() && s.len() <= 1024)
}

/// `Retry-After` as seconds or an HTTP date, capped at a week so a typo can't silence a partner forever.
pub(super) fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    let cap = now + chrono::Duration::days(7);
    if let Ok(secs) = value.parse::<u64>() {
        return Some((now + chrono::Duration::seconds(secs.min(7 * 86400) as i64)).min(cap));
    }
    let when: DateTime<Utc> = httpdate::parse_http_date(value).ok()?.into();
    Some(when.clamp(now, cap))
}

/// Cache-Control max-age (or Expires minus Date): how long the partner asks us not to re-poll.
pub(super) fn freshness(headers: &HeaderMap) -> Option<Duration> {
    if let Some(cc) = headers
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
    {
        let mut max_age = None;
        for directive in cc.split(',').map(str::trim) {
            let lower = directive.to_ascii_lowercase();
            if lower == "no-cache" || lower == "no-store" {
                return None;
            }
            if let Some(v) = lower.strip_prefix("max-age=") {
                max_age = v.trim_matches('"').parse::<u64>().ok();
            }
        }
        if let Some(secs) = max_age {
            return (secs > 0).then(|| Duration::from_secs(secs));
        }
    }
    let expires = httpdate::parse_http_date(headers.get(header::EXPIRES)?.to_str().ok()?).ok()?;
    let date = headers
        .get(header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .unwrap_or_else(std::time::SystemTime::now);
    expires.duration_since(date).ok().filter(|d| !d.is_zero())
}

/// The validators to send next time; empty when the response had none.
pub(super) fn validators(headers: &HeaderMap) -> Validators {
    Validators {
        etag: header_string(headers, header::ETAG),
        last_modified: header_string(headers, header::LAST_MODIFIED),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now: DateTime<Utc> = "2026-03-02T10:00:00Z".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("120"));
        assert_eq!(
            retry_after(&h, now),
            Some(now + chrono::Duration::seconds(120))
        );
        h.insert(
            header::RETRY_AFTER,
            HeaderValue::from_static("Mon, 02 Mar 2026 11:00:00 GMT"),
        );
        assert_eq!(retry_after(&h, now), Some(now + chrono::Duration::hours(1)));
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("999999999"));
        assert_eq!(retry_after(&h, now), Some(now + chrono::Duration::days(7)));
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, now), None);
    }

    #[test]
    fn freshness_from_cache_control_or_expires() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300"),
        );
        assert_eq!(freshness(&h), Some(Duration::from_secs(300)));
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache, max-age=300"),
        );
        assert_eq!(freshness(&h), None);
        let mut h = HeaderMap::new();
        h.insert(
            header::DATE,
            HeaderValue::from_static("Mon, 02 Mar 2026 10:00:00 GMT"),
        );
        h.insert(
            header::EXPIRES,
            HeaderValue::from_static("Mon, 02 Mar 2026 10:30:00 GMT"),
        );
        assert_eq!(freshness(&h), Some(Duration::from_secs(1800)));
    }
}
