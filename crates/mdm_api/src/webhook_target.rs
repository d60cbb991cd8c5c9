//! Which webhook targets mdm may send to.
//!
//! A webhook URL comes from configuration, but whoever writes it should not be able to make
//! the server POST change events (or anything) to the cloud metadata service, to itself or
//! to the internal network: a target must be an `http://` URL without credentials, and its
//! host must not be, or resolve to, a loopback, link-local (metadata), private, shared
//! (CGNAT), unspecified, multicast or broadcast address, unless the host or the address is
//! listed in `webhooks.allow_hosts`. Literal addresses are refused when the configuration
//! is read; names are checked at every delivery (the client's resolver refuses a disallowed
//! address too, so a name that changes its answer between the check and the connection is
//! caught). Redirects are never followed: a 3xx answer is a failed attempt.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

/// Parses and checks a configured webhook URL: `http://`, a host, no user name or password.
/// A literal address is checked against the refused ranges (names are checked when sent).
pub fn check_url(raw: &str, allow_hosts: &[String]) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(raw).map_err(|e| format!("`{raw}` is not a valid URL: {e}"))?;
    if url.scheme() != "http" {
        return Err(format!(
            "`{raw}` must be an http:// URL (TLS is terminated by a proxy)"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password (userinfo)".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{raw}` has no host"));
    }
    if let Some(ip) = literal_ip(&url) {
        check_ip(&host_str(&url), ip, allow_hosts)?;
    }
    Ok(url)
}

fn host_str(url: &reqwest::Url) -> String {
    url.host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string()
}

/// The host as an address, when it is one (the URL parser has normalized IPv4 forms such
/// as `0x7f.1` to dotted decimal).
fn literal_ip(url: &reqwest::Url) -> Option<IpAddr> {
    host_str(url).parse().ok()
}

/// Why an address may not be a webhook target, if it may not.
pub fn refused_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(a) => refused_v4(a),
        IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return refused_v4(v4);
            }
            let s = a.segments();
            if a.is_loopback() {
                Some("loopback")
            } else if a.is_unspecified() {
                Some("unspecified")
            } else if s[0] & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if s[0] & 0xfe00 == 0xfc00 {
                Some("private (unique local, incl. cloud metadata)")
            } else if a.is_multicast() {
                Some("multicast")
            } else {
                None
            }
        }
    }
}

fn refused_v4(a: Ipv4Addr) -> Option<&'static str> {
    let o = a.octets();
    if a == Ipv4Addr::new(169, 254, 169, 254) {
        Some("cloud metadata")
    } else if a.is_loopback() {
        Some("loopback")
    } else if a.is_link_local() {
        Some("link-local")
    } else if a.is_private() {
        Some("private")
    } else if o[0] == 100 && (64..128).contains(&o[1]) {
        Some("shared (CGNAT)")
    } else if a.is_unspecified() || o[0] == 0 {
        Some("unspecified")
    } else if a.is_broadcast() || a.is_multicast() {
        Some("broadcast/multicast")
    } else {
        None
    }
}

fn allowed(host: &str, ip: Option<IpAddr>, allow_hosts: &[String]) -> bool {
    allow_hosts.iter().any(|a| {
        let a = a.trim().trim_start_matches('[').trim_end_matches(']');
        a.eq_ignore_ascii_case(host) || ip.is_some_and(|ip| a.parse::<IpAddr>().ok() == Some(ip))
    })
}

fn check_ip(host: &str, ip: IpAddr, allow_hosts: &[String]) -> Result<(), String> {
    match refused_range(ip) {
        Some(range) if !allowed(host, Some(ip), allow_hosts) => Err(format!(
            "target {host} is (or resolves to) {ip}, a {range} address: refused; list it in \
             webhooks.allow_hosts to allow it"
        )),
        _ => Ok(()),
    }
}

/// Checks a webhook target before a delivery: a literal address, or every address its name
/// resolves to.
pub async fn check_target(url: &reqwest::Url, allow_hosts: &[String]) -> Result<(), String> {
    let host = host_str(url);
    if let Some(ip) = literal_ip(url) {
        return check_ip(&host, ip, allow_hosts);
    }
    if allowed(&host, None, allow_hosts) {
        return Ok(());
    }
    let port = url.port_or_known_default().unwrap_or(80);
    let addrs = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?;
    for a in addrs {
        check_ip(&host, a.ip(), allow_hosts)?;
    }
    Ok(())
}

/// A resolver for the webhook client that refuses disallowed addresses (see the module doc).
pub struct CheckedResolver {
    pub allow_hosts: Arc<Vec<String>>,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow_hosts.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allowed(&host, None, &allow) {
                for a in &addrs {
                    check_ip(&host, a.ip(), &allow)?;
                }
            }
            let it: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(it)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_and_accepted_urls() {
        let none: Vec<String> = Vec::new();
        for bad in [
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.1/",
            "http://127.0.0.1:8080/hook",
            "http://[::1]/hook",
            "http://[fd00:ec2::254]/",
            "http://192.168.1.5/",
            "http://172.16.0.1/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[::ffff:10.0.0.1]/",
            "http://user:pw@example.com/hook",
            "http://user@example.com/hook",
            "https://example.com/hook",
            "ftp://example.com/",
            "not a url",
            "http://",
        ] {
            assert!(check_url(bad, &none).is_err(), "{bad} accepted");
        }
        assert!(check_url("http://example.com:8080/hook", &none).is_ok());
        assert!(check_url("http://93.184.216.34/hook", &none).is_ok());
        let allow = vec!["127.0.0.1".to_string()];
        assert!(check_url("http://127.0.0.1:9/hook", &allow).is_ok());
        assert!(check_url("http://10.0.0.1/", &allow).is_err());
        let e = check_url("http://169.254.169.254/", &none).unwrap_err();
        assert!(
            e.contains("metadata") && e.contains("webhooks.allow_hosts"),
            "{e}"
        );
    }

    #[test]
    fn names_resolving_to_refused_addresses_are_refused() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let url = reqwest::Url::parse("http://localhost:9/hook").unwrap();
        let e = rt.block_on(check_target(&url, &[])).unwrap_err();
        assert!(e.contains("loopback"), "{e}");
        assert!(rt
            .block_on(check_target(&url, &["localhost".to_string()]))
            .is_ok());
    }
}
