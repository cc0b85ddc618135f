//! API Gateway's Cognito user pool authorizer, as the local gateway runs it.
//!
//! What it checks, after the API Gateway developer guide ("Control access to
//! REST APIs using Amazon Cognito user pools as an authorizer") and Cognito's
//! "Verifying a JSON web token": the `Authorization` header holds the token
//! itself; it is an RS256 JWT signed by a key of the pool's JWKS
//! (`<issuer>/.well-known/jwks.json`, which moto serves), its `iss` is the
//! pool, it has not expired, and with no authorization scopes on the method it
//! is an ID token (`token_use = id`). A request without a header, or with any
//! other token, gets 401; the handler then sees the claims under
//! `requestContext.authorizer.claims`, every value a string (list claims such
//! as `cognito:groups` comma-separated, times as `Fri Jul 29 18:52:53 UTC 2016`).

use anyhow::{anyhow, Context, Result};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

/// Why a request was refused: always a 401 from the gateway.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no Authorization header")]
    Missing,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid: {0}")]
    Invalid(String),
}

impl Refusal {
    /// The message API Gateway puts in its 401 (`$context.error.messageString`).
    pub fn message(&self) -> &'static str {
        match self {
            Refusal::Expired => "The incoming token has expired",
            _ => "Unauthorized",
        }
    }
}

pub struct Authorizer {
    issuer: String,
    keys: JwkSet,
}

/// The issuer (`iss`) of a pool's tokens.
pub fn issuer(region: &str, pool_id: &str) -> String {
    format!("https://cognito-idp.{region}.amazonaws.com/{pool_id}")
}

impl Authorizer {
    pub fn new(issuer: String, jwks: &str) -> Result<Self> {
        let keys: JwkSet = serde_json::from_str(jwks).context("the pool's JWKS")?;
        Ok(Self { issuer, keys })
    }

    /// Reads the pool's JWKS from the emulator (`endpoint`, e.g. moto's URL).
    pub async fn fetch(endpoint: &str, region: &str, pool_id: &str) -> Result<Self> {
        let url = format!(
            "{}/{pool_id}/.well-known/jwks.json",
            endpoint.trim_end_matches('/')
        );
        let (status, body) = crate::stack::get(&url).await?;
        if status != 200 {
            return Err(anyhow!("{url}: {status} {body}"));
        }
        Self::new(issuer(region, pool_id), &body)
    }

    /// The claims of the request's `Authorization` header, as the handler
    /// receives them, or why the gateway refuses it.
    pub fn authorize(&self, header: Option<&str>) -> Result<Map<String, Value>, Refusal> {
        let token = header
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(Refusal::Missing)?;
        let head = decode_header(token).map_err(|e| Refusal::Invalid(e.to_string()))?;
        let kid = head.kid.ok_or_else(|| Refusal::Invalid("no kid".into()))?;
        let jwk = self
            .keys
            .find(&kid)
            .ok_or_else(|| Refusal::Invalid(format!("no key {kid} in the pool's JWKS")))?;
        let key = DecodingKey::from_jwk(jwk).map_err(|e| Refusal::Invalid(e.to_string()))?;
        let mut v = Validation::new(Algorithm::RS256);
        v.set_issuer(&[&self.issuer]);
        v.validate_aud = false;
        v.leeway = 0;
        v.set_required_spec_claims(&["exp", "iss", "sub"]);
        let data = decode::<Map<String, Value>>(token, &key, &v).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => Refusal::Expired,
            _ => Refusal::Invalid(e.to_string()),
        })?;
        let claims = data.claims;
        if claims.get("token_use").and_then(Value::as_str) != Some("id") {
            return Err(Refusal::Invalid("not an ID token".into()));
        }
        Ok(claims
            .into_iter()
            .map(|(k, v)| {
                let s = stringify(&k, &v);
                (k, Value::String(s))
            })
            .collect())
    }
}

/// A claim as the gateway passes it on: a string.
fn stringify(name: &str, v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| stringify(name, i))
            .collect::<Vec<_>>()
            .join(","),
        Value::Number(n) if matches!(name, "exp" | "iat" | "auth_time") => n
            .as_i64()
            .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
            .and_then(|t| {
                t.format(time::macros::format_description!(
                    "[weekday repr:short] [month repr:short] [day] [hour]:[minute]:[second] UTC [year]"
                ))
                .ok()
            })
            .unwrap_or_else(|| n.to_string()),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_become_strings_as_the_gateway_gives_them() {
        assert_eq!(
            stringify("cognito:groups", &serde_json::json!(["a", "b"])),
            "a,b"
        );
        assert_eq!(
            stringify("exp", &serde_json::json!(1469814773)),
            "Fri Jul 29 17:52:53 UTC 2016"
        );
        assert_eq!(
            stringify("email_verified", &serde_json::json!(true)),
            "true"
        );
    }

    #[test]
    fn a_missing_or_unreadable_header_is_refused() {
        let a = Authorizer::new(issuer("us-east-1", "p"), r#"{"keys":[]}"#).unwrap();
        assert_eq!(a.authorize(None), Err(Refusal::Missing));
        assert_eq!(a.authorize(Some("  ")), Err(Refusal::Missing));
        assert!(matches!(
            a.authorize(Some("not.a.jwt")),
            Err(Refusal::Invalid(_))
        ));
    }
}

/// The ids the emulator gave the template's user pool and its app client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPoolIds {
    pub pool_id: String,
    pub client_id: String,
}

async fn client(
    env: &std::collections::BTreeMap<String, String>,
) -> aws_sdk_cognitoidentityprovider::Client {
    let conf = tickerpulse_aws::sdk::load(env).await;
    aws_sdk_cognitoidentityprovider::Client::new(&conf)
}

fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    tickerpulse_aws::sdk::describe(e)
}

/// Finds the pool named `name` and its client named `client_name`.
async fn find(
    c: &aws_sdk_cognitoidentityprovider::Client,
    name: &str,
    client_name: &str,
) -> Result<Option<UserPoolIds>> {
    let pools = c
        .list_user_pools()
        .max_results(60)
        .send()
        .await
        .map_err(|e| anyhow!("listing user pools: {}", describe(&e)))?;
    let Some(pool_id) = pools
        .user_pools()
        .iter()
        .find(|p| p.name() == Some(name))
        .and_then(|p| p.id().map(String::from))
    else {
        return Ok(None);
    };
    let clients = c
        .list_user_pool_clients()
        .user_pool_id(&pool_id)
        .max_results(60)
        .send()
        .await
        .map_err(|e| anyhow!("listing the clients of {pool_id}: {}", describe(&e)))?;
    Ok(clients
        .user_pool_clients()
        .iter()
        .find(|c| c.client_name() == Some(client_name))
        .and_then(|c| c.client_id().map(String::from))
        .map(|client_id| UserPoolIds { pool_id, client_id }))
}

/// Creates the template's user pool, its first app client and its groups in
/// the emulator, unless they exist; returns their ids (`None` without a pool).
pub async fn provision(
    template: &crate::Template,
    env: &std::collections::BTreeMap<String, String>,
) -> Result<Option<UserPoolIds>> {
    use aws_sdk_cognitoidentityprovider::types::{
        AdminCreateUserConfigType, ExplicitAuthFlowsType, PasswordPolicyType,
        SoftwareTokenMfaConfigType, UserPoolMfaType, UserPoolPolicyType,
    };
    let Some(spec) = template.user_pools()?.into_iter().next() else {
        return Ok(None);
    };
    let Some((_, client_name, flows)) = spec.clients.first().cloned() else {
        return Err(anyhow!("user pool {} has no app client", spec.logical_id));
    };
    let c = client(env).await;
    if let Some(ids) = find(&c, &spec.name, &client_name).await? {
        return Ok(Some(ids));
    }
    let mut policy = PasswordPolicyType::builder();
    if let Some(n) = spec.password_min_length {
        policy = policy.minimum_length(n);
    }
    let pool = c
        .create_user_pool()
        .pool_name(&spec.name)
        .policies(
            UserPoolPolicyType::builder()
                .password_policy(policy.build())
                .build(),
        )
        .admin_create_user_config(
            AdminCreateUserConfigType::builder()
                .allow_admin_create_user_only(spec.admin_create_only)
                .build(),
        )
        .send()
        .await
        .map_err(|e| anyhow!("creating user pool {}: {}", spec.name, describe(&e)))?;
    let pool_id = pool
        .user_pool()
        .and_then(|p| p.id())
        .ok_or_else(|| anyhow!("user pool {} has no id", spec.name))?
        .to_string();
    if spec.mfa != "OFF" {
        // What CloudFormation's MfaConfiguration and EnabledMfas become.
        c.set_user_pool_mfa_config()
            .user_pool_id(&pool_id)
            .mfa_configuration(UserPoolMfaType::from(spec.mfa.as_str()))
            .software_token_mfa_configuration(
                SoftwareTokenMfaConfigType::builder()
                    .enabled(spec.totp)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| anyhow!("setting {}'s MFA: {}", spec.name, describe(&e)))?;
    }
    let created = c
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name(&client_name)
        .generate_secret(false)
        .set_explicit_auth_flows(Some(
            flows
                .iter()
                .map(|f| ExplicitAuthFlowsType::from(f.as_str()))
                .collect(),
        ))
        .send()
        .await
        .map_err(|e| anyhow!("creating app client {client_name}: {}", describe(&e)))?;
    let client_id = created
        .user_pool_client()
        .and_then(|c| c.client_id())
        .ok_or_else(|| anyhow!("app client {client_name} has no id"))?
        .to_string();
    for g in &spec.groups {
        c.create_group()
            .user_pool_id(&pool_id)
            .group_name(g)
            .send()
            .await
            .map_err(|e| anyhow!("creating group {g}: {}", describe(&e)))?;
    }
    Ok(Some(UserPoolIds { pool_id, client_id }))
}

/// The ids of the template's pool in a running emulator.
pub async fn lookup(
    template: &crate::Template,
    env: &std::collections::BTreeMap<String, String>,
) -> Result<Option<UserPoolIds>> {
    let Some(spec) = template.user_pools()?.into_iter().next() else {
        return Ok(None);
    };
    let client_name = spec
        .clients
        .first()
        .map(|c| c.1.clone())
        .unwrap_or_default();
    find(&client(env).await, &spec.name, &client_name).await
}

/// What the api function reads about the pool: its ids, and Cognito's endpoint
/// (the local stack's, which the browser calls for sign-in).
pub fn env_of(ids: &UserPoolIds, endpoint: &str) -> [(String, String); 3] {
    [
        ("USER_POOL_ID".into(), ids.pool_id.clone()),
        ("USER_POOL_CLIENT_ID".into(), ids.client_id.clone()),
        (
            "COGNITO_URL".into(),
            format!("{}/", endpoint.trim_end_matches('/')),
        ),
    ]
}

/// The tokens of a signed-in user, and the TOTP secret they enrolled when
/// this sign-in was their first.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub id_token: String,
    pub refresh_token: String,
    pub totp_secret: Option<String>,
}

/// Invites a user as an operator would (admin-create-user, a permanent
/// password, the groups). They enrol their TOTP device at their first sign-in.
pub async fn invite(
    env: &std::collections::BTreeMap<String, String>,
    ids: &UserPoolIds,
    username: &str,
    password: &str,
    groups: &[&str],
) -> Result<()> {
    let c = client(env).await;
    c.admin_create_user()
        .user_pool_id(&ids.pool_id)
        .username(username)
        .message_action(aws_sdk_cognitoidentityprovider::types::MessageActionType::Suppress)
        .send()
        .await
        .map_err(|e| anyhow!("creating user {username}: {}", describe(&e)))?;
    c.admin_set_user_password()
        .user_pool_id(&ids.pool_id)
        .username(username)
        .password(password)
        .permanent(true)
        .send()
        .await
        .map_err(|e| anyhow!("setting {username}'s password: {}", describe(&e)))?;
    for g in groups {
        c.admin_add_user_to_group()
            .user_pool_id(&ids.pool_id)
            .username(username)
            .group_name(*g)
            .send()
            .await
            .map_err(|e| anyhow!("adding {username} to {g}: {}", describe(&e)))?;
    }
    Ok(())
}

/// Invites a user, then signs them in once (enrolling a TOTP device when the
/// pool asks for one): the tokens carry the secret for later sign-ins.
pub async fn add_user(
    env: &std::collections::BTreeMap<String, String>,
    ids: &UserPoolIds,
    username: &str,
    password: &str,
    groups: &[&str],
) -> Result<Tokens> {
    invite(env, ids, username, password, groups).await?;
    sign_in(env, ids, username, password, None).await
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Signs a user in as the dashboard does: SRP (the password never sent),
/// then the TOTP code of `totp_secret` when the pool asks for one, or, at a
/// first sign-in under required MFA, a new device enrolled (its secret in the
/// returned tokens).
pub async fn sign_in(
    env: &std::collections::BTreeMap<String, String>,
    ids: &UserPoolIds,
    username: &str,
    password: &str,
    totp_secret: Option<&str>,
) -> Result<Tokens> {
    use aws_sdk_cognitoidentityprovider::types::{AuthFlowType, ChallengeNameType};
    let c = client(env).await;
    let srp = crate::srp::Srp::new()?;
    let started = c
        .initiate_auth()
        .client_id(&ids.client_id)
        .auth_flow(AuthFlowType::UserSrpAuth)
        .auth_parameters("USERNAME", username)
        .auth_parameters("SRP_A", srp.public_hex())
        .send()
        .await
        .map_err(|e| anyhow!("signing {username} in: {}", describe(&e)))?;
    let param = |name: &str| {
        started
            .challenge_parameters()
            .and_then(|p| p.get(name))
            .cloned()
            .ok_or_else(|| anyhow!("signing {username} in: the challenge has no {name}"))
    };
    let user_id = param("USER_ID_FOR_SRP")?;
    let block = param("SECRET_BLOCK")?;
    let ts = crate::srp::timestamp(time::OffsetDateTime::now_utc());
    let claim = srp.claim(
        &ids.pool_id,
        &user_id,
        password,
        &param("SALT")?,
        &param("SRP_B")?,
        &block,
        &ts,
    )?;
    let mut out = c
        .respond_to_auth_challenge()
        .client_id(&ids.client_id)
        .challenge_name(ChallengeNameType::PasswordVerifier)
        .set_session(started.session().map(String::from))
        .challenge_responses("USERNAME", &user_id)
        .challenge_responses("PASSWORD_CLAIM_SECRET_BLOCK", &block)
        .challenge_responses("TIMESTAMP", &ts)
        .challenge_responses("PASSWORD_CLAIM_SIGNATURE", claim)
        .send()
        .await
        .map_err(|e| anyhow!("signing {username} in: {}", describe(&e)))?;
    let mut enrolled = None;
    match out.challenge_name() {
        Some(ChallengeNameType::SoftwareTokenMfa) => {
            let secret = totp_secret.ok_or_else(|| {
                anyhow!("{username} signs in with a TOTP code: give the secret they enrolled")
            })?;
            out = c
                .respond_to_auth_challenge()
                .client_id(&ids.client_id)
                .challenge_name(ChallengeNameType::SoftwareTokenMfa)
                .set_session(out.session().map(String::from))
                .challenge_responses("USERNAME", &user_id)
                .challenge_responses(
                    "SOFTWARE_TOKEN_MFA_CODE",
                    crate::srp::totp(secret, now_unix())?,
                )
                .send()
                .await
                .map_err(|e| anyhow!("{username}'s TOTP code: {}", describe(&e)))?;
        }
        Some(ChallengeNameType::MfaSetup) => {
            let assoc = c
                .associate_software_token()
                .set_session(out.session().map(String::from))
                .send()
                .await
                .map_err(|e| anyhow!("enrolling {username}'s TOTP device: {}", describe(&e)))?;
            let secret = assoc
                .secret_code()
                .ok_or_else(|| anyhow!("enrolling {username}: no secret code"))?
                .to_string();
            let verified = c
                .verify_software_token()
                .set_session(assoc.session().map(String::from))
                .user_code(crate::srp::totp(&secret, now_unix())?)
                .friendly_device_name("tickerpulse")
                .send()
                .await
                .map_err(|e| anyhow!("verifying {username}'s TOTP device: {}", describe(&e)))?;
            out = c
                .respond_to_auth_challenge()
                .client_id(&ids.client_id)
                .challenge_name(ChallengeNameType::MfaSetup)
                .set_session(verified.session().map(String::from))
                .challenge_responses("USERNAME", &user_id)
                .send()
                .await
                .map_err(|e| anyhow!("signing {username} in: {}", describe(&e)))?;
            enrolled = Some(secret);
        }
        _ => {}
    }
    let r = out.authentication_result().ok_or_else(|| {
        anyhow!(
            "signing {username} in: a {:?} challenge, not tokens",
            out.challenge_name()
        )
    })?;
    Ok(Tokens {
        id_token: r.id_token().unwrap_or_default().to_string(),
        refresh_token: r.refresh_token().unwrap_or_default().to_string(),
        totp_secret: enrolled.or(totp_secret.map(String::from)),
    })
}

/// On a running local stack: adds the pool's ids to the api function's
/// environment and returns the authorizer the local gateway runs (`None` when
/// the template has no user pool). `endpoint` is the proxy's URL, `moto` moto's.
pub async fn attach(
    template: &crate::Template,
    env: &mut std::collections::BTreeMap<String, String>,
    endpoint: &str,
    moto: &str,
) -> Result<Option<Authorizer>> {
    let Some(ids) = lookup(template, env).await? else {
        return Ok(None);
    };
    env.extend(env_of(&ids, endpoint));
    Ok(Some(
        Authorizer::fetch(moto, template.region(), &ids.pool_id).await?,
    ))
}
