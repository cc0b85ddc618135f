//! Sign-in on the local pool is as strict as Cognito's (moto's kindness
//! mended in `crates/local/src/moto_server.py`): SRP proves the password, the
//! public client refuses the password in the clear, MFA is required and each
//! code is checked, sign-out revokes the refresh token.

use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
use tickerpulse_e2e::start_stack;
use tickerpulse_local::cognito::{sign_in, UserPoolIds};
use tickerpulse_local::srp::totp;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A base32 key that is not the user's.
const OTHER_KEY: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_needs_the_password_by_srp_and_a_totp_code() {
    let stack = start_stack("signin")
        .await
        .expect("starting the local stack");
    let env = stack.env().unwrap();
    let ids: UserPoolIds = stack.user_pool.clone().expect("the template's pool");
    let conf = tickerpulse_aws::sdk::load(&env).await;
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&conf);
    let refused = |r: anyhow::Result<_>| format!("{:#}", r.expect_err("refused"));

    stack
        .invite("ann", "Analyst-password-1", &[])
        .await
        .unwrap();

    // The password in the clear is refused by the dashboard's client.
    let plain = cognito
        .initiate_auth()
        .client_id(&ids.client_id)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", "ann")
        .auth_parameters("PASSWORD", "Analyst-password-1")
        .send()
        .await;
    let e = plain.expect_err("USER_PASSWORD_AUTH is not enabled");
    let e = e.into_service_error();
    assert!(e.is_invalid_parameter_exception(), "{e:?}");
    assert!(
        e.to_string()
            .contains("USER_PASSWORD_AUTH flow not enabled for this client"),
        "{e}"
    );

    // SRP with a wrong password: the claim does not verify (moto took any).
    let e = refused(sign_in(&env, &ids, "ann", "Analyst-password-2", None).await);
    assert!(e.contains("Incorrect username or password"), "{e}");

    // The first sign-in enrols a device; the key is the user's own.
    let first = sign_in(&env, &ids, "ann", "Analyst-password-1", None)
        .await
        .unwrap();
    let key = first.totp_secret.clone().expect("a TOTP device enrolled");
    assert!(key.len() >= 32, "{key}");
    assert!(!first.id_token.is_empty());

    // After that the code is asked for: none, a wrong key's, then the right one.
    let e = refused(sign_in(&env, &ids, "ann", "Analyst-password-1", None).await);
    assert!(e.contains("signs in with a TOTP code"), "{e}");
    let e = refused(sign_in(&env, &ids, "ann", "Analyst-password-1", Some(OTHER_KEY)).await);
    assert!(e.contains("Invalid code received for user"), "{e}");
    let second = sign_in(&env, &ids, "ann", "Analyst-password-1", Some(&key))
        .await
        .unwrap();

    // Another user's device has another key.
    stack.invite("bob", "Reader-password-1", &[]).await.unwrap();
    let bob = sign_in(&env, &ids, "bob", "Reader-password-1", None)
        .await
        .unwrap();
    assert_ne!(bob.totp_secret.as_deref(), Some(key.as_str()));

    // Enrolment refuses a wrong code and then takes the right one; MFA_SETUP
    // is answered only with the session a verified code gave.
    stack
        .invite("cid", "Curious-password-1", &[])
        .await
        .unwrap();
    let srp = tickerpulse_local::srp::Srp::new().unwrap();
    let started = cognito
        .initiate_auth()
        .client_id(&ids.client_id)
        .auth_flow(AuthFlowType::UserSrpAuth)
        .auth_parameters("USERNAME", "cid")
        .auth_parameters("SRP_A", srp.public_hex())
        .send()
        .await
        .unwrap();
    let p = started.challenge_parameters().unwrap();
    let ts = tickerpulse_local::srp::timestamp(time::OffsetDateTime::now_utc());
    let claim = srp
        .claim(
            &ids.pool_id,
            &p["USER_ID_FOR_SRP"],
            "Curious-password-1",
            &p["SALT"],
            &p["SRP_B"],
            &p["SECRET_BLOCK"],
            &ts,
        )
        .unwrap();
    let challenge = cognito
        .respond_to_auth_challenge()
        .client_id(&ids.client_id)
        .challenge_name("PASSWORD_VERIFIER".into())
        .set_session(started.session().map(String::from))
        .challenge_responses("USERNAME", &p["USER_ID_FOR_SRP"])
        .challenge_responses("PASSWORD_CLAIM_SECRET_BLOCK", &p["SECRET_BLOCK"])
        .challenge_responses("TIMESTAMP", &ts)
        .challenge_responses("PASSWORD_CLAIM_SIGNATURE", claim)
        .send()
        .await
        .unwrap();
    assert_eq!(
        challenge.challenge_name().map(|c| c.as_str()),
        Some("MFA_SETUP")
    );
    let unverified = cognito
        .respond_to_auth_challenge()
        .client_id(&ids.client_id)
        .challenge_name("MFA_SETUP".into())
        .set_session(challenge.session().map(String::from))
        .challenge_responses("USERNAME", "cid")
        .send()
        .await;
    assert!(unverified.is_err(), "MFA_SETUP without a verified device");
    let assoc = cognito
        .associate_software_token()
        .set_session(challenge.session().map(String::from))
        .send()
        .await
        .unwrap();
    let secret = assoc.secret_code().unwrap().to_string();
    let wrong = cognito
        .verify_software_token()
        .set_session(assoc.session().map(String::from))
        .user_code(totp(OTHER_KEY, now()).unwrap())
        .send()
        .await
        .expect_err("a wrong code");
    assert_eq!(
        wrong.into_service_error().meta().code(),
        Some("EnableSoftwareTokenMFAException")
    );
    let verified = cognito
        .verify_software_token()
        .set_session(assoc.session().map(String::from))
        .user_code(totp(&secret, now()).unwrap())
        .send()
        .await
        .unwrap();
    let done = cognito
        .respond_to_auth_challenge()
        .client_id(&ids.client_id)
        .challenge_name("MFA_SETUP".into())
        .set_session(verified.session().map(String::from))
        .challenge_responses("USERNAME", "cid")
        .send()
        .await
        .unwrap();
    assert!(done.authentication_result().is_some());

    // Sign-out: RevokeToken, after which the refresh token is refused.
    let refresh = |token: String| {
        cognito
            .initiate_auth()
            .client_id(&ids.client_id)
            .auth_flow(AuthFlowType::RefreshTokenAuth)
            .auth_parameters("REFRESH_TOKEN", token)
            .send()
    };
    refresh(second.refresh_token.clone())
        .await
        .expect("a live refresh token");
    cognito
        .revoke_token()
        .client_id(&ids.client_id)
        .token(&second.refresh_token)
        .send()
        .await
        .unwrap();
    let e = refresh(second.refresh_token.clone())
        .await
        .expect_err("a revoked refresh token")
        .into_service_error();
    assert!(e.is_not_authorized_exception(), "{e:?}");
    // The first session's token was not revoked with it.
    refresh(first.refresh_token.clone())
        .await
        .expect("another session's token");
}
