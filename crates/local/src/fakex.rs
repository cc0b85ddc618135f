//! The fake X API on a loopback port of its own (tests that drive `ingest`
//! without the rest of the stack). Its behaviour is `tickerpulse_xapi::fake`;
//! the local stack's proxy answers the same on its own port.

use crate::server::serve_http;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use serde_json::Value;
use std::sync::atomic::Ordering;
use std::sync::Arc;
pub use tickerpulse_xapi::fake::{answer, FakeXState, Fault};
use tokio::net::TcpListener;

pub struct FakeX {
    pub state: Arc<FakeXState>,
    pub port: u16,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakeX {
    /// Starts on a free loopback port.
    pub async fn start(token: &str) -> std::io::Result<Self> {
        Self::start_on(token, 0).await
    }

    pub async fn start_on(token: &str, port: u16) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(FakeXState::with_token(token));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let st = state.clone();
        let handler = move |req: Request<hyper::body::Incoming>| {
            let st = st.clone();
            async move { Ok::<_, std::convert::Infallible>(serve(&st, req).await) }
        };
        tokio::spawn(serve_http(listener, handler, async {
            let _ = rx.await;
        }));
        Ok(Self {
            state,
            port,
            shutdown: Some(tx),
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Adds tweets; a tweet's `author` object, if present, becomes a user.
    pub fn add(&self, tweets: impl IntoIterator<Item = Value>) {
        self.state.add(tweets);
    }

    pub fn inject(&self, fault: Fault) {
        self.state
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(fault);
    }

    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::Relaxed)
    }
}

impl Drop for FakeX {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

async fn serve(st: &FakeXState, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    use http_body_util::BodyExt;
    let (parts, body) = req.into_parts();
    if tickerpulse_xapi::fake_compliance::is_compliance(parts.uri.path()) {
        let body = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        return tickerpulse_xapi::fake_compliance::answer(st, &parts, &body);
    }
    answer(st, &parts)
}
