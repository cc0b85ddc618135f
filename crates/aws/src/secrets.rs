//! Secrets Manager: the X bearer token.

use crate::HandlerError;

/// What the template's secret holds until the operator sets it.
pub const PLACEHOLDER: &str = "replace-me";

/// Reads the X bearer token from the secret `arn`; an unset secret (empty or the
/// template's placeholder) is a fatal error that says what to do.
pub async fn x_bearer_token(
    conf: &aws_config::SdkConfig,
    arn: &str,
) -> Result<String, HandlerError> {
    let out = aws_sdk_secretsmanager::Client::new(conf)
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| {
            HandlerError::from_sdk("reading the X bearer token from Secrets Manager", e)
        })?;
    out.secret_string()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && s != PLACEHOLDER)
        .ok_or_else(|| {
            HandlerError::Fatal(
                "the X bearer token secret is not set (see README: put-secret-value)".into(),
            )
        })
}
