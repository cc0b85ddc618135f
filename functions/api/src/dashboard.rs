//! The dashboard: one page and its assets, compiled into the binary, so the
//! function serves them at `/` with no CDN and nothing to deploy beside it.
//! uPlot (MIT, from npm, pinned in package.json) draws the trend chart; `make
//! test` checks that the copy in `assets/vendor/` is the pinned release.

use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

/// (path, content type, body)
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("../assets/index.html"),
    ),
    (
        "/index.html",
        "text/html; charset=utf-8",
        include_str!("../assets/index.html"),
    ),
    (
        "/assets/app.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/app.js"),
    ),
    (
        "/assets/app.css",
        "text/css; charset=utf-8",
        include_str!("../assets/app.css"),
    ),
    (
        "/assets/uPlot.iife.min.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/vendor/uPlot.iife.min.js"),
    ),
    (
        "/assets/uPlot.min.css",
        "text/css; charset=utf-8",
        include_str!("../assets/vendor/uPlot.min.css"),
    ),
];

/// The page or asset at `path`, if it is one.
/// `csp` is the page's Content-Security-Policy (see `access::SignIn::csp`).
pub fn asset(path: &str, csp: &HeaderValue) -> Option<Response<Body>> {
    let path = if path.is_empty() { "/" } else { path };
    let (_, content_type, body) = ASSETS.iter().find(|(p, _, _)| *p == path)?;
    let mut r = Response::new(Body::Text((*body).to_string()));
    *r.status_mut() = StatusCode::OK;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    h.insert(header::CONTENT_SECURITY_POLICY, csp.clone());
    Some(r)
}

/// The page opened at the stage without its trailing slash (`.../v1`): the
/// browser would resolve `assets/app.js` against the host's root, outside the
/// stage, where API Gateway answers 403. A permanent redirect to `.../v1/`
/// puts the page where its relative links work. The path is the one the
/// client sent (`requestContext.path`, which holds the stage or a custom
/// domain's base path).
pub fn to_trailing_slash(request: &Request) -> Option<Response<Body>> {
    let RequestContext::ApiGatewayV1(context) = request.request_context_ref()? else {
        return None;
    };
    let sent = context.path.as_deref()?;
    if sent.is_empty() || sent.ends_with('/') {
        return None;
    }
    let location = match request.uri().query() {
        Some(q) if !q.is_empty() => format!("{sent}/?{q}"),
        _ => format!("{sent}/"),
    };
    let mut r = Response::new(Body::Empty);
    *r.status_mut() = StatusCode::MOVED_PERMANENTLY;
    r.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_str(&location).ok()?);
    Some(r)
}
