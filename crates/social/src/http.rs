//! The HTTP both clients use: one request, its status, headers and body,
//! within a timeout.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::HeaderMap;
use hyper_util::client::legacy::{connect::HttpConnector, Client};

pub type HttpClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Reddit asks every client to name itself (github.com/reddit-archive/reddit/wiki/API:
/// "Change your client's User-Agent string to something unique and descriptive").
pub const USER_AGENT: &str = "lambda:tickerpulse-social:0.1 (by /u/tickerpulse)";

pub fn client(who: &'static str) -> Result<HttpClient, crate::SocialError> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| crate::SocialError::Transport(who, format!("loading CA certificates: {e}")))?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(hyper_util::rt::TokioExecutor::new()).build(https))
}

pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The first 300 characters of the body, for an error message.
    pub fn excerpt(&self) -> String {
        String::from_utf8_lossy(&self.body)
            .chars()
            .take(300)
            .collect()
    }
}

/// Sends one request and reads its answer (30 s at most).
pub async fn send(
    http: &HttpClient,
    who: &'static str,
    req: hyper::Request<Full<Bytes>>,
) -> Result<Answer, crate::SocialError> {
    let t = crate::SocialError::Transport;
    let resp = tokio::time::timeout(std::time::Duration::from_secs(30), http.request(req))
        .await
        .map_err(|_| t(who, "no answer in 30 s".into()))?
        .map_err(|e| t(who, e.to_string()))?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| t(who, e.to_string()))?
        .to_bytes();
    Ok(Answer {
        status,
        headers,
        body,
    })
}
