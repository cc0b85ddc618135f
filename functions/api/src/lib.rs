//! api: the REST API and the dashboard, behind API Gateway (REST API, Lambda
//! proxy integration; `api/openapi.yaml` is the contract).
//!
//! Every read is a DynamoDB `Query` or `GetItem` (`tickerpulse_aws::reads`). Parameters are
//! checked before any read (see `params`): a bad one is a `400` with a JSON
//! body `{"error": code, "message": ...}`; only a failing DynamoDB gives a `5xx`.

pub mod access;
mod alerts;
pub mod dashboard;
mod forget;
pub mod params;
mod prices;
mod pulse;
mod respond;

use lambda_http::http::{header, HeaderValue, Method};
use lambda_http::{Body, Request, RequestExt, Response};
use params::{ApiError, Params};
use respond::{
    counts_json, error_response, json_response, merge, of_source, period_json, response, Answer,
    Failure,
};
use serde_json::{json, Value};
use std::collections::HashMap;
use tickerpulse_aggregate::leaderboard::{rank, Sort};
use tickerpulse_aggregate::{Bucket, Level};
use tickerpulse_aws::reads::Tables;
use tickerpulse_aws::serving::recent_tweets;
use tickerpulse_aws::{sdk, HandlerError};
use tickerpulse_core::config::{self, Env};
use tickerpulse_core::watchlist::Watchlist;

/// `CORS_ALLOW_ORIGIN`: the origin other sites may call the API from (an
/// origin or `*`); empty by default, and then no CORS header at all (the
/// dashboard itself is same-origin).
pub const CORS_ALLOW_ORIGIN: &str = "CORS_ALLOW_ORIGIN";

pub struct Function {
    pub tables: Tables,
    pub alerts: tickerpulse_aws::alerts::AlertRules,
    pub trending: tickerpulse_aws::pulse::Trending,
    pub history: tickerpulse_aws::pulse::AlertHistory,
    /// Daily prices (the lake's `prices/daily/`).
    pub prices: Box<dyn tickerpulse_aws::prices::PriceSource>,
    pub sign_in: access::SignIn,
    /// The X posts read this month, against `x_budget` (0: none).
    pub usage: tickerpulse_aws::state::Usage,
    pub x_budget: u64,
    /// The dashboard's Content-Security-Policy.
    pub csp: HeaderValue,
    pub watchlist: Watchlist,
    /// `None`: same origin only, no `Access-Control-Allow-Origin`.
    pub cors_origin: Option<HeaderValue>,
    pub page_keys: PageKeys,
    /// Each user's own API key in the users' usage plan (`GET /me`, `POST
    /// /me/key`); `None` where the stack names no plan.
    pub user_keys: Option<tickerpulse_aws::apikeys::UserKeys>,
    /// Operators' forget requests, queued for the comply function.
    pub comply: tickerpulse_aws::compliance::ComplyState,
}

/// The page tokens' key: `PAGE_TOKEN_KEY` (local runs), else the stack's secret
/// `PAGE_TOKEN_SECRET_ARN`, read once on the first request that pages (a cold
/// start that pages nothing reads nothing), else a key made for this process
/// (tokens then pass only where they were made).
pub struct PageKeys {
    secret: Option<(sdk::SdkConfig, String)>,
    cell: tokio::sync::OnceCell<params::PageTokens>,
}

impl PageKeys {
    pub fn from_env(env: &dyn Env, conf: sdk::SdkConfig) -> Self {
        let cell = tokio::sync::OnceCell::new();
        if let Some(key) = env.var("PAGE_TOKEN_KEY").filter(|k| !k.is_empty()) {
            let _ = cell.set(params::PageTokens::new(key.as_bytes()));
        }
        let secret = env
            .var("PAGE_TOKEN_SECRET_ARN")
            .filter(|a| !a.is_empty())
            .map(|arn| (conf, arn));
        Self { secret, cell }
    }

    pub async fn get(&self) -> Result<&params::PageTokens, HandlerError> {
        self.cell
            .get_or_try_init(|| async {
                let Some((conf, arn)) = &self.secret else {
                    tracing::warn!(
                        "no PAGE_TOKEN_SECRET_ARN: page tokens pass only in this process"
                    );
                    return Ok(params::PageTokens::new(&process_key()));
                };
                let key = tickerpulse_aws::secrets::secret_string(conf, arn, "the page token key")
                    .await?;
                if key.len() < 32 {
                    return Err(HandlerError::Fatal(
                        "the page token key secret holds fewer than 32 bytes".into(),
                    ));
                }
                Ok(params::PageTokens::new(key.as_bytes()))
            })
            .await
    }
}

/// 128 bits the operating system seeded this process's hash maps with.
fn process_key() -> Vec<u8> {
    use std::hash::{BuildHasher, Hasher};
    let mut out = Vec::with_capacity(16);
    for salt in [1u64, 2] {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(salt);
        out.extend_from_slice(&h.finish().to_le_bytes());
    }
    out
}

impl Function {
    pub async fn from_env(env: &dyn Env) -> Result<Self, HandlerError> {
        let conf = sdk::load(env).await;
        let origin = config::optional(env, CORS_ALLOW_ORIGIN, "");
        let sign_in = access::SignIn::from_env(env)?;
        Ok(Self {
            tables: Tables {
                client: sdk::dynamodb_client(&conf),
                ticker_table: config::required(env, config::TICKER_SUMMARY_TABLE)?,
                overall_table: config::required(env, config::OVERALL_SUMMARY_TABLE)?,
                recent_table: config::required(env, config::RECENT_TWEETS_TABLE)?,
                state_table: config::required(env, config::STATE_TABLE)?,
            },
            alerts: tickerpulse_aws::alerts::AlertRules {
                client: sdk::dynamodb_client(&conf),
                table: config::required(env, config::ALERT_RULES_TABLE)?,
            },
            trending: tickerpulse_aws::pulse::Trending {
                client: sdk::dynamodb_client(&conf),
                table: config::required(env, config::OVERALL_SUMMARY_TABLE)?,
            },
            prices: Box::new(tickerpulse_aws::prices::LakePrices {
                client: sdk::s3_client(&conf),
                bucket: config::required(env, config::ANALYTICS_BUCKET)?,
            }),
            history: tickerpulse_aws::pulse::AlertHistory {
                client: sdk::dynamodb_client(&conf),
                table: config::required(env, config::ALERT_HISTORY_TABLE)?,
                keep_days: 0,
            },
            csp: HeaderValue::from_str(&sign_in.csp()).map_err(|_| {
                HandlerError::Config(config::ConfigError::Invalid {
                    name: access::COGNITO_URL,
                    value: sign_in.cognito_url.clone(),
                    reason: "not a header value".into(),
                })
            })?,
            sign_in,
            usage: tickerpulse_aws::state::Usage {
                client: sdk::dynamodb_client(&conf),
                table: config::required(env, config::STATE_TABLE)?,
            },
            x_budget: config::number(env, "X_MONTHLY_POST_BUDGET", 0u64, 0..=u64::MAX)?,
            watchlist: tickerpulse_aws::watchlist::load(env).await?,
            page_keys: PageKeys::from_env(env, conf.clone()),
            user_keys: tickerpulse_aws::apikeys::UserKeys::from_env(env, &conf),
            comply: tickerpulse_aws::compliance::ComplyState {
                client: sdk::dynamodb_client(&conf),
                table: config::required(env, config::STATE_TABLE)?,
            },
            cors_origin: match origin.trim() {
                "" => None,
                o => Some(HeaderValue::from_str(o).map_err(|_| {
                    HandlerError::Config(config::ConfigError::Invalid {
                        name: CORS_ALLOW_ORIGIN,
                        value: origin.clone(),
                        reason: "not a header value".into(),
                    })
                })?),
            },
        })
    }

    /// Answers one request. DynamoDB failures are a `503` (throttling, retry
    /// later) or a `500` with a JSON body; the error is logged, never shown.
    pub async fn handle(&self, request: Request) -> Result<Response<Body>, HandlerError> {
        let path = request.raw_http_path().to_string();
        let method = request.method().clone();
        let started = std::time::Instant::now();
        let mut response = self.route(&method, &path, &request).await;
        let h = response.headers_mut();
        if let Some(origin) = &self.cors_origin {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        }
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        tracing::info!(
            %method,
            path,
            status = response.status().as_u16(),
            micros = started.elapsed().as_micros() as u64,
            "api request"
        );
        Ok(response)
    }

    async fn route(&self, method: &Method, path: &str, request: &Request) -> Response<Body> {
        if method == Method::OPTIONS {
            let mut r = response(204, "text/plain", Body::Empty);
            let h = r.headers_mut();
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST, DELETE, OPTIONS"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("Authorization, Content-Type, X-Api-Key"),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("3600"),
            );
            return r;
        }
        let route = path.trim_end_matches('/');
        let rule_id = route.strip_prefix("/alerts/");
        let write = match (method, rule_id) {
            (&Method::POST, None) if route == "/alerts" => true,
            (&Method::DELETE, Some(id)) if !id.contains('/') => true,
            _ => false,
        };
        if write {
            return self.write(method, rule_id, request).await;
        }
        if route == "/forget" && method == Method::POST {
            return self.forget(request).await;
        }
        if route == "/me/key" && method == Method::POST {
            let path = request.raw_http_path().to_string();
            let answer = match access::caller(request) {
                Some(c) => self.rotate_key(&c).await,
                None => Err(unauthorized()),
            };
            return self.answer(&path, 201, answer);
        }
        if method != Method::GET && method != Method::HEAD {
            let allow = if route == "/alerts" {
                "GET, POST, OPTIONS"
            } else if route == "/me/key" || route == "/forget" {
                "POST, OPTIONS"
            } else if rule_id.is_some() {
                "DELETE, OPTIONS"
            } else {
                "GET, OPTIONS"
            };
            let mut r = error_response(&ApiError {
                status: 405,
                code: "method_not_allowed",
                message: format!("{method} is not allowed here; see Allow"),
            });
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
            return r;
        }
        if path == "/" || path.is_empty() {
            if let Some(r) = dashboard::to_trailing_slash(request) {
                return r;
            }
        }
        if let Some(r) = dashboard::asset(path, &self.csp) {
            return r;
        }
        let query = request.query_string_parameters();
        let values: HashMap<String, String> = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let answer: Answer = match path.trim_end_matches('/') {
            "/health" => Ok(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")})),
            "/config.json" => Params::new(&values, &[])
                .map(|_| self.sign_in.config_json())
                .map_err(Failure::from),
            "/me" => match access::caller(request) {
                Some(c) => match Params::new(&values, &[]) {
                    Ok(_) => self.me(&c).await,
                    Err(e) => Err(e.into()),
                },
                None => Err(unauthorized()),
            },
            "/forget" => Err(Failure::Refused(ApiError {
                status: 405,
                code: "method_not_allowed",
                message: "POST asks for posts or authors to be forgotten".into(),
            })),
            "/me/key" => Err(Failure::Refused(ApiError {
                status: 405,
                code: "method_not_allowed",
                message: "POST rotates your key; GET /me shows it".into(),
            })),
            "/alerts" => match access::caller(request) {
                Some(c) => match Params::new(&values, &[]) {
                    Ok(_) => alerts::list(&self.alerts, &c).await,
                    Err(e) => Err(e.into()),
                },
                None => Err(unauthorized()),
            },
            "/alert-history" => match access::caller(request) {
                Some(c) => pulse::history(&self.history, &c, &values).await,
                None => Err(unauthorized()),
            },
            "/trending" => pulse::trending(&self.trending, &self.watchlist, &values).await,
            "/tickers" => self.watchlist_route(&values),
            "/periods" => self.periods(&values).await,
            "/leaderboard" => self.leaderboard(&values).await,
            "/overall" => self.overall(&values).await,
            "/hashtags" => self.hashtags(&values).await,
            "/words" => self.words(&values).await,
            "/tweets" => self.tweets(&values).await,
            "/runs" => self.runs(&values, operator(request)).await,
            "/usage" => self.x_usage(&values, operator(request)).await,
            p => match p.strip_prefix("/tickers/").and_then(|r| r.split_once('/')) {
                // The path segment as the client encoded it (`%24TSLA`): one
                // rule for tickers, in paths as in query strings.
                Some((raw, view)) if matches!(view, "trend" | "prices" | "correlation") => {
                    let raw = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
                    match (view, params::watched_ticker(&raw, &self.watchlist)) {
                        (_, Err(e)) => Err(e.into()),
                        ("trend", Ok(t)) => self.trend(&t, &values).await,
                        ("prices", Ok(t)) => prices::prices(&*self.prices, &t, &values).await,
                        (_, Ok(t)) => {
                            prices::correlation(&self.tables, &*self.prices, &t, &values).await
                        }
                    }
                }
                _ => Err(Failure::Refused(ApiError::not_found(format!(
                    "no such endpoint: {path} (see the OpenAPI file, api/openapi.yaml)"
                )))),
            },
        };
        self.answer(path, 200, answer)
    }

    /// `GET /me`: the caller, and their own API key (made at their first call).
    async fn me(&self, caller: &access::Caller) -> Answer {
        let key = match &self.user_keys {
            Some(keys) => Some(keys.key_for(&caller.sub).await.map_err(Failure::Tables)?),
            None => None,
        };
        Ok(self.sign_in.me_json(caller, key))
    }

    /// `POST /me/key`: a new key for the caller; their old one stops working.
    async fn rotate_key(&self, caller: &access::Caller) -> Answer {
        let Some(keys) = &self.user_keys else {
            return Err(Failure::Refused(ApiError::not_found(
                "this stack has no per-user keys (USER_USAGE_PLAN_ID)".to_string(),
            )));
        };
        let key = keys.rotate(&caller.sub).await.map_err(Failure::Tables)?;
        tracing::info!(sub = %caller.sub, "a user rotated their API key");
        Ok(json!({"api_key": key}))
    }

    /// `POST /alerts` and `DELETE /alerts/{id}`.
    async fn write(
        &self,
        method: &Method,
        rule_id: Option<&str>,
        request: &Request,
    ) -> Response<Body> {
        let path = request.raw_http_path().to_string();
        let Some(caller) = access::caller(request) else {
            return self.answer(&path, 401, Err(unauthorized()));
        };
        if method == Method::POST {
            let request_id = match request.request_context() {
                lambda_http::request::RequestContext::ApiGatewayV1(c) => {
                    c.request_id.unwrap_or_default()
                }
                _ => String::new(),
            };
            let body: &[u8] = request.body().as_ref();
            let answer =
                alerts::create(&self.alerts, &self.watchlist, &caller, body, &request_id).await;
            self.answer(&path, 201, answer)
        } else {
            let answer = alerts::delete(&self.alerts, &caller, rule_id.unwrap_or_default()).await;
            match answer {
                Ok(_) => response(204, "application/json", Body::Empty),
                Err(e) => self.answer(&path, 204, Err(e)),
            }
        }
    }

    /// `POST /forget`: an operator's request, queued for the comply function.
    async fn forget(&self, request: &Request) -> Response<Body> {
        let path = request.raw_http_path().to_string();
        let Some(caller) = access::caller(request) else {
            return self.answer(&path, 401, Err(unauthorized()));
        };
        let request_id = match request.request_context() {
            lambda_http::request::RequestContext::ApiGatewayV1(c) => {
                c.request_id.unwrap_or_default()
            }
            _ => String::new(),
        };
        let body: &[u8] = request.body().as_ref();
        let answer = forget::request(&self.comply, &caller, body, &request_id).await;
        self.answer(&path, 202, answer)
    }

    /// The response of an endpoint's answer: `ok` with its JSON, or the error.
    fn answer(&self, path: &str, ok: u16, answer: Answer) -> Response<Body> {
        match answer {
            Ok(v) => json_response(ok, &v),
            Err(Failure::Refused(e)) => error_response(&e),
            Err(Failure::Tables(e)) => {
                tracing::error!(path, error = %e, "the serving tables failed");
                let (status, code) = match e {
                    HandlerError::Retryable(_) => (503, "unavailable"),
                    _ => (500, "internal"),
                };
                json_response(
                    status,
                    &json!({"error": code, "message": "the serving tables could not be read; try again"}),
                )
            }
        }
    }

    /// The X posts read this month against the plan's budget, and a cap X reported.
    /// The month's X usage; the plan's budget and when its cap ends only to
    /// operators (others see the count and whether reads are stopped).
    async fn x_usage(&self, values: &HashMap<String, String>, operator: bool) -> Answer {
        Params::new(values, &[])?;
        let now = time::OffsetDateTime::now_utc();
        let month = format!("{:04}-{:02}", now.year(), now.month() as u8);
        let u = self.usage.read(&month).await?;
        let capped = u.capped_until.filter(|t| *t > now.unix_timestamp());
        let until = capped
            .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            });
        Ok(json!({
            "month": u.month,
            "posts_read": u.posts,
            "capped": capped.is_some(),
            "monthly_budget": (self.x_budget > 0 && operator).then_some(self.x_budget),
            "capped_until": until.filter(|_| operator),
        }))
    }

    fn watchlist_route(&self, values: &HashMap<String, String>) -> Answer {
        Params::new(values, &[])?;
        let tickers: Vec<Value> = self
            .watchlist
            .symbols()
            .into_iter()
            .map(|s| json!({"symbol": s, "name": self.watchlist.name(s).unwrap_or_default()}))
            .collect();
        Ok(json!({"tickers": tickers}))
    }

    /// The period a request names, or the newest of its level with data.
    async fn period_of(
        &self,
        p: &Params<'_>,
        level: Level,
    ) -> Result<Result<Option<Bucket>, ApiError>, HandlerError> {
        match p.period(level) {
            Err(e) => Ok(Err(e)),
            Ok(Some(b)) => Ok(Ok(Some(b))),
            Ok(None) => Ok(Ok(self
                .tables
                .periods(level, 1)
                .await?
                .first()
                .map(|p| p.bucket))),
        }
    }

    async fn periods(&self, values: &HashMap<String, String>) -> Answer {
        let p = Params::new(values, &["level", "limit"])?;
        let level = p.level("level", Level::Day)?;
        let limit = p.limit("limit", 50, 1..=1000)?;
        let periods: Vec<Value> = self
            .tables
            .periods(level, limit)
            .await?
            .into_iter()
            .map(|p| json!({"period": p.bucket.key(), "start": p.bucket.timestamp(), "tweets": p.tweets}))
            .collect();
        Ok(json!({"level": level.name(), "periods": periods}))
    }

    async fn leaderboard(&self, values: &HashMap<String, String>) -> Answer {
        let p = Params::new(
            values,
            &["level", "period", "sort", "limit", "min_mentions", "source"],
        )?;
        let source = p.source()?;
        let level = p.level("level", Level::Day)?;
        let sort = p.choice("sort", &Sort::NAMES)?;
        let limit = p.limit("limit", 5, 1..=100)?;
        let min_mentions = p.limit("min_mentions", 1, 1..=1_000_000_000)?;
        let bucket = self.period_of(&p, level).await??;
        let mut rows = match bucket {
            Some(b) => self.tables.tickers_of(b).await?,
            None => Vec::new(),
        };
        for r in &mut rows {
            r.counts = of_source(&r.counts, source);
        }
        let order = Sort::parse(sort).unwrap_or(Sort::Mentions);
        rank(&mut rows, order, min_mentions as u64, |r| {
            (&r.counts, &r.ticker)
        });
        let total = rows.len();
        let tickers: Vec<Value> = rows
            .into_iter()
            .take(limit)
            .enumerate()
            .map(|(i, r)| {
                merge(
                    json!({
                        "rank": i + 1,
                        "ticker": r.ticker,
                        "name": self.watchlist.name(&r.ticker),
                        "unique_authors": r.unique_authors,
                    }),
                    counts_json(&r.counts),
                )
            })
            .collect();
        let (period, start) = period_json(bucket);
        Ok(json!({
            "level": level.name(),
            "period": period,
            "start": start,
            "sort": sort,
            "tickers_in_period": total,
            "tickers": tickers,
        }))
    }

    async fn overall(&self, values: &HashMap<String, String>) -> Answer {
        let p = Params::new(values, &["level", "period", "source"])?;
        let level = p.level("level", Level::Day)?;
        let source = p.source()?;
        let bucket = self.period_of(&p, level).await??;
        let item = match bucket {
            Some(b) => self.tables.overall(b).await?,
            None => None,
        };
        let item = item.unwrap_or_default();
        let counts = of_source(&item.counts, source);
        let (period, start) = period_json(bucket);
        Ok(merge(
            json!({
                "level": level.name(),
                "period": period,
                "start": start,
                "tweets": counts.mentions,
                "ticker_mentions": item.ticker_mentions,
                "unique_authors": item.unique_authors,
            }),
            counts_json(&counts),
        ))
    }

    async fn hashtags(&self, values: &HashMap<String, String>) -> Answer {
        let p = Params::new(values, &["level", "period", "ticker", "limit"])?;
        let level = p.level("level", Level::Day)?;
        let limit = p.limit("limit", 20, 1..=100)?;
        let ticker = p.ticker(&self.watchlist)?;
        let bucket = self.period_of(&p, level).await??;
        let tags = match (bucket, &ticker) {
            (Some(b), Some(t)) => self.tables.ticker(b, t).await?.map(|t| t.hashtags),
            (Some(b), None) => self.tables.overall(b).await?.map(|o| o.hashtags),
            (None, _) => None,
        };
        let tags: Vec<Value> = tags
            .unwrap_or_default()
            .into_iter()
            .take(limit)
            .map(|(tag, count)| json!({"hashtag": tag, "count": count}))
            .collect();
        let (period, start) = period_json(bucket);
        Ok(json!({
            "level": level.name(), "period": period, "start": start, "ticker": ticker, "hashtags": tags,
        }))
    }

    async fn words(&self, values: &HashMap<String, String>) -> Answer {
        let p = Params::new(values, &["level", "period", "ticker", "limit"])?;
        let level = p.level("level", Level::Day)?;
        let limit = p.limit("limit", 50, 1..=200)?;
        let ticker = p.ticker(&self.watchlist)?;
        let bucket = self.period_of(&p, level).await??;
        let words = match (bucket, &ticker) {
            (Some(b), Some(t)) => self.tables.ticker(b, t).await?.map(|t| t.words),
            (Some(b), None) => self.tables.overall(b).await?.map(|o| o.words),
            (None, _) => None,
        };
        let words: Vec<Value> = words
            .unwrap_or_default()
            .into_iter()
            .take(limit)
            .map(|(word, count)| json!({"word": word, "count": count}))
            .collect();
        let (period, start) = period_json(bucket);
        Ok(json!({
            "level": level.name(), "period": period, "start": start, "ticker": ticker, "words": words,
        }))
    }

    /// `ticker`: a watched ticker (the route checked it).
    async fn trend(&self, ticker: &str, values: &HashMap<String, String>) -> Answer {
        let p = Params::new(values, &["granularity", "from", "to", "limit", "source"])?;
        let level = p.level("granularity", Level::Hour)?;
        let source = p.source()?;
        let (from, to) = p.inclusive_range()?;
        let limit = p.limit("limit", 500, 1..=5000)?;
        let points: Vec<Value> = self
            .tables
            .trend(ticker, level, from.as_deref(), to.as_deref(), limit)
            .await?
            .into_iter()
            .map(|pt| {
                merge(
                    json!({"period": pt.bucket.key(), "start": pt.bucket.timestamp()}),
                    counts_json(&of_source(&pt.counts, source)),
                )
            })
            .collect();
        Ok(json!({
            "ticker": ticker,
            "name": self.watchlist.name(ticker),
            "granularity": level.name(),
            "points": points,
        }))
    }

    async fn tweets(&self, values: &HashMap<String, String>) -> Answer {
        let p = Params::new(values, &["ticker", "limit", "page", "from", "to"])?;
        let ticker = p.ticker(&self.watchlist)?;
        let (from, to) = (p.time("from")?, p.time("to")?);
        if let (Some(a), Some(b)) = (&from, &to) {
            if a >= b {
                return Err(Failure::Refused(ApiError::bad(
                    "bad_parameter",
                    format!("from={a} must be before to={b}"),
                )));
            }
        }
        let limit = p.limit("limit", 20, 1..=100)?;
        let before = match p.get("page") {
            Some(t) => Some(self.page_keys.get().await?.read(
                t,
                "tweets",
                params::is_tweet_sort_key,
            )?),
            None => None,
        };
        let page = recent_tweets(
            &self.tables.client,
            &self.tables.recent_table,
            limit,
            ticker.as_deref(),
            tickerpulse_aws::serving::RecentRange {
                from: from.as_deref(),
                to: to.as_deref(),
                before: before.as_deref(),
            },
        )
        .await?;
        let next = match page.next {
            Some(k) => Some(self.page_keys.get().await?.issue("tweets", &k)),
            None => None,
        };
        Ok(json!({
            "ticker": ticker,
            "tweets": page.tweets,
            "next_page": next,
        }))
    }

    /// The pipeline's runs; their error text (bucket names, causes) only to
    /// operators, others see that there was one.
    async fn runs(&self, values: &HashMap<String, String>, operator: bool) -> Answer {
        let p = Params::new(values, &["limit", "page"])?;
        let limit = p.limit("limit", 10, 1..=100)?;
        let before = match p.get("page") {
            Some(t) => Some(self.page_keys.get().await?.read(
                t,
                "runs",
                params::is_run_sort_key,
            )?),
            None => None,
        };
        let (runs, more) = tickerpulse_aws::state::runs(
            &self.tables.client,
            &self.tables.state_table,
            limit,
            before.as_deref(),
        )
        .await?;
        let next = match runs.last().filter(|_| more) {
            Some((sk, _)) => Some(self.page_keys.get().await?.issue("runs", sk)),
            None => None,
        };
        let runs: Vec<tickerpulse_aws::state::RunRecord> = runs
            .into_iter()
            .map(|(_, mut r)| {
                if !operator && r.error.is_some() {
                    r.error = Some(HIDDEN_ERROR.into());
                }
                r
            })
            .collect();
        Ok(json!({"runs": runs, "next_page": next}))
    }
}

/// What a run's error reads as to a caller outside the operators group.
pub const HIDDEN_ERROR: &str = "hidden: the operators group sees run errors";

/// Whether the caller is in the operators group (no claims: no).
fn operator(request: &Request) -> bool {
    access::caller(request).is_some_and(|c| c.is_operator())
}

/// The route needs a signed-in caller and the request carries no claims: the
/// gateway's authorizer was not in front of it (a template fault), so refuse.
fn unauthorized() -> Failure {
    Failure::Refused(ApiError {
        status: 401,
        code: "unauthorized",
        message: "this route needs a signed-in user's ID token in Authorization".into(),
    })
}
