//! How requests to one partner identify themselves beyond the defaults:
//! extra headers, basic or bearer authentication and cookies (`[[source]]`
//! keys `headers`, `basic_auth`, `bearer`, `cookies`), and the secrets they
//! carry, which are read from an environment variable or a file when the
//! config is loaded and never printed.

use std::fmt;

use url::Url;

/// A password or token: compared like a string, but never shown by `Debug`,
/// so a logged config cannot leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub(crate) fn new(value: String) -> Secret {
        Secret(value)
    }

    /// The secret itself, for the one place that sends it.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// The `Authorization` a source's requests carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    Basic { user: String, password: Secret },
    Bearer(Secret),
}

/// What a source's requests carry besides the defaults; sent only to the
/// source's own origin (see [`SourceAccess::applies_to`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceAccess {
    /// Validated header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    pub auth: Option<Auth>,
    /// Cookie names and values, sent as one `Cookie` header.
    pub cookies: Vec<(String, String)>,
    /// The configured source URL, whose origin alone receives all of the above.
    pub scope: Option<Url>,
}

impl SourceAccess {
    /// At most this many headers or cookies per source.
    pub const MAX_ENTRIES: usize = 32;
    /// The longest header or cookie value (and secret), in bytes.
    pub const MAX_VALUE_BYTES: usize = 4096;

    /// Whether nothing beyond the defaults is sent.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty() && self.auth.is_none() && self.cookies.is_empty()
    }

    /// Whether a request to `target` may carry the extras: only to the
    /// configured URL's origin (scheme, host, port), or its https upgrade,
    /// so that a redirect to another site never receives credentials.
    pub fn applies_to(&self, target: &Url) -> bool {
        let Some(scope) = &self.scope else {
            return false;
        };
        if scope.host_str() != target.host_str() {
            return false;
        }
        let same = scope.scheme() == target.scheme()
            && scope.port_or_known_default() == target.port_or_known_default();
        let upgrade = scope.scheme() == "http"
            && target.scheme() == "https"
            && target.port().is_none()
            && scope.port().is_none();
        same || upgrade
    }
}

/// Header names the operator may not set: the client owns them (framing,
/// conditional requests, compression it decodes itself) or they have their
/// own key (`basic_auth`/`bearer`, `cookies`).
pub(crate) const RESERVED_HEADERS: &[&str] = &[
    "host",
    "connection",
    "content-length",
    "transfer-encoding",
    "te",
    "upgrade",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
    "accept-encoding",
    "if-none-match",
    "if-modified-since",
    "authorization",
    "cookie",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extras_go_to_the_configured_origin_only() {
        let access = SourceAccess {
            scope: Some(Url::parse("http://partner.example/feed.xml").unwrap()),
            ..Default::default()
        };
        for (url, ok) in [
            ("http://partner.example/other", true),
            ("https://partner.example/feed.xml", true),
            ("http://partner.example:8080/feed.xml", false),
            ("http://evil.example/feed.xml", false),
            ("http://sub.partner.example/", false),
        ] {
            assert_eq!(access.applies_to(&Url::parse(url).unwrap()), ok, "{url}");
        }
        let tls = SourceAccess {
            scope: Some(Url::parse("https://partner.example/").unwrap()),
            ..Default::default()
        };
        assert!(!tls.applies_to(&Url::parse("http://partner.example/").unwrap()));
        assert!(
            format!("{:?}", Secret::new("hunter2".into()))
                .find("hunter2")
                .is_none()
        );
    }
}
