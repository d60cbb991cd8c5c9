//! Webhook signatures per the Standard Webhooks spec (<https://www.standardwebhooks.com>),
//! so a receiver can tell a delivery of ours from a forgery.
//!
//! Every delivery to a consumer with a `webhook_secret` carries `webhook-id` (the event's
//! `mdm-<consumer>-<seq>`, the same on every retry), `webhook-timestamp` (unix seconds of
//! this attempt) and `webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`
//! over the exact body bytes sent. The secret is written `whsec_<base64 key>`; the key is
//! the decoded part, 24 to 64 bytes (the spec's range), so a receiver can take the secret
//! as is into any Standard Webhooks library.
//!
//! [`verify`] is what a receiver does (our tests do it for every delivery): check the
//! timestamp is within [`TOLERANCE_SECS`] of its clock (a captured delivery cannot be
//! replayed later), then accept if any of the space-separated `v1` signatures matches,
//! compared in constant time. Several signatures are allowed so a sender can sign with an
//! old and a new key while a secret is rotated.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a `webhook-timestamp` may be from the receiver's clock, either way (the spec's
/// libraries use five minutes).
pub const TOLERANCE_SECS: i64 = 5 * 60;

const PREFIX: &str = "whsec_";
const MIN_KEY: usize = 24;
const MAX_KEY: usize = 64;

/// A consumer's signing key, parsed from `whsec_<base64>`. Its `Debug` never shows the key,
/// and it has no `Display`: configuration can be logged without leaking it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret {
    key: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("must start with `whsec_` followed by the base64 key")]
    MissingPrefix,
    #[error("the part after `whsec_` is not valid base64")]
    NotBase64,
    #[error(
        "the key is {0} bytes; it must be 24 to 64 (e.g. `whsec_` + `openssl rand -base64 32`)"
    )]
    BadLength(usize),
}

impl WebhookSecret {
    pub fn parse(raw: &str) -> Result<Self, SecretError> {
        let b64 = raw
            .trim()
            .strip_prefix(PREFIX)
            .ok_or(SecretError::MissingPrefix)?;
        let key = BASE64.decode(b64).map_err(|_| SecretError::NotBase64)?;
        if !(MIN_KEY..=MAX_KEY).contains(&key.len()) {
            return Err(SecretError::BadLength(key.len()));
        }
        Ok(Self { key })
    }

    fn mac(&self, id: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
        // HMAC takes keys of any length; the length is checked in `parse`.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(whsec_<redacted>)")
    }
}

/// Why a delivery does not verify. A receiver answers it with 401 and processes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    #[error("webhook-timestamp is not unix seconds")]
    BadTimestamp,
    #[error("webhook-timestamp is more than {TOLERANCE_SECS} s from now")]
    OutsideTolerance,
    #[error("no signature matches")]
    NoMatch,
}

/// The `webhook-signature` value for one delivery: `v1,<base64>`.
pub fn sign(secret: &WebhookSecret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = secret
        .mac(id, &timestamp.to_string(), body)
        .finalize()
        .into_bytes();
    format!("v1,{}", BASE64.encode(tag))
}

/// Checks a delivery as a receiver does: the three header values as received (`""` when a
/// header is absent), the raw body bytes, and the receiver's clock in unix seconds.
pub fn verify(
    secret: &WebhookSecret,
    id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now: i64,
) -> Result<(), VerifyError> {
    for (name, value) in [
        ("webhook-id", id),
        ("webhook-timestamp", timestamp),
        ("webhook-signature", signatures),
    ] {
        if value.trim().is_empty() {
            return Err(VerifyError::MissingHeader(name));
        }
    }
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| VerifyError::BadTimestamp)?;
    if (now - ts).abs() > TOLERANCE_SECS {
        return Err(VerifyError::OutsideTolerance);
    }
    let mac = secret.mac(id, timestamp.trim(), body);
    let matches = signatures
        .split(' ')
        .filter_map(|s| s.split_once(','))
        .filter(|(version, _)| *version == "v1")
        .filter_map(|(_, b64)| BASE64.decode(b64).ok())
        // `verify_slice` compares in constant time.
        .any(|tag| mac.clone().verify_slice(&tag).is_ok());
    if matches {
        Ok(())
    } else {
        Err(VerifyError::NoMatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The test vector of the spec's reference libraries (standard-webhooks, e.g.
    // libraries/rust/src/lib.rs `test_sign`).
    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const TS: i64 = 1649367553;
    const BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const SIGNATURE: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    fn secret() -> WebhookSecret {
        WebhookSecret::parse(SECRET).unwrap()
    }

    fn check(signatures: &str, body: &[u8]) -> Result<(), VerifyError> {
        verify(&secret(), ID, &TS.to_string(), signatures, body, TS)
    }

    #[test]
    fn signs_the_reference_vector() {
        assert_eq!(sign(&secret(), ID, TS, BODY), SIGNATURE);
    }

    #[test]
    fn verifies_the_reference_vector() {
        assert_eq!(check(SIGNATURE, BODY), Ok(()));
    }

    #[test]
    fn any_of_several_signatures_may_match() {
        let other = "v1,Mm7xgUVICxZfQ3bgf0h0Dof65L/IFx+PnZvnDWPCX6Q=";
        let asym = "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==";
        assert_eq!(check(&format!("{other} {asym} {SIGNATURE}"), BODY), Ok(()));
        assert_eq!(
            check(&format!("{other} {asym}"), BODY),
            Err(VerifyError::NoMatch)
        );
        // The right bytes under another version tag do not count.
        let as_v1a = SIGNATURE.replacen("v1,", "v1a,", 1);
        assert_eq!(check(&as_v1a, BODY), Err(VerifyError::NoMatch));
    }

    #[test]
    fn tampered_body_id_or_timestamp_fails() {
        let tampered = br#"{"email":"test@example.com","username":"test_usex"}"#;
        assert_eq!(check(SIGNATURE, tampered), Err(VerifyError::NoMatch));
        let s = secret();
        let ts = TS.to_string();
        assert_eq!(
            verify(&s, "msg_other", &ts, SIGNATURE, BODY, TS),
            Err(VerifyError::NoMatch)
        );
        let later = (TS + 1).to_string();
        assert_eq!(
            verify(&s, ID, &later, SIGNATURE, BODY, TS),
            Err(VerifyError::NoMatch)
        );
    }

    #[test]
    fn wrong_secret_fails() {
        let other = WebhookSecret::parse(&format!("whsec_{}", BASE64.encode([7u8; 32]))).unwrap();
        let ts = TS.to_string();
        assert_eq!(
            verify(&other, ID, &ts, SIGNATURE, BODY, TS),
            Err(VerifyError::NoMatch)
        );
    }

    #[test]
    fn old_or_future_timestamps_and_missing_headers_fail() {
        let (s, ts) = (secret(), TS.to_string());
        let late = TS + TOLERANCE_SECS + 1;
        assert_eq!(
            verify(&s, ID, &ts, SIGNATURE, BODY, late),
            Err(VerifyError::OutsideTolerance)
        );
        let early = TS - TOLERANCE_SECS - 1;
        assert_eq!(
            verify(&s, ID, &ts, SIGNATURE, BODY, early),
            Err(VerifyError::OutsideTolerance)
        );
        assert_eq!(
            verify(&s, ID, &ts, SIGNATURE, BODY, TS + TOLERANCE_SECS),
            Ok(())
        );
        assert_eq!(
            verify(&s, ID, "soon", SIGNATURE, BODY, TS),
            Err(VerifyError::BadTimestamp)
        );
        assert_eq!(
            verify(&s, "", &ts, SIGNATURE, BODY, TS),
            Err(VerifyError::MissingHeader("webhook-id"))
        );
        assert_eq!(
            verify(&s, ID, "", SIGNATURE, BODY, TS),
            Err(VerifyError::MissingHeader("webhook-timestamp"))
        );
        assert_eq!(
            verify(&s, ID, &ts, "", BODY, TS),
            Err(VerifyError::MissingHeader("webhook-signature"))
        );
    }

    #[test]
    fn secrets_are_parsed_strictly_and_never_shown() {
        assert_eq!(
            WebhookSecret::parse("C2FVsBQIhrscChlQIMV+b5sSYspob7oD"),
            Err(SecretError::MissingPrefix)
        );
        assert_eq!(
            WebhookSecret::parse("whsec_not base64!"),
            Err(SecretError::NotBase64)
        );
        assert_eq!(
            WebhookSecret::parse(&format!("whsec_{}", BASE64.encode([1u8; 16]))),
            Err(SecretError::BadLength(16))
        );
        assert_eq!(
            WebhookSecret::parse(&format!("whsec_{}", BASE64.encode([1u8; 65]))),
            Err(SecretError::BadLength(65))
        );
        assert!(WebhookSecret::parse(&format!("whsec_{}", BASE64.encode([1u8; 64]))).is_ok());
        let shown = format!("{:?}", secret());
        assert!(!shown.contains("C2FVsBQ"), "{shown}");
    }
}
