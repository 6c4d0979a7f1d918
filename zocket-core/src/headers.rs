//! Connection headers: read from the HTTP upgrade request, overridden by
//! URL query parameters of the same name, then parsed into the router's
//! headers struct before the upgrade is accepted.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::message::Validate;

/// One problem with the headers, as listed in the HTTP 400 answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeaderIssue {
    pub path: String,
    pub message: String,
}

/// The headers did not parse or validate. Rendered as HTTP 400
/// `{"error":"Invalid headers","details":[...]}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid headers")]
pub struct HeaderError {
    pub details: Vec<HeaderIssue>,
}

impl HeaderError {
    pub fn body(&self) -> String {
        serde_json::json!({ "error": "Invalid headers", "details": self.details }).to_string()
    }
}

/// Parses headers from HTTP header pairs and query pairs; a query parameter
/// overrides an HTTP header of the same (case-insensitive) name. Values are
/// strings on the wire and are parsed into numbers or booleans where the
/// field asks for one.
pub fn parse_headers<H, K1, V1, K2, V2>(
    http: impl IntoIterator<Item = (K1, V1)>,
    query: impl IntoIterator<Item = (K2, V2)>,
) -> Result<H, HeaderError>
where
    H: DeserializeOwned + Validate,
    K1: AsRef<str>,
    V1: AsRef<str>,
    K2: AsRef<str>,
    V2: AsRef<str>,
{
    let mut merged: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in http {
        merged.insert(k.as_ref().to_ascii_lowercase(), v.as_ref().to_owned());
    }
    for (k, v) in query {
        merged.insert(k.as_ref().to_ascii_lowercase(), v.as_ref().to_owned());
    }
    let encoded = serde_urlencoded::to_string(&merged).map_err(|e| HeaderError {
        details: vec![HeaderIssue {
            path: String::new(),
            message: e.to_string(),
        }],
    })?;
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
    let headers: H = serde_path_to_error::deserialize(de).map_err(|e| {
        let message = e.inner().to_string();
        HeaderError {
            details: vec![HeaderIssue {
                path: crate::error::failure_path(e.path(), &message),
                message,
            }],
        }
    })?;
    headers.validate().map_err(|e| HeaderError {
        details: vec![HeaderIssue {
            path: e.path,
            message: e.message,
        }],
    })?;
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "kebab-case")]
    struct Headers {
        #[serde(default = "anon")]
        user_name: String,
        #[serde(default)]
        age: Option<u32>,
    }
    fn anon() -> String {
        "Anonymous".into()
    }
    impl Validate for Headers {
        fn validate(&self) -> Result<(), crate::ValidationError> {
            if self.user_name.len() > 10 {
                return Err(crate::ValidationError::new("user-name", "too long"));
            }
            Ok(())
        }
    }

    const NONE: [(&str, &str); 0] = [];

    #[test]
    fn defaults_apply_and_query_overrides_headers() {
        let h: Headers = parse_headers(NONE, NONE).unwrap();
        assert_eq!(h.user_name, "Anonymous");
        let h: Headers = parse_headers(
            [("User-Name", "Header"), ("host", "x")],
            [("user-name", "Query"), ("age", "42")],
        )
        .unwrap();
        assert_eq!(h.user_name, "Query");
        assert_eq!(h.age, Some(42));
    }

    #[test]
    fn bad_values_and_failed_validation_are_listed() {
        let err = parse_headers::<Headers, _, _, _, _>(NONE, [("age", "old")]).unwrap_err();
        assert_eq!(err.details[0].path, "age");
        let err =
            parse_headers::<Headers, _, _, _, _>(NONE, [("user-name", "x".repeat(11).as_str())])
                .unwrap_err();
        assert_eq!(err.details[0].path, "user-name");
        let body: serde_json::Value = serde_json::from_str(&err.body()).unwrap();
        assert_eq!(body["error"], "Invalid headers");
        assert_eq!(body["details"][0]["message"], "too long");
    }
}
