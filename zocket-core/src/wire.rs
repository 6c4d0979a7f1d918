//! The JSON wire format: `{"type":"ns.msg","payload":{...}}` text frames in
//! both directions, plus `zocket.error` frames from the server.
//!
//! Decoding is split in two steps so the type can be looked up before the
//! payload is parsed: [`Envelope::parse`] borrows the `type` and the raw
//! payload from the frame, then [`decode_payload`] turns the payload into
//! the message struct with a field path on failure.

use std::borrow::Cow;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::{ErrorPayload, FrameError};
use crate::message::{Message, Validate};
use crate::rpc::{MAX_RPC_ID_LEN, RESPONSE_TYPE};

/// The `type` of error frames the server sends.
pub const ERROR_TYPE: &str = "zocket.error";

/// One frame, with the payload left unparsed.
#[derive(Debug, Deserialize)]
pub struct Envelope<'a> {
    #[serde(rename = "type", borrow)]
    pub ty: Cow<'a, str>,
    /// Absent payloads are read as `{}`, so a message whose fields all have
    /// defaults can be sent as `{"type":"ping"}`.
    #[serde(default, borrow)]
    pub payload: Option<&'a RawValue>,
    /// Makes the frame a request (or, on `__rpc_res` and error frames, an
    /// answer): see [`crate::rpc`].
    #[serde(default, rename = "rpcId", borrow)]
    pub rpc_id: Option<Cow<'a, str>>,
}

impl<'a> Envelope<'a> {
    pub fn parse(text: &'a str) -> Result<Self, FrameError> {
        let env: Self =
            serde_json::from_str(text).map_err(|e| FrameError::InvalidJson(e.to_string()))?;
        if env
            .rpc_id
            .as_ref()
            .is_some_and(|id| id.len() > MAX_RPC_ID_LEN)
        {
            return Err(FrameError::InvalidJson(format!(
                "rpcId is longer than {MAX_RPC_ID_LEN} bytes"
            )));
        }
        Ok(env)
    }

    pub fn rpc_id(&self) -> Option<&str> {
        self.rpc_id.as_deref()
    }

    pub fn payload_str(&self) -> &'a str {
        self.payload.map(RawValue::get).unwrap_or("{}")
    }
}

/// Parses a payload into `T`, naming the offending field on failure, then
/// runs `T`'s validation hooks.
pub fn decode_payload<T: DeserializeOwned + Validate>(
    for_type: &str,
    payload: &str,
) -> Result<T, FrameError> {
    let de = &mut serde_json::Deserializer::from_str(payload);
    let value: T = serde_path_to_error::deserialize(de).map_err(|e| {
        let message = e.inner().to_string();
        FrameError::InvalidPayload {
            for_type: for_type.to_owned(),
            path: crate::error::failure_path(e.path(), &message),
            message,
        }
    })?;
    value.validate().map_err(|e| FrameError::InvalidPayload {
        for_type: for_type.to_owned(),
        path: e.path,
        message: e.message,
    })?;
    Ok(value)
}

/// Serialises one frame. The result is what goes on the wire, as is; the
/// server builds it once per send, however many clients receive it.
pub fn encode<M: Message>(payload: &M) -> Result<String, serde_json::Error> {
    encode_as(M::TYPE, payload)
}

/// Like [`encode`] for a type known only at run time (the untyped
/// `rooms.broadcast(room, "ns.msg", payload)`).
pub fn encode_as<T: Serialize + ?Sized>(
    ty: &str,
    payload: &T,
) -> Result<String, serde_json::Error> {
    encode_frame(ty, None, payload)
}

/// A request: the frame of `payload` with an `rpcId` the other side echoes
/// in its answer.
pub fn encode_request<M: Message>(payload: &M, rpc_id: &str) -> Result<String, serde_json::Error> {
    encode_frame(M::TYPE, Some(rpc_id), payload)
}

/// The successful answer to request `rpc_id`.
pub fn encode_reply<T: Serialize + ?Sized>(
    rpc_id: &str,
    reply: &T,
) -> Result<String, serde_json::Error> {
    encode_frame(RESPONSE_TYPE, Some(rpc_id), reply)
}

/// A `zocket.error` frame, answering request `rpc_id` if given.
pub fn encode_error_to(error: &ErrorPayload, rpc_id: Option<&str>) -> String {
    encode_frame(ERROR_TYPE, rpc_id, error).expect("error payloads always serialise")
}

/// `{"type":..,"rpcId":..,"payload":..}`, `rpcId` left out when `None`.
fn encode_frame<T: Serialize + ?Sized>(
    ty: &str,
    rpc_id: Option<&str>,
    payload: &T,
) -> Result<String, serde_json::Error> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(b"{\"type\":");
    serde_json::to_writer(&mut out, ty)?;
    if let Some(id) = rpc_id {
        out.extend_from_slice(b",\"rpcId\":");
        serde_json::to_writer(&mut out, id)?;
    }
    out.extend_from_slice(b",\"payload\":");
    serde_json::to_writer(&mut out, payload)?;
    out.push(b'}');
    // serde_json writes UTF-8 only.
    String::from_utf8(out).map_err(|e| serde::ser::Error::custom(e.to_string()))
}

/// Serialises a `zocket.error` frame.
pub fn encode_error(error: &ErrorPayload) -> String {
    encode_error_to(error, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Join {
        room_id: String,
    }
    impl Validate for Join {
        fn validate(&self) -> Result<(), crate::ValidationError> {
            if self.room_id.is_empty() {
                return Err(crate::ValidationError::new("roomId", "must not be empty"));
            }
            Ok(())
        }
    }
    impl Message for Join {
        const TYPE: &'static str = "rooms.join";
    }

    #[test]
    fn encodes_the_original_frame_shape() {
        let text = encode(&Join {
            room_id: "general".into(),
        })
        .unwrap();
        assert_eq!(
            text,
            r#"{"type":"rooms.join","payload":{"roomId":"general"}}"#
        );
    }

    #[test]
    fn decodes_envelope_then_payload() {
        let env = Envelope::parse(r#"{"payload":{"roomId":"a"},"type":"rooms.join"}"#).unwrap();
        assert_eq!(env.ty, "rooms.join");
        let join: Join = decode_payload(&env.ty, env.payload_str()).unwrap();
        assert_eq!(join.room_id, "a");
    }

    #[test]
    fn escaped_type_names_are_unescaped() {
        let env = Envelope::parse(r#"{"type":"rooms\u002ejoin"}"#).unwrap();
        assert_eq!(env.ty, "rooms.join");
        assert_eq!(env.payload_str(), "{}");
    }

    #[test]
    fn garbage_is_invalid_json() {
        for bad in ["nope", "{}", r#"{"type":3}"#, "[]", r#"{"type":"a""#] {
            let err = Envelope::parse(bad).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidJson, "{bad}");
        }
    }

    #[test]
    fn payload_errors_name_the_field() {
        let err = decode_payload::<Join>("rooms.join", r#"{"roomId":5}"#).unwrap_err();
        match err {
            FrameError::InvalidPayload { path, for_type, .. } => {
                assert_eq!(path, "roomId");
                assert_eq!(for_type, "rooms.join");
            }
            other => panic!("{other:?}"),
        }
        let err = decode_payload::<Join>("rooms.join", r#"{"roomId":""}"#).unwrap_err();
        assert_eq!(
            err.to_payload(),
            ErrorPayload {
                code: ErrorCode::InvalidPayload,
                message: "must not be empty".into(),
                for_type: Some("rooms.join".into()),
                path: Some("roomId".into()),
                data: None,
            }
        );
    }

    #[test]
    fn requests_and_answers_have_the_v1_shape() {
        let join = Join {
            room_id: "general".into(),
        };
        assert_eq!(
            encode_request(&join, "k3j9").unwrap(),
            r#"{"type":"rooms.join","rpcId":"k3j9","payload":{"roomId":"general"}}"#
        );
        assert_eq!(
            encode_reply("k3j9", &3).unwrap(),
            r#"{"type":"__rpc_res","rpcId":"k3j9","payload":3}"#
        );
        assert_eq!(
            encode_reply("k", &()).unwrap(),
            r#"{"type":"__rpc_res","rpcId":"k","payload":null}"#
        );
        let error = ErrorPayload::new(ErrorCode::Refused, "no").for_type("rooms.join");
        assert_eq!(
            encode_error_to(&error, Some("k")),
            r#"{"type":"zocket.error","rpcId":"k","payload":{"code":"refused","message":"no","for":"rooms.join"}}"#
        );
        let env = Envelope::parse(r#"{"type":"rooms.join","payload":{},"rpcId":"k3j9"}"#).unwrap();
        assert_eq!(env.rpc_id(), Some("k3j9"));
        assert!(Envelope::parse(r#"{"type":"a.b"}"#)
            .unwrap()
            .rpc_id()
            .is_none());
        let long = format!(
            r#"{{"type":"a.b","rpcId":"{}"}}"#,
            "x".repeat(MAX_RPC_ID_LEN + 1)
        );
        assert_eq!(
            Envelope::parse(&long).unwrap_err().code(),
            ErrorCode::InvalidJson
        );
        assert_eq!(
            Envelope::parse(r#"{"type":"a.b","rpcId":5}"#)
                .unwrap_err()
                .code(),
            ErrorCode::InvalidJson
        );
    }

    #[test]
    fn error_frames_have_the_documented_shape() {
        let text = encode_error(&FrameError::UnknownType("nope.x".into()).to_payload());
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["type"], "zocket.error");
        assert_eq!(v["payload"]["code"], "unknown_type");
        assert_eq!(v["payload"]["for"], "nope.x");
        let text = encode_error(&FrameError::InvalidJson("x".into()).to_payload());
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(v["payload"]["for"].is_null());
        assert!(v["payload"].get("path").is_none());
    }
}
