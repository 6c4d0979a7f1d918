//! The cluster bus frame as a node reads it from Redis or NATS: a JSON
//! header line, then the frame. Anything may arrive (another node, another
//! version, anyone who can publish on the bus): decoding must fail with a
//! typed error or succeed, and what it decodes must encode back to the
//! same send.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zocket_runtime::adapter::{Forward, ForwardTarget, Inbound, InboundTarget};

fuzz_target!(|data: &[u8]| {
    let Ok(inbound) = Inbound::decode(data) else {
        return;
    };
    let listed: Vec<&str> = match &inbound.target {
        InboundTarget::Rooms(names) | InboundTarget::Clients(names) => {
            names.iter().map(String::as_str).collect()
        }
        InboundTarget::All => Vec::new(),
    };
    let target = match &inbound.target {
        InboundTarget::Rooms(_) => ForwardTarget::Rooms(&listed),
        InboundTarget::Clients(_) => ForwardTarget::Clients(&listed),
        InboundTarget::All => ForwardTarget::All,
    };
    let send = Forward {
        target,
        except: &inbound.except,
        except_origin: None,
        volatile: inbound.volatile,
        frame: inbound.frame(),
    };
    let again = Inbound::decode(&send.encode(&inbound.origin)).expect("an encoded send decodes");
    assert_eq!(again.origin, inbound.origin);
    assert_eq!(again.target, inbound.target);
    assert_eq!(again.except, inbound.except);
    assert_eq!(again.volatile, inbound.volatile);
    assert_eq!(again.frame(), inbound.frame());
});
