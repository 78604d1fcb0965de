//! Where the proxy may connect: only public addresses, unless the operator
//! allows private networks (tests, development). Checked on the addresses
//! a name resolves to, at every new connection (so a DNS answer that
//! changes between checks cannot reach an internal service), and on
//! literal IP hosts, which are never resolved.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// The proxy's outbound address policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressPolicy {
    /// `[proxy] allow_private_networks` (or the webhooks' own).
    pub allow_private_networks: bool,
    /// That setting's name, which refusals tell the operator.
    pub setting: &'static str,
}

impl AddressPolicy {
    /// Whether a connection to `ip` is allowed.
    pub fn allows(&self, ip: IpAddr) -> bool {
        self.allow_private_networks || is_public(ip)
    }
}

/// Whether `ip` is a public unicast address: not loopback, private,
/// shared (CGNAT), link-local (cloud metadata), unspecified, broadcast,
/// multicast, documentation or reserved, also when an IPv6 address embeds
/// an IPv4 one.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_v4(v6) {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                // fc00::/7 unique local (also AWS's fd00:ec2::254 metadata)
                || (s[0] & 0xfe00) == 0xfc00
                // fe80::/10 link-local
                || (s[0] & 0xffc0) == 0xfe80
                // fec0::/10 site-local (deprecated, still routed by some)
                || (s[0] & 0xffc0) == 0xfec0
                // 2001:db8::/32 documentation
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                // 100::/64 discard
                || (s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0))
        }
    }
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`),
/// IPv4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::/96`) or 6to4
/// (`2002::/16`) address.
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let tail = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    if s[..6] == [0, 0, 0, 0, 0, 0] && !v6.is_loopback() && !v6.is_unspecified() {
        return Some(tail());
    }
    if s[0] == 0x0064 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return Some(tail());
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    None
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        // 0.0.0.0/8 "this network"
        || a == 0
        // 100.64.0.0/10 shared address space (CGNAT; Alibaba's metadata)
        || (a == 100 && (64..128).contains(&b))
        // 192.0.0.0/24 IETF protocol assignments
        || (a == 192 && b == 0 && c == 0)
        // 198.18.0.0/15 benchmarking
        || (a == 198 && (b == 18 || b == 19))
        // 240.0.0.0/4 reserved
        || a >= 240)
}

/// The system resolver, keeping only the addresses the policy allows; a
/// name with none left fails to resolve (a connect error: `not_sent`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PolicyResolver(pub(crate) AddressPolicy);

/// Why a name's addresses were all refused.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` resolves only to addresses on private or reserved networks, which are not called (an operator may set `{1} = true` for development)")]
pub(crate) struct Refused(String, &'static str);

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| policy.allows(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(Box::new(Refused(host, policy.setting))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_reserved_addresses_are_refused() {
        let strict = AddressPolicy {
            allow_private_networks: false,
            setting: "[proxy] allow_private_networks",
        };
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "::127.0.0.1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(!strict.allows(ip), "{ip} allowed");
            assert!(
                AddressPolicy {
                    allow_private_networks: true,
                    setting: "[proxy] allow_private_networks",
                }
                .allows(ip),
                "{ip}"
            );
        }
        for ip in [
            "8.8.8.8",
            "142.250.74.36",
            "2607:f8b0:4004:c07::64",
            "::ffff:8.8.8.8",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(strict.allows(ip), "{ip} refused");
        }
    }
}
