//! Checks of what a source's requests carry (`headers`, `cookies`,
//! `basic_auth`, `bearer`) and of `[fetch] proxy`; secrets are read here from
//! their environment variable or file, once per load (a reload reads them
//! again), and a secret written into the file itself is accepted with a warning.

use std::collections::BTreeMap;
use std::path::PathBuf;

use toml::Spanned;
use url::Url;

use super::Validator;
use crate::config::access::{RESERVED_HEADERS, SourceAccess};
use crate::config::raw::{RawBasicAuth, RawBearer};
use crate::config::{Auth, Secret};

/// Where a secret comes from, as written.
pub(super) struct SecretKeys<'k> {
    pub(super) literal: Option<Spanned<String>>,
    pub(super) env: Option<Spanned<String>>,
    pub(super) file: Option<Spanned<String>>,
    /// Key names for messages: (literal, env, file).
    pub(super) names: (&'k str, &'k str, &'k str),
}

impl Validator<'_> {
    pub(super) fn proxy(&mut self, raw: Spanned<String>) -> Option<Url> {
        match Url::parse(raw.get_ref()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                if u.password().is_some() {
                    self.warn(
                        raw.span(),
                        "fetch.proxy",
                        "the proxy password is written into the config; set HTTPS_PROXY in the service's environment instead",
                    );
                }
                Some(u)
            }
            _ => {
                self.err(
                    raw.span(),
                    "fetch.proxy",
                    format!(
                        "`{}` is not a proxy URL such as \"http://proxy.example:3128\"",
                        raw.get_ref()
                    ),
                );
                None
            }
        }
    }

    pub(super) fn access(
        &mut self,
        index: usize,
        url: Option<&Url>,
        headers: BTreeMap<String, Spanned<String>>,
        cookies: BTreeMap<String, Spanned<String>>,
        basic_auth: Option<Spanned<RawBasicAuth>>,
        bearer: Option<Spanned<RawBearer>>,
    ) -> SourceAccess {
        let key = |k: &str| format!("source[{index}].{k}");
        let mut access = SourceAccess {
            scope: url.cloned(),
            ..Default::default()
        };
        for (what, map) in [("headers", &headers), ("cookies", &cookies)] {
            if map.len() > SourceAccess::MAX_ENTRIES {
                if let Some(v) = map.values().next() {
                    self.err(
                        v.span(),
                        &key(what),
                        format!("at most {} entries", SourceAccess::MAX_ENTRIES),
                    );
                }
            }
        }
        for (name, value) in headers {
            let lower = name.to_ascii_lowercase();
            let k = key(&format!("headers.{name}"));
            if reqwest::header::HeaderName::from_bytes(lower.as_bytes()).is_err() {
                self.err(value.span(), &k, format!("`{name}` is not a header name"));
            } else if RESERVED_HEADERS.contains(&lower.as_str()) {
                self.err(
                    value.span(),
                    &k,
                    format!(
                        "`{name}` is set by revierfeed itself{}",
                        match lower.as_str() {
                            "authorization" => "; use basic_auth or bearer",
                            "cookie" => "; use cookies",
                            _ => "",
                        }
                    ),
                );
            } else if !header_value_ok(value.get_ref()) {
                self.err(
                    value.span(),
                    &k,
                    format!(
                        "must be one line of visible characters, at most {} bytes",
                        SourceAccess::MAX_VALUE_BYTES
                    ),
                );
            } else {
                access.headers.push((lower, value.into_inner()));
            }
        }
        for (name, value) in cookies {
            let k = key(&format!("cookies.{name}"));
            if !cookie_name_ok(&name) {
                self.err(value.span(), &k, format!("`{name}` is not a cookie name"));
            } else if !cookie_value_ok(value.get_ref()) {
                self.err(
                    value.span(),
                    &k,
                    "a cookie value has no spaces, quotes, commas, semicolons or backslashes (RFC 6265)",
                );
            } else {
                access.cookies.push((name, value.into_inner()));
            }
        }
        if let (Some(_), Some(b)) = (&basic_auth, &bearer) {
            self.err(
                b.span(),
                &key("bearer"),
                "a source has basic_auth or bearer, not both",
            );
        }
        if let Some(b) = basic_auth {
            let span = b.span();
            let b = b.into_inner();
            let user = b.user.get_ref().clone();
            if user.contains(':') || !header_value_ok(&user) || user.is_empty() {
                self.err(
                    b.user.span(),
                    &key("basic_auth.user"),
                    "must be a non-empty user name without ':'",
                );
            }
            let keys = SecretKeys {
                literal: b.password,
                env: b.password_env,
                file: b.password_file,
                names: ("password", "password_env", "password_file"),
            };
            if let Some(password) = self.secret(keys, span, &key("basic_auth")) {
                access.auth = Some(Auth::Basic { user, password });
            }
        } else if let Some(b) = bearer {
            let span = b.span();
            let b = b.into_inner();
            let keys = SecretKeys {
                literal: b.token,
                env: b.token_env,
                file: b.token_file,
                names: ("token", "token_env", "token_file"),
            };
            if let Some(token) = self.secret(keys, span.clone(), &key("bearer")) {
                if header_value_ok(token.expose()) {
                    access.auth = Some(Auth::Bearer(token));
                } else {
                    self.err(
                        span,
                        &key("bearer"),
                        "the token is not one line of visible characters",
                    );
                }
            }
        }
        access
    }

    /// The secret from exactly one of its keys; the literal one is warned about.
    pub(super) fn secret(
        &mut self,
        keys: SecretKeys<'_>,
        table: std::ops::Range<usize>,
        key: &str,
    ) -> Option<Secret> {
        let (lit, env, file) = keys.names;
        let given = [
            keys.literal.is_some(),
            keys.env.is_some(),
            keys.file.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            self.err(
                table,
                key,
                format!("give the secret by exactly one of `{env}`, `{file}` or `{lit}`"),
            );
            return None;
        }
        let (span, k, value) = if let Some(l) = keys.literal {
            self.warn(
                l.span(),
                &format!("{key}.{lit}"),
                format!(
                    "a secret is written into the config; use `{env}` or `{file}` so the file can be shared"
                ),
            );
            (l.span(), lit, Ok(l.into_inner()))
        } else if let Some(e) = keys.env {
            let value = std::env::var(e.get_ref()).map_err(|_| {
                format!(
                    "environment variable `{}` is not set (or not UTF-8)",
                    e.get_ref()
                )
            });
            (e.span(), env, value)
        } else {
            let f = keys.file.expect("one key is given");
            let path = self.anchored(f.get_ref());
            let value = read_secret_file(&path);
            (f.span(), file, value)
        };
        let value = value.and_then(|v| {
            if v.is_empty() {
                Err("the secret is empty".to_string())
            } else if v.len() > SourceAccess::MAX_VALUE_BYTES || v.contains(['\r', '\n']) {
                Err(format!(
                    "the secret must be one line of at most {} bytes",
                    SourceAccess::MAX_VALUE_BYTES
                ))
            } else {
                Ok(v)
            }
        });
        match value {
            Ok(v) => Some(Secret::new(v)),
            Err(message) => {
                self.err(span, &format!("{key}.{k}"), message);
                None
            }
        }
    }

    /// A path as written, relative ones anchored at the config file's directory.
    fn anchored(&self, path: &str) -> PathBuf {
        let p = PathBuf::from(path);
        match self.locator.file.parent() {
            Some(dir) if p.is_relative() && !dir.as_os_str().is_empty() => dir.join(p),
            _ => p,
        }
    }
}

/// A secret file's first line (a trailing newline is what editors add, not part of it).
fn read_secret_file(path: &std::path::Path) -> Result<String, String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| {
            f.take(SourceAccess::MAX_VALUE_BYTES as u64 + 2)
                .read_to_string(&mut text)
        })
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let text = text.strip_suffix('\n').unwrap_or(&text);
    Ok(text.strip_suffix('\r').unwrap_or(text).to_string())
}

fn header_value_ok(v: &str) -> bool {
    v.len() <= SourceAccess::MAX_VALUE_BYTES
        && v.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
}

/// RFC 6265 cookie-name: an HTTP token.
fn cookie_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 256
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// RFC 6265 cookie-octet: visible ASCII except `"` `,` `;` `\`.
fn cookie_value_ok(v: &str) -> bool {
    v.len() <= SourceAccess::MAX_VALUE_BYTES
        && v.bytes()
            .all(|b| (0x21..0x7f).contains(&b) && !b"\",;\\".contains(&b))
}
