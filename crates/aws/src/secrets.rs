//! Secrets Manager: the X bearer token, the social sources' credentials and
//! the api's page token key, each read through [`secret_string`].

use crate::HandlerError;

/// What the template's secret holds until the operator sets it.
pub const PLACEHOLDER: &str = "replace-me";

/// The string of the secret `arn` (empty when it holds none); `what` names
/// it in errors.
pub async fn secret_string(
    conf: &aws_config::SdkConfig,
    arn: &str,
    what: &str,
) -> Result<String, HandlerError> {
    let out = aws_sdk_secretsmanager::Client::new(conf)
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| HandlerError::from_sdk(&format!("reading {what} from Secrets Manager"), e))?;
    Ok(out.secret_string().unwrap_or_default().to_string())
}

/// Reads the X bearer token from the secret `arn`; an unset secret (empty or the
/// template's placeholder) is a fatal error that says what to do.
pub async fn x_bearer_token(
    conf: &aws_config::SdkConfig,
    arn: &str,
) -> Result<String, HandlerError> {
    Some(secret_string(conf, arn, "the X bearer token").await?)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && s != PLACEHOLDER)
        .ok_or_else(|| {
            HandlerError::Fatal(
                "the X bearer token secret is not set (see README: put-secret-value)".into(),
            )
        })
}

/// Reads a secret holding JSON (`what` names it in errors): the Bluesky app
/// password and the Reddit app's credentials. A secret that is not the JSON
/// wanted is a fatal error that says what to put there; an unset one (empty or
/// the template's placeholder) is `None`: the source is not configured yet.
pub async fn json_secret_if_set<T: serde::de::DeserializeOwned>(
    conf: &aws_config::SdkConfig,
    arn: &str,
    what: &str,
    shape: &str,
) -> Result<Option<T>, HandlerError> {
    let text = secret_string(conf, arn, &format!("the {what} secret")).await?;
    let text = text.trim();
    if text.is_empty() || text == PLACEHOLDER {
        return Ok(None);
    }
    serde_json::from_str(text)
        .map(Some)
        .map_err(|e| HandlerError::Fatal(format!("the {what} secret is not {shape}: {e}")))
}

/// The X bearer token of a function's environment: `X_BEARER_TOKEN` for local
/// runs against the fake API, else the secret `X_BEARER_SECRET_ARN`.
pub async fn x_bearer_of_env(
    env: &dyn tickerpulse_core::config::Env,
    conf: &aws_config::SdkConfig,
) -> Result<String, HandlerError> {
    if let Some(token) = env.var("X_BEARER_TOKEN").filter(|t| !t.is_empty()) {
        return Ok(token);
    }
    let arn = tickerpulse_core::config::required(env, "X_BEARER_SECRET_ARN")?;
    x_bearer_token(conf, &arn).await
}
