//! Typed error frames: what the server answers instead of dropping a frame.

use serde::{Deserialize, Serialize};

/// Stable error codes carried in `zocket.error` frames. Clients may match on
/// them; new codes may be added, existing ones keep their meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame was not a JSON object with a string `type`.
    InvalidJson,
    /// No incoming message has this `type`.
    UnknownType,
    /// The payload did not match the message's fields or failed validation.
    InvalidPayload,
    /// Middleware refused the message.
    Refused,
    /// Binary frames carry no zocket messages.
    BinaryUnsupported,
    /// The connection sent messages faster than its rate limit.
    RateLimited,
    /// The handler failed in a way the application chose to report.
    HandlerError,
    /// A room join was refused: the room name is too long or the
    /// connection is already in as many rooms as allowed.
    RoomLimit,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::InvalidPayload => "invalid_payload",
            ErrorCode::Refused => "refused",
            ErrorCode::BinaryUnsupported => "binary_unsupported",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::HandlerError => "handler_error",
            ErrorCode::RoomLimit => "room_limit",
        }
    }
}

/// The payload of a `zocket.error` frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorPayload {
    pub code: ErrorCode,
    pub message: String,
    /// The `type` of the message this error answers, when it could be read.
    #[serde(rename = "for")]
    pub for_type: Option<String>,
    /// The wire path of the offending field, for `invalid_payload`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A handler's typed application error, serialised, with code
    /// `handler_error` (PROTOCOL.md § 10); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl ErrorPayload {
    /// An error about no message in particular.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorPayload {
            code,
            message: message.into(),
            for_type: None,
            path: None,
            data: None,
        }
    }

    /// Names the message type the error answers.
    pub fn for_type(mut self, ty: impl Into<String>) -> Self {
        self.for_type = Some(ty.into());
        self
    }
}

/// Why an incoming frame could not be turned into a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("frame is not a zocket message: {0}")]
    InvalidJson(String),
    #[error("unknown message type `{0}`")]
    UnknownType(String),
    #[error("invalid payload for `{for_type}` at `{path}`: {message}")]
    InvalidPayload {
        for_type: String,
        path: String,
        message: String,
    },
}

impl FrameError {
    pub fn code(&self) -> ErrorCode {
        match self {
            FrameError::InvalidJson(_) => ErrorCode::InvalidJson,
            FrameError::UnknownType(_) => ErrorCode::UnknownType,
            FrameError::InvalidPayload { .. } => ErrorCode::InvalidPayload,
        }
    }

    pub fn to_payload(&self) -> ErrorPayload {
        match self {
            FrameError::InvalidJson(message) => ErrorPayload {
                code: self.code(),
                message: message.clone(),
                for_type: None,
                path: None,
                data: None,
            },
            FrameError::UnknownType(ty) => ErrorPayload {
                code: self.code(),
                message: format!("unknown message type `{ty}`"),
                for_type: Some(ty.clone()),
                path: None,
                data: None,
            },
            FrameError::InvalidPayload {
                for_type,
                path,
                message,
            } => ErrorPayload {
                code: self.code(),
                message: message.clone(),
                for_type: Some(for_type.clone()),
                path: Some(path.clone()),
                data: None,
            },
        }
    }
}

/// The wire path of a deserialisation failure. serde reports a missing field
/// at the struct that lacks it (path `.` for a top-level field), naming the
/// field only in its message; the path names the field itself, so that a
/// client can point at it like any other invalid field.
pub(crate) fn failure_path(path: &serde_path_to_error::Path, message: &str) -> String {
    let at = path.to_string();
    let at = if at == "." { String::new() } else { at };
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(field, _)| field);
    match missing {
        Some(field) if at.is_empty() => field.to_owned(),
        Some(field) => format!("{at}.{field}"),
        None => at,
    }
}

#[cfg(test)]
mod tests {
    use super::failure_path;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        name: String,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    #[serde(rename_all = "camelCase")]
    struct Outer {
        room_id: String,
        user: Option<Inner>,
    }

    fn path_of(json: &str) -> String {
        let de = &mut serde_json::Deserializer::from_str(json);
        let e = serde_path_to_error::deserialize::<_, Outer>(de).unwrap_err();
        let message = e.inner().to_string();
        failure_path(e.path(), &message)
    }

    #[test]
    fn a_missing_field_is_named_in_the_path() {
        assert_eq!(path_of("{}"), "roomId");
        assert_eq!(path_of(r#"{"roomId":"a","user":{}}"#), "user.name");
        assert_eq!(path_of(r#"{"roomId":5}"#), "roomId");
    }
}
