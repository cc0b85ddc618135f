//! The one HTTP/1 server loop of the emulator (the proxy and the standalone fake X
//! API run on it), and the JSON reply both build. A leaf: it knows no other module.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;

/// An HTTP/1 server on `listener`, one task per connection, until `shutdown`
/// completes.
pub async fn serve_http<H, F>(
    listener: TcpListener,
    handler: H,
    shutdown: impl std::future::Future<Output = ()>,
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: std::future::Future<Output = Result<Response<Full<Bytes>>, std::convert::Infallible>>
        + Send
        + 'static,
{
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let handler = handler.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(handler);
                    if let Err(e) = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service)
                        .await
                    {
                        tracing::debug!(error = %e, "connection ended");
                    }
                });
            }
        }
    }
}

/// A JSON response with extra headers.
pub fn json_reply(
    status: StatusCode,
    headers: &[(&str, &str)],
    body: &Value,
) -> Response<Full<Bytes>> {
    json_bytes_reply(status, headers, Bytes::from(body.to_string()))
}

/// [`json_reply`] of a body already serialized.
pub fn json_bytes_reply(
    status: StatusCode,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Response<Full<Bytes>> {
    let mut builder = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    builder
        .body(Full::new(body))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}
