use bytes::Bytes;
use lambda_runtime::layers::TracingLayer;
use lambda_runtime::tower::{Layer, Service};
use lambda_runtime::{service_fn, LambdaEvent, LambdaInvocation, Runtime};
use std::task::{Context, Poll};
use tickerpulse_aws::HandlerError;

/// mimalloc instead of glibc's malloc. Each batch allocates a response of a
/// few MB and many small strings; glibc grows the response by `mremap`, hands it
/// back to the kernel when the batch is done and faults it in again next time
/// (about 1,400 page faults a 3 MB batch; with mimalloc none). On the transform
/// benchmark, which uses the same allocator: 2.1% fewer instructions, and 1.22x
/// the records a second (median of six interleaved pairs). The README says more.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

tokio::task_local! {
    /// The invocation's payload, as the Runtime API sent it.
    static PAYLOAD: Bytes;
}

/// Hands the invocation's payload to the handler as bytes. The runtime would
/// parse it into the handler's event type with serde (through
/// `serde_path_to_error`), copying every record's base64 data into a `String`
/// of its own; the transform reads the event in place instead
/// (`tickerpulse_enrich::read_records`). The bytes go into a task-local around
/// the inner service's future, and the runtime gets `null` to parse as the
/// handler's `()` event.
struct RawPayload;

impl<S> Layer<S> for RawPayload {
    type Service = RawPayloadService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RawPayloadService(inner)
    }
}

struct RawPayloadService<S>(S);

impl<S> Service<LambdaInvocation> for RawPayloadService<S>
where
    S: Service<LambdaInvocation, Response = (), Error = lambda_runtime::Error>,
{
    type Response = ();
    type Error = lambda_runtime::Error;
    type Future = tokio::task::futures::TaskLocalFuture<Bytes, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut invocation: LambdaInvocation) -> Self::Future {
        let payload = std::mem::replace(&mut invocation.body, Bytes::from_static(b"null"));
        // In scope both while the inner service builds its future and while it runs.
        let future = PAYLOAD.sync_scope(payload.clone(), || self.0.call(invocation));
        PAYLOAD.scope(payload, future)
    }
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tickerpulse_aws::lambda::init_tracing();
    let function =
        tickerpulse_fn_transform::Function::from_env(&tickerpulse_core::config::ProcessEnv).await?;
    let function = &function;
    let handler = service_fn(move |_: LambdaEvent<()>| async move {
        let payload = PAYLOAD
            .try_with(Bytes::clone)
            .map_err(|e| HandlerError::Fatal(format!("the invocation's payload: {e}")))?;
        function.handle_json(&payload).await
    });
    // What `lambda_runtime::run` does, with the payload layer inside the tracing one.
    Runtime::new(handler)
        .layer(RawPayload)
        .layer(TracingLayer::new())
        .run()
        .await
}
