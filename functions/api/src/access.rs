//! Who is calling: the claims API Gateway's Cognito authorizer puts in
//! `requestContext.authorizer.claims` (every value a string; a list claim such
//! as `cognito:groups` comma-separated), and what the dashboard needs to sign in.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::{json, Value};
use tickerpulse_core::config::{self, ConfigError, Env};

/// The user pool group allowed to write (template.yaml, `EditorsGroup`).
pub const EDITORS_GROUP: &str = "editors";

/// The user pool group that may read operational details: run errors (bucket
/// names, causes) and the X plan's budget and cap (template.yaml, `OperatorsGroup`).
pub const OPERATORS_GROUP: &str = "operators";

/// The signed-in caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub sub: String,
    pub username: String,
    pub groups: Vec<String>,
}

impl Caller {
    pub fn can_write(&self) -> bool {
        self.groups.iter().any(|g| g == EDITORS_GROUP)
    }

    pub fn is_operator(&self) -> bool {
        self.groups.iter().any(|g| g == OPERATORS_GROUP)
    }
}

/// `cognito:groups` as the gateway passes it: `editors`, `a,b`, or `[a, b]`.
pub fn groups(claim: &str) -> Vec<String> {
    claim
        .trim_matches(|c| c == '[' || c == ']')
        .split([',', ' '])
        .filter(|g| !g.is_empty())
        .map(str::to_string)
        .collect()
}

/// The caller of a request the authorizer let through; `None` when the
/// request carries no claims (a route the template left unguarded).
pub fn caller(request: &Request) -> Option<Caller> {
    let RequestContext::ApiGatewayV1(ctx) = request.request_context() else {
        return None;
    };
    let claims = ctx.authorizer.fields.get("claims")?;
    let text = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_string);
    Some(Caller {
        sub: text("sub")?,
        username: text("cognito:username").or_else(|| text("username"))?,
        groups: text("cognito:groups")
            .map(|g| groups(&g))
            .unwrap_or_default(),
    })
}

/// The user pool the dashboard signs in to, and the dashboard's usage plan key.
#[derive(Debug, Clone)]
pub struct SignIn {
    pub region: String,
    pub user_pool_id: String,
    pub client_id: String,
    /// Cognito's endpoint (the regional one; the local stack's proxy locally).
    pub cognito_url: String,
}

pub const USER_POOL_ID: &str = "USER_POOL_ID";
pub const USER_POOL_CLIENT_ID: &str = "USER_POOL_CLIENT_ID";
pub const COGNITO_URL: &str = "COGNITO_URL";

impl SignIn {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let region = config::optional(env, "AWS_REGION", "us-east-1");
        let default_url = format!("https://cognito-idp.{region}.amazonaws.com/");
        Ok(Self {
            user_pool_id: config::required(env, USER_POOL_ID)?,
            client_id: config::required(env, USER_POOL_CLIENT_ID)?,
            cognito_url: config::optional(env, COGNITO_URL, &default_url),
            region,
        })
    }

    pub fn config_json(&self) -> Value {
        json!({
            "region": self.region,
            "user_pool_id": self.user_pool_id,
            "client_id": self.client_id,
            "cognito_url": self.cognito_url,
        })
    }

    /// The dashboard's Content-Security-Policy: its own origin, and Cognito's
    /// endpoint for sign-in and refresh (nothing else may be fetched).
    pub fn csp(&self) -> String {
        let url = self.cognito_url.as_str();
        let origin = match url.find("://") {
            Some(i) => match url[i + 3..].find('/') {
                Some(j) => &url[..i + 3 + j],
                None => url,
            },
            None => url,
        };
        format!(
            "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' {origin}"
        )
    }

    /// `GET /me`: `api_key` is the caller's own key (`None` on a stack
    /// without per-user keys).
    pub fn me_json(&self, caller: &Caller, api_key: Option<String>) -> Value {
        json!({
            "username": caller.username,
            "sub": caller.sub,
            "groups": caller.groups,
            "can_write": caller.can_write(),
            "api_key": api_key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_may_connect_to_its_origin_and_cognito_only() {
        let s = SignIn {
            region: "eu-west-1".into(),
            user_pool_id: "p".into(),
            client_id: "c".into(),
            cognito_url: "https://cognito-idp.eu-west-1.amazonaws.com/".into(),
        };
        assert!(s
            .csp()
            .ends_with("connect-src 'self' https://cognito-idp.eu-west-1.amazonaws.com"));
    }

    #[test]
    fn the_groups_claim_in_each_shape_the_gateway_gives() {
        assert_eq!(groups("editors"), ["editors"]);
        assert_eq!(groups("editors,readers"), ["editors", "readers"]);
        assert_eq!(groups("[editors, readers]"), ["editors", "readers"]);
        assert!(groups("").is_empty());
    }
}
