//! Network policy: which addresses a request may reach (no loopback, private,
//! link-local or metadata ranges unless config opens them), the DNS resolver
//! that drops refused addresses, and the checks every redirect hop passes.
//!
//! Through an outbound proxy the resolver sees only the proxy's name (the
//! proxy resolves the target), so then every target is resolved here before
//! the request and refused if any of its addresses is ([`NetworkPolicy::check_resolved`]).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use url::Url;

use super::FetchError;

/// Decides which resolved addresses may be connected to.
#[derive(Debug, Clone, Default)]
pub(super) struct NetworkPolicy {
    allow: Vec<IpNet>,
}

impl NetworkPolicy {
    pub(super) fn new(allow: Vec<IpNet>) -> Self {
        NetworkPolicy { allow }
    }

    /// `Err(reason)` when `ip` is in a non-public range that config has not opened.
    pub(super) fn check(&self, ip: IpAddr) -> Result<(), &'static str> {
        let ip = canonical_ip(ip);
        if self.allow.iter().any(|n| n.contains(&ip)) {
            return Ok(());
        }
        match non_public_reason(ip) {
            Some(why) => Err(why),
            None => Ok(()),
        }
    }

    /// For requests through a proxy: resolves the target's host name and
    /// refuses it when any address is refused (the proxy may pick any of
    /// them) or when it cannot be resolved (then it cannot be judged).
    pub(super) async fn check_resolved(&self, url: &Url) -> Result<(), FetchError> {
        let Some(url::Host::Domain(host)) = url.host() else {
            return Ok(()); // literals are judged by `check_url`
        };
        let port = url.port_or_known_default().unwrap_or(80);
        let addrs = tokio::net::lookup_host((host, port)).await.map_err(|e| {
            FetchError::Network(format!(
                "{host}: cannot be resolved here to check it against the network policy before asking the proxy: {e}"
            ))
        })?;
        for addr in addrs {
            self.check(addr.ip()).map_err(|why| FetchError::Blocked {
                host: host.to_string(),
                addr: addr.ip(),
                why,
            })?;
        }
        Ok(())
    }

    /// Checked before every hop: the scheme, and a host written as an IP
    /// literal, which the resolver never sees.
    pub(super) fn check_url(&self, url: &Url) -> Result<(), FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::Scheme(url.to_string()));
        }
        let ip = match url.host() {
            Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
            Some(url::Host::Domain(_)) => return Ok(()),
            None => return Err(FetchError::Scheme(url.to_string())),
        };
        self.check(ip).map_err(|why| FetchError::Blocked {
            host: url.host_str().unwrap_or_default().to_string(),
            addr: ip,
            why,
        })
    }
}

/// IPv4-mapped and NAT64 IPv6 addresses are judged by the IPv4 address inside.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let s = v6.segments();
            let o = v6.octets();
            // NAT64 (64:ff9b::/96) and the deprecated IPv4-compatible form (::a.b.c.d)
            // carry the IPv4 address in the last 32 bits.
            let nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0];
            let compatible =
                s[..6] == [0, 0, 0, 0, 0, 0] && !v6.is_loopback() && !v6.is_unspecified();
            if nat64 || compatible {
                return IpAddr::V4(std::net::Ipv4Addr::new(o[12], o[13], o[14], o[15]));
            }
            // 6to4 (2002::/16) carries it in bits 16..48.
            if s[0] == 0x2002 {
                return IpAddr::V4(std::net::Ipv4Addr::new(o[2], o[3], o[4], o[5]));
            }
            IpAddr::V6(v6)
        }
        v4 => v4,
    }
}

fn non_public_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_loopback() {
                Some("loopback address")
            } else if v4.is_private() {
                Some("private network address")
            } else if v4.is_link_local() {
                Some("link-local or cloud metadata address")
            } else if o[0] == 100 && (64..128).contains(&o[1]) {
                Some("carrier-grade NAT address")
            } else if o[0] == 0 || v4.is_broadcast() || v4.is_multicast() || o[0] >= 240 {
                Some("reserved, broadcast or multicast address")
            } else if o[0] == 192 && o[1] == 0 && o[2] == 0 {
                Some("IETF protocol assignment address")
            } else if (o[0] == 198 && (o[1] & 0xfe) == 18) || v4.is_documentation() {
                Some("benchmarking or documentation address")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            if v6.is_loopback() {
                Some("loopback address")
            } else if v6.is_unspecified() || v6.is_multicast() {
                Some("unspecified or multicast address")
            } else if (s[0] & 0xfe00) == 0xfc00 {
                Some("private network address (unique local)")
            } else if (s[0] & 0xffc0) == 0xfe80 {
                Some("link-local address")
            } else if s[0] == 0x2001 && s[1] == 0x0db8 {
                Some("documentation address")
            } else {
                None
            }
        }
    }
}

/// DNS resolution that drops every address the policy refuses, so a name
/// pointing at 127.0.0.1 or 169.254.169.254 is never connected to.
pub(super) struct GuardedResolver {
    pub(super) policy: Arc<NetworkPolicy>,
    /// Host names of the configured proxies, resolved without the policy:
    /// the operator chose them; targets behind them are judged by `check_resolved`.
    pub(super) trusted: Vec<String>,
}

/// The proxies requests may go through: `[fetch] proxy`, else the standard
/// variables (upper or lower case) that reqwest reads.
pub(super) fn proxy_servers(configured: Option<&Url>) -> Vec<Url> {
    if let Some(p) = configured {
        return vec![p.clone()];
    }
    ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"]
        .iter()
        .flat_map(|name| [name.to_string(), name.to_ascii_lowercase()])
        .filter_map(|name| std::env::var(name).ok())
        .filter(|v| !v.trim().is_empty())
        .filter_map(|v| {
            let v = v.trim();
            // As reqwest does: a bare host:port means http.
            Url::parse(v)
                .ok()
                .filter(|u| u.host().is_some())
                .or_else(|| Url::parse(&format!("http://{v}")).ok())
        })
        .collect()
}

#[derive(Debug, thiserror::Error)]
#[error("{host} resolves only to refused addresses ({addr}: {why})")]
struct BlockedByPolicy {
    host: String,
    addr: IpAddr,
    why: &'static str,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_string();
        let trusted = self.trusted.iter().any(|t| t.eq_ignore_ascii_case(&host));
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if trusted {
                return Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs);
            }
            let mut refused = None;
            let allowed: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| match policy.check(a.ip()) {
                    Ok(()) => true,
                    Err(why) => {
                        refused.get_or_insert((a.ip(), why));
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                if let Some((addr, why)) = refused {
                    return Err(Box::new(BlockedByPolicy { host, addr, why })
                        as Box<dyn std::error::Error + Send + Sync>);
                }
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The resolver's refusal, when reqwest's error carries one somewhere in its
/// chain: the operator is told which address was refused, not "connect failed".
pub(super) fn refusal_in(e: &reqwest::Error) -> Option<FetchError> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(b) = err.downcast_ref::<BlockedByPolicy>() {
            return Some(FetchError::Blocked {
                host: b.host.clone(),
                addr: b.addr,
                why: b.why,
            });
        }
        source = err.source();
    }
    None
}

/// Where a redirect from `current` leads; the next hop is checked like the first.
pub(super) fn redirect_target(
    status: StatusCode,
    headers: &HeaderMap,
    current: &Url,
) -> Result<Url, FetchError> {
    headers
        .get(header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .and_then(|l| current.join(l).ok())
        .ok_or(FetchError::BadRedirect {
            status: status.as_u16(),
        })
}

/// Only 301 and 308 move a source for good; 302, 303 and 307 do not.
pub(super) fn is_permanent(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_refuses_non_public_ranges_unless_allowed() {
        let strict = NetworkPolicy::default();
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "::7f00:1",
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::",
        ] {
            assert!(
                strict.check(ip.parse().unwrap()).is_err(),
                "{ip} must be refused"
            );
        }
        for ip in [
            "93.184.216.34",
            "2a00:1450:4001:80b::200e",
            "185.199.108.153",
        ] {
            assert!(strict.check(ip.parse().unwrap()).is_ok(), "{ip} is public");
        }
        let open = NetworkPolicy::new(vec!["127.0.0.0/8".parse().unwrap()]);
        assert!(open.check("127.0.0.2".parse().unwrap()).is_ok());
        assert!(open.check("::ffff:127.0.0.1".parse().unwrap()).is_ok());
        assert!(open.check("10.0.0.1".parse().unwrap()).is_err());
    }
}
