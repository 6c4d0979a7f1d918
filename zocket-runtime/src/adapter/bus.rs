//! The bus frame: how a send crosses from one node to the others. Pure (no
//! I/O, no server state), so it is fuzzed on its own
//! (`fuzz/fuzz_targets/bus_decode.rs`): whatever arrives on the bus comes
//! from other nodes, or from anyone who can publish there.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use zocket_core::ClientId;

use super::{Forward, ForwardTarget, NodeId};
use crate::ws::WireFrame;

#[derive(Serialize, Deserialize)]
struct Header<'a> {
    /// Format version, so a rolling upgrade can refuse what it can't read.
    v: u8,
    /// The node that sent it (a node ignores its own messages: it has
    /// already delivered locally).
    #[serde(borrow)]
    n: &'a str,
    /// Target kind: "r" rooms, "c" clients, "a" all.
    t: &'a str,
    /// Rooms or client ids, for "r" and "c".
    #[serde(default, borrow, skip_serializing_if = "Vec::is_empty")]
    to: Vec<Cow<'a, str>>,
    #[serde(default, borrow, skip_serializing_if = "Vec::is_empty")]
    x: Vec<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    vo: bool,
}

const FORMAT_VERSION: u8 = 1;

impl Forward<'_> {
    /// Encodes this send for the bus: a one-line JSON header (origin node,
    /// targets, exclusions, volatility), a newline, then the frame's text
    /// as is — the frame is not re-escaped or re-serialised.
    pub fn encode(&self, origin: &NodeId) -> Vec<u8> {
        let (t, to): (&str, Vec<Cow<'_, str>>) = match self.target {
            ForwardTarget::Rooms(rooms) => ("r", rooms.iter().map(|r| (*r).into()).collect()),
            ForwardTarget::Clients(ids) => ("c", ids.iter().map(|r| (*r).into()).collect()),
            ForwardTarget::All => ("a", Vec::new()),
        };
        let mut x: Vec<Cow<'_, str>> = self.except.iter().map(|c| c.as_str().into()).collect();
        if let Some(origin) = self.except_origin {
            x.push(origin.as_str().into());
        }
        let header = Header {
            v: FORMAT_VERSION,
            n: origin.as_str(),
            t,
            to,
            x,
            vo: self.volatile,
        };
        // Serialising a struct of strings and bools into a Vec cannot fail.
        let mut out = serde_json::to_vec(&header).unwrap_or_default();
        out.reserve(1 + self.frame.len());
        out.push(b'\n');
        out.extend_from_slice(self.frame.as_bytes());
        out
    }
}

/// Why a forwarded message from the bus could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The payload has no newline ending the JSON header.
    #[error("no header line")]
    NoHeader,
    /// The header line is not the JSON [`Forward::encode`] writes.
    #[error("bad header: {0}")]
    Header(#[from] serde_json::Error),
    /// Written by a zocket whose bus format this one does not read (a
    /// rolling upgrade across format versions).
    #[error("unsupported format version {0}")]
    Version(u8),
    /// A target kind this version does not know.
    #[error("unknown target kind {0:?}")]
    Target(String),
    /// The frame after the header is not UTF-8 text.
    #[error("frame is not UTF-8")]
    Utf8,
}

/// A send received from another node, decoded, ready for
/// [`LocalNode::deliver`](super::LocalNode::deliver).
#[derive(Debug, Clone)]
pub struct Inbound {
    /// The node that sent it.
    pub origin: NodeId,
    /// Who it is for.
    pub target: InboundTarget,
    /// Connections to leave out (the sender's `except` and `except_self`).
    pub except: Vec<ClientId>,
    /// Dropped for a slow connection instead of closing it.
    pub volatile: bool,
    /// Framed once on arrival, for every local recipient.
    frame: WireFrame,
}

/// Who an [`Inbound`] is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundTarget {
    /// The members of these rooms on this node (each at most once).
    Rooms(Vec<String>),
    /// These client ids, where they are connected to this node.
    Clients(Vec<String>),
    /// Every connection of this node.
    All,
}

impl Inbound {
    /// Decodes what [`Forward::encode`] produced. Bus payloads come from
    /// other nodes (or anyone who can publish on the bus): never trusted.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let split = bytes
            .iter()
            .position(|b| *b == b'\n')
            .ok_or(DecodeError::NoHeader)?;
        let (head, rest) = bytes.split_at(split);
        let header: Header<'_> = serde_json::from_slice(head)?;
        if header.v != FORMAT_VERSION {
            return Err(DecodeError::Version(header.v));
        }
        let to = || header.to.iter().map(|s| s.to_string()).collect();
        let target = match header.t {
            "r" => InboundTarget::Rooms(to()),
            "c" => InboundTarget::Clients(to()),
            "a" => InboundTarget::All,
            other => return Err(DecodeError::Target(other.to_owned())),
        };
        let frame = std::str::from_utf8(&rest[1..]).map_err(|_| DecodeError::Utf8)?;
        Ok(Inbound {
            origin: NodeId::from(header.n),
            target,
            except: header
                .x
                .iter()
                .map(|s| ClientId::from(s.as_ref()))
                .collect(),
            volatile: header.vo,
            frame: WireFrame::text(frame),
        })
    }

    /// The frame's text, as encoded by the sending node.
    pub fn frame(&self) -> &str {
        // Checked to be UTF-8 by `decode`.
        std::str::from_utf8(self.frame.payload()).unwrap_or_default()
    }

    pub(crate) fn wire_frame(&self) -> &WireFrame {
        &self.frame
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> NodeId {
        NodeId::from("node_a")
    }

    #[test]
    fn a_room_send_round_trips_with_exclusions_and_volatility() {
        let except = [ClientId::from("client_1")];
        let me = ClientId::from("client_me");
        let frame = r#"{"type":"news","payload":{"text":"a\nb"}}"#;
        let send = Forward {
            target: ForwardTarget::Rooms(&["lobby", "ops"]),
            except: &except,
            except_origin: Some(&me),
            volatile: true,
            frame,
        };
        let inbound = Inbound::decode(&send.encode(&origin())).expect("decodes");
        assert_eq!(inbound.origin, origin());
        assert_eq!(
            inbound.target,
            InboundTarget::Rooms(vec!["lobby".into(), "ops".into()])
        );
        assert_eq!(inbound.except, vec![except[0].clone(), me]);
        assert!(inbound.volatile);
        // The frame travels as is, newlines included, after the header.
        assert_eq!(inbound.frame(), frame);
        assert_eq!(inbound.wire_frame().payload(), frame.as_bytes());
    }

    #[test]
    fn client_and_broadcast_targets_round_trip() {
        let ids = Inbound::decode(
            &Forward {
                target: ForwardTarget::Clients(&["client_x"]),
                except: &[],
                except_origin: None,
                volatile: false,
                frame: "{}",
            }
            .encode(&origin()),
        )
        .expect("decodes");
        assert_eq!(ids.target, InboundTarget::Clients(vec!["client_x".into()]));
        assert!(ids.except.is_empty());
        assert!(!ids.volatile);

        let all = Forward {
            target: ForwardTarget::All,
            except: &[],
            except_origin: None,
            volatile: false,
            frame: "",
        }
        .encode(&origin());
        // Empty lists and false flags are left out of the header.
        assert_eq!(all, br#"{"v":1,"n":"node_a","t":"a"}"#.to_vec().into_iter().chain([b'\n']).collect::<Vec<_>>());
        let all = Inbound::decode(&all).expect("decodes");
        assert_eq!(all.target, InboundTarget::All);
        assert_eq!(all.frame(), "");
    }

    #[test]
    fn what_another_writer_might_send_is_refused_with_a_reason() {
        assert!(matches!(
            Inbound::decode(b"no newline"),
            Err(DecodeError::NoHeader)
        ));
        assert!(matches!(
            Inbound::decode(b"not json\n{}"),
            Err(DecodeError::Header(_))
        ));
        assert!(matches!(
            Inbound::decode(b"{\"v\":2,\"n\":\"x\",\"t\":\"a\"}\n{}"),
            Err(DecodeError::Version(2))
        ));
        assert!(matches!(
            Inbound::decode(b"{\"v\":1,\"n\":\"x\",\"t\":\"q\"}\n{}"),
            Err(DecodeError::Target(kind)) if kind == "q"
        ));
        assert!(matches!(
            Inbound::decode(b"{\"v\":1,\"n\":\"x\",\"t\":\"a\"}\n\xff\xfe"),
            Err(DecodeError::Utf8)
        ));
    }

    #[test]
    fn escaped_room_names_decode_but_an_escaped_node_id_is_refused() {
        let inbound =
            Inbound::decode(b"{\"v\":1,\"n\":\"nA\",\"t\":\"r\",\"to\":[\"a\\\"b\"]}\n{}")
                .expect("decodes");
        assert_eq!(inbound.origin, NodeId::from("nA"));
        assert_eq!(inbound.target, InboundTarget::Rooms(vec!["a\"b".into()]));
        // Node ids and target kinds are borrowed: what `encode` writes never
        // needs escaping, so an escaped one is not from a zocket node.
        assert!(matches!(
            Inbound::decode(b"{\"v\":1,\"n\":\"n\\u0041\",\"t\":\"a\"}\n{}"),
            Err(DecodeError::Header(_))
        ));
    }
}
