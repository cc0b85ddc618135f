//! SDK configuration shared by all clients.

pub use aws_config::SdkConfig;
use aws_config::{BehaviorVersion, Region};
use tickerpulse_core::config::Env;

/// Loads the SDK configuration: the standard chain (region, credentials,
/// `AWS_ENDPOINT_URL`), overridden by the same variables when `env` holds them.
///
/// In Lambda `env` is the process environment, which the standard chain reads
/// anyway; the CLI passes the local stack's endpoint and test credentials this way
/// so that handlers run in-process never depend on global state.
pub async fn load(env: &dyn Env) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(url) = env.var("AWS_ENDPOINT_URL").filter(|u| !u.is_empty()) {
        loader = loader.endpoint_url(url);
    }
    if let Some(region) = env.var("AWS_REGION").filter(|r| !r.is_empty()) {
        loader = loader.region(Region::new(region));
    }
    if let (Some(id), Some(secret)) = (
        env.var("AWS_ACCESS_KEY_ID"),
        env.var("AWS_SECRET_ACCESS_KEY"),
    ) {
        loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
            id,
            secret,
            env.var("AWS_SESSION_TOKEN"),
            None,
            "tickerpulse-env",
        ));
    }
    loader.load().await
}

/// An S3 client. Against an endpoint override (the emulator on loopback) it uses
/// path-style addressing, since `bucket.127.0.0.1` does not resolve.
pub fn s3_client(conf: &SdkConfig) -> aws_sdk_s3::Client {
    let builder =
        aws_sdk_s3::config::Builder::from(conf).force_path_style(conf.endpoint_url().is_some());
    aws_sdk_s3::Client::from_conf(builder.build())
}

pub fn dynamodb_client(conf: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(conf)
}

pub fn firehose_client(conf: &SdkConfig) -> aws_sdk_firehose::Client {
    aws_sdk_firehose::Client::new(conf)
}

/// Renders an SDK error with its whole source chain (the SDK's `Display` alone says
/// only "service error").
pub fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

pub fn sns_client(conf: &SdkConfig) -> aws_sdk_sns::Client {
    aws_sdk_sns::Client::new(conf)
}

pub fn eventbridge_client(conf: &SdkConfig) -> aws_sdk_eventbridge::Client {
    aws_sdk_eventbridge::Client::new(conf)
}
