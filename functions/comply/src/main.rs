use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tickerpulse_aws::lambda::init_tracing();
    let function =
        tickerpulse_fn_comply::Function::from_env(&tickerpulse_core::config::ProcessEnv).await?;
    let function = &function;
    lambda_runtime::run(service_fn(
        move |_: LambdaEvent<serde_json::Value>| async move { function.handle().await },
    ))
    .await
}
