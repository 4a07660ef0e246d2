//! Name resolution and the address checks of the host policy.
//!
//! Every outgoing HTTP connection goes through a [`HostResolver`]. Under a strict
//! [`HostPolicy`] the addresses a name resolves to are checked *before* connecting, and the
//! connection is then made to exactly those checked addresses: a name cannot resolve to a public
//! address for the check and to the metadata service for the connection (DNS rebinding).

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

/// The future a [`HostResolver`] returns: the addresses of a name.
pub type ResolveFuture = Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>>;

/// Turns a host name into addresses. The HTTP handler resolves every name through one, so tests
/// (and local setups) can map names without real DNS.
pub trait HostResolver: Send + Sync {
    /// The addresses of `host` (a name, never an IP literal).
    fn resolve(&self, host: &str) -> ResolveFuture;
}

/// Resolves names with the operating system's resolver.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl HostResolver for SystemResolver {
    fn resolve(&self, host: &str) -> ResolveFuture {
        let host = host.to_owned();
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addrs.map(|addr| addr.ip()).collect())
        })
    }
}

/// Resolves a fixed set of names; any other name is not found.
#[derive(Debug, Clone, Default)]
pub struct StaticResolver {
    names: HashMap<String, Vec<IpAddr>>,
}

impl StaticResolver {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps `host` (case-insensitive) to `addrs`.
    pub fn with(mut self, host: &str, addrs: impl IntoIterator<Item = IpAddr>) -> Self {
        self.names
            .insert(host.to_ascii_lowercase(), addrs.into_iter().collect());
        self
    }
}

impl HostResolver for StaticResolver {
    fn resolve(&self, host: &str) -> ResolveFuture {
        let found = self.names.get(&host.to_ascii_lowercase()).cloned();
        let host = host.to_owned();
        Box::pin(async move {
            found.ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, format!("no address for {host}"))
            })
        })
    }
}

/// Which hosts the HTTP handler may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HostPolicy {
    /// Refuse hosts outside the registry and allowlist, and link-local and metadata addresses
    /// (checked after name resolution). Off locally by default; on for Lambda.
    pub strict_hosts: bool,
    /// With `strict_hosts`, also refuse loopback and unspecified addresses. On Lambda, loopback
    /// serves the Runtime API and extensions, which a task must never reach.
    pub refuse_loopback: bool,
}

impl HostPolicy {
    /// No checks: any host, any address (the local default).
    pub const PERMISSIVE: Self = Self {
        strict_hosts: false,
        refuse_loopback: false,
    };

    /// The policy on Lambda: strict hosts, no loopback.
    pub const LAMBDA: Self = Self {
        strict_hosts: true,
        refuse_loopback: true,
    };

    /// Why this policy refuses `addr`, if it does.
    pub fn refuses(&self, addr: IpAddr) -> Option<&'static str> {
        if !self.strict_hosts {
            return None;
        }
        let refusal = refused_address(addr);
        if refusal.is_some() {
            return refusal;
        }
        let ip = canonical(addr);
        if self.refuse_loopback && (ip.is_loopback() || ip.is_unspecified()) {
            return Some("loopback address");
        }
        None
    }
}

/// The instance metadata service's IPv6 address on EC2 (and so on Lambda).
const EC2_METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);

/// Why `addr` is never a valid target under a strict policy: link-local (which holds the IPv4
/// metadata service, 169.254.169.254) or the IPv6 metadata address, in any IPv4 embedding.
pub fn refused_address(addr: IpAddr) -> Option<&'static str> {
    match canonical(addr) {
        IpAddr::V4(v4) if v4.is_link_local() => Some("link-local address (metadata service)"),
        IpAddr::V6(v6) if v6 == EC2_METADATA_V6 => Some("metadata service address"),
        IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => Some("link-local address"),
        _ => None,
    }
}

/// The IPv4 address behind IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`) and
/// NAT64 (`64:ff9b::a.b.c.d`) IPv6 forms; any other address unchanged.
pub fn canonical(addr: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = addr else { return addr };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return IpAddr::V4(v4);
    }
    let s = v6.segments();
    let embedded = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let compatible = s[..6] == [0; 6] && u32::from(embedded) > 1;
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    if compatible || nat64 {
        IpAddr::V4(embedded)
    } else {
        addr
    }
}

/// A name resolved to an address the policy refuses.
#[derive(Debug, thiserror::Error)]
#[error("host {host} resolves to {addr}, a {reason}")]
pub struct AddressRefused {
    /// The name being resolved.
    pub host: String,
    /// The refused address.
    pub addr: IpAddr,
    /// Why it is refused.
    pub reason: &'static str,
}

/// Adapts a [`HostResolver`] and a [`HostPolicy`] to reqwest: resolve, check every address, hand
/// reqwest only checked addresses.
pub(crate) struct CheckedResolver {
    pub(crate) inner: Arc<dyn HostResolver>,
    pub(crate) policy: HostPolicy,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        let lookup = self.inner.resolve(&host);
        let policy = self.policy;
        Box::pin(async move {
            let addrs = lookup.await?;
            if let Some((addr, reason)) = addrs
                .iter()
                .find_map(|&addr| policy.refuses(addr).map(|reason| (addr, reason)))
            {
                return Err(Box::new(AddressRefused { host, addr, reason }) as _);
            }
            let addrs: Vec<SocketAddr> =
                addrs.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect();
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn metadata_and_link_local_addresses_are_refused_in_every_form() {
        for refused in [
            "169.254.169.254",
            "169.254.170.2",
            "::ffff:169.254.169.254",
            "::169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "fd00:ec2::254",
            "fe80::1",
        ] {
            assert!(refused_address(ip(refused)).is_some(), "{refused}");
            assert!(
                HostPolicy::LAMBDA.refuses(ip(refused)).is_some(),
                "{refused}"
            );
            assert_eq!(HostPolicy::PERMISSIVE.refuses(ip(refused)), None);
        }
        for allowed in [
            "93.184.216.34",
            "10.0.0.1",
            "2606:4700::1111",
            "fd00:ec2::253",
            "::1",
        ] {
            assert_eq!(refused_address(ip(allowed)), None, "{allowed}");
        }
    }

    #[test]
    fn loopback_is_refused_only_when_asked() {
        let strict = HostPolicy {
            strict_hosts: true,
            refuse_loopback: false,
        };
        assert_eq!(strict.refuses(ip("127.0.0.1")), None);
        assert!(HostPolicy::LAMBDA.refuses(ip("127.0.0.1")).is_some());
        assert!(HostPolicy::LAMBDA.refuses(ip("::ffff:127.0.0.1")).is_some());
        assert!(HostPolicy::LAMBDA.refuses(ip("0.0.0.0")).is_some());
    }

    #[tokio::test]
    async fn static_resolver_knows_only_its_names() {
        let resolver = StaticResolver::new().with("Orders.test", [ip("10.1.2.3")]);
        assert_eq!(
            resolver.resolve("orders.TEST").await.unwrap(),
            [ip("10.1.2.3")]
        );
        assert!(resolver.resolve("other.test").await.is_err());
    }
}
