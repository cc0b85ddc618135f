use lambda_http::{service_fn, Request};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tickerpulse_aws::lambda::init_tracing();
    let function =
        tickerpulse_fn_api::Function::from_env(&tickerpulse_core::config::ProcessEnv).await?;
    let function = &function;
    lambda_http::run(service_fn(move |request: Request| async move {
        function.handle(request).await
    }))
    .await
}
