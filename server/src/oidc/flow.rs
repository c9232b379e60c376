//! One sign-in through the provider: the authorization request Writ sends the browser with,
//! and the checks on the callback, the token response and the ID token.

use chrono::{DateTime, Utc};
use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{
    AccessTokenHash, AuthorizationCode, CsrfToken, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, RequestTokenError, Scope, TokenResponse as _,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::Url;

use super::types::{ExtraClaims, IdTokenClaims, UserInfoClaims};
use super::{FLOW_LIFETIME, OidcProvider};
use crate::domain::oidc_users::ProviderIdentity;

/// A started sign-in, kept in the browser's session until the provider sends the browser back.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct PendingSignIn {
    state: String,
    nonce: String,
    pkce_verifier: String,
    /// The on-site path to open after signing in.
    pub return_to: String,
    started_at: DateTime<Utc>,
}

/// The query parameters of the provider's redirect back to Writ.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// The reason a callback was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignInFailure {
    #[error("no sign-in was started in this browser, or it was already completed")]
    NoPendingSignIn,
    #[error("the state parameter does not match the sign-in started in this browser")]
    StateMismatch,
    #[error("the sign-in took longer than {} minutes", FLOW_LIFETIME.as_secs() / 60)]
    FlowExpired,
    #[error("the provider returned an error: {0}")]
    ProviderError(String),
    #[error("the authorization response names issuer {found:?} instead of {expected:?}")]
    IssuerMismatch { expected: String, found: String },
    #[error("the provider's response has no authorization code")]
    MissingCode,
    #[error("the provider did not accept the authorization code: {0}")]
    TokenExchange(String),
    #[error("the provider's token endpoint could not be reached: {0}")]
    TokenEndpointUnreachable(String),
    #[error("the ID token is invalid: {0}")]
    IdToken(String),
    #[error("the userinfo request failed: {0}")]
    UserInfo(String),
}

impl SignInFailure {
    /// Whether the cause is on the provider's side (unreachable or misbehaving), as opposed to
    /// a bad or replayed callback.
    pub fn is_provider_fault(&self) -> bool {
        matches!(self, Self::TokenEndpointUnreachable(_) | Self::UserInfo(_))
    }
}

impl OidcProvider {
    /// Builds the authorization request URL, with a fresh `state`, `nonce` and PKCE S256
    /// challenge, and the record to keep until the callback.
    pub fn begin(&self, return_to: String) -> (Url, PendingSignIn) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = self.client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in &self.settings.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        let pending = PendingSignIn {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            return_to,
            started_at: self.clock.now(),
        };
        (url, pending)
    }

    /// Checks the callback against the pending sign-in, exchanges the code, validates the ID
    /// token and returns the identity.
    pub async fn finish(
        &self,
        pending: Option<PendingSignIn>,
        callback: Callback,
    ) -> Result<ProviderIdentity, SignInFailure> {
        let pending = pending.ok_or(SignInFailure::NoPendingSignIn)?;
        let state = callback.state.as_deref().unwrap_or_default();
        if !same_secret(state, &pending.state) {
            return Err(SignInFailure::StateMismatch);
        }
        let lifetime = chrono::Duration::from_std(FLOW_LIFETIME).unwrap_or(chrono::Duration::MAX);
        if self.clock.now() > pending.started_at + lifetime {
            return Err(SignInFailure::FlowExpired);
        }
        if let Some(error) = callback.error {
            let description = callback.error_description.unwrap_or_default();
            return Err(SignInFailure::ProviderError(
                format!("{error} {description}").trim().to_owned(),
            ));
        }
        self.check_iss_parameter(callback.iss.as_deref())?;
        let code = callback.code.ok_or(SignInFailure::MissingCode)?;

        let token = self
            .client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|error| SignInFailure::TokenExchange(error.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier))
            .request_async(&self.http)
            .await
            .map_err(token_failure)?;
        let id_token = token
            .id_token()
            .ok_or_else(|| SignInFailure::IdToken("the token response has no ID token".into()))?;

        let verifier = self.id_token_verifier();
        let nonce = Nonce::new(pending.nonce);
        let claims = id_token
            .claims(&verifier, &nonce)
            .map_err(|error| SignInFailure::IdToken(error.to_string()))?;
        if let Some(expected) = claims.access_token_hash() {
            let alg = id_token
                .signing_alg()
                .map_err(|error| SignInFailure::IdToken(error.to_string()))?;
            let key = id_token
                .signing_key(&verifier)
                .map_err(|error| SignInFailure::IdToken(error.to_string()))?;
            let actual = AccessTokenHash::from_token(token.access_token(), alg, key)
                .map_err(|error| SignInFailure::IdToken(error.to_string()))?;
            if actual != *expected {
                return Err(SignInFailure::IdToken(
                    "the access token hash (at_hash) does not match".into(),
                ));
            }
        }
        let mut identity = self.identity_from(claims);

        if self.settings.userinfo {
            let info: UserInfoClaims = self
                .client
                .user_info(token.access_token().clone(), Some(claims.subject().clone()))
                .map_err(|error| SignInFailure::UserInfo(error.to_string()))?
                .request_async(&self.http)
                .await
                .map_err(|error| SignInFailure::UserInfo(error.to_string()))?;
            self.merge_userinfo(&mut identity, &info);
        }
        Ok(identity)
    }

    /// Builds an ID token verifier that reads the injected clock: `exp` may be up to the leeway
    /// in the past and `iat` up to the leeway in the future.
    fn id_token_verifier(&self) -> openidconnect::core::CoreIdTokenVerifier<'_> {
        let leeway = chrono::Duration::from_std(self.settings.clock_leeway)
            .unwrap_or(chrono::Duration::zero());
        let exp_clock = self.clock.clone();
        let iat_clock = self.clock.clone();
        self.client
            .id_token_verifier()
            .set_time_fn(move || exp_clock.now() - leeway)
            .set_issue_time_verifier_fn(move |issued_at| {
                let latest = iat_clock.now() + leeway;
                if issued_at > latest {
                    Err(format!(
                        "ID token issued at {issued_at}, later than the current time plus the allowed clock skew ({latest})"
                    ))
                } else {
                    Ok(())
                }
            })
    }

    fn check_iss_parameter(&self, iss: Option<&str>) -> Result<(), SignInFailure> {
        let expected = self.settings.issuer.as_str();
        match iss {
            Some(found) if found != expected => Err(SignInFailure::IssuerMismatch {
                expected: expected.to_owned(),
                found: found.to_owned(),
            }),
            None if self.iss_parameter_supported => Err(SignInFailure::IssuerMismatch {
                expected: expected.to_owned(),
                found: String::new(),
            }),
            _ => Ok(()),
        }
    }

    fn identity_from(&self, claims: &IdTokenClaims) -> ProviderIdentity {
        let email = claims.email().map(|email| email.as_str().to_owned());
        let name = claims
            .name()
            .and_then(|name| name.get(None))
            .map(|name| name.as_str().to_owned())
            .or_else(|| {
                claims
                    .preferred_username()
                    .map(|name| name.as_str().to_owned())
            });
        let subject = claims.subject().as_str().to_owned();
        ProviderIdentity {
            issuer: claims.issuer().as_str().to_owned(),
            display_name: display_name(name, email.as_deref(), &subject),
            email_verified: claims.email_verified().unwrap_or(false),
            email,
            groups: groups(claims.additional_claims(), &self.settings.groups_claim),
            subject,
        }
    }

    /// Fills in what the ID token lacked from userinfo. Its groups, when present, replace the ID
    /// token's.
    fn merge_userinfo(&self, identity: &mut ProviderIdentity, info: &UserInfoClaims) {
        if let (None, Some(email)) = (&identity.email, info.email()) {
            identity.email = Some(email.as_str().to_owned());
            identity.email_verified = info.email_verified().unwrap_or(false);
        }
        if identity.display_name == identity.subject {
            let name = info
                .name()
                .and_then(|name| name.get(None))
                .map(|name| name.as_str().to_owned())
                .or_else(|| {
                    info.preferred_username()
                        .map(|name| name.as_str().to_owned())
                });
            identity.display_name =
                display_name(name, identity.email.as_deref(), &identity.subject);
        }
        if info
            .additional_claims()
            .claims
            .contains_key(&self.settings.groups_claim)
        {
            identity.groups = groups(info.additional_claims(), &self.settings.groups_claim);
        }
    }
}

/// Reads the groups claim, a list of strings or a single string. Any other value means no
/// groups.
fn groups(claims: &ExtraClaims, name: &str) -> Vec<String> {
    match claims.claims.get(name) {
        Some(serde_json::Value::Array(values)) => values
            .iter()
            .filter_map(|value| value.as_str().map(str::to_owned))
            .collect(),
        Some(serde_json::Value::String(value)) => vec![value.clone()],
        _ => Vec::new(),
    }
}

/// Maximum display name length the users table accepts, in characters.
const MAX_DISPLAY_NAME: usize = 200;

fn display_name(name: Option<String>, email: Option<&str>, subject: &str) -> String {
    let chosen = name
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .or_else(|| email.map(str::to_owned))
        .unwrap_or_else(|| subject.to_owned());
    chosen.chars().take(MAX_DISPLAY_NAME).collect()
}

/// Compares two secrets through their SHA-256 digests, so the time taken does not depend on
/// where they first differ.
fn same_secret(given: &str, expected: &str) -> bool {
    Sha256::digest(given.as_bytes()) == Sha256::digest(expected.as_bytes())
}

fn token_failure<RE: std::error::Error + 'static, T: openidconnect::ErrorResponse>(
    error: RequestTokenError<RE, T>,
) -> SignInFailure {
    match error {
        RequestTokenError::ServerResponse(response) => {
            SignInFailure::TokenExchange(response.to_string())
        }
        RequestTokenError::Request(cause) => {
            let mut message = cause.to_string();
            let mut source = cause.source();
            while let Some(inner) = source {
                message.push_str(&format!(": {inner}"));
                source = inner.source();
            }
            SignInFailure::TokenEndpointUnreachable(message)
        }
        other => SignInFailure::TokenExchange(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extra(value: serde_json::Value) -> ExtraClaims {
        serde_json::from_value(value).unwrap_or_default()
    }

    #[test]
    fn groups_claim_is_list_or_string() {
        let claims = extra(serde_json::json!({ "groups": ["a", "b", 3], "team": "ops" }));
        assert_eq!(groups(&claims, "groups"), vec!["a", "b"]);
        assert_eq!(groups(&claims, "team"), vec!["ops"]);
        assert!(groups(&claims, "missing").is_empty());
    }

    #[test]
    fn display_name_falls_back() {
        assert_eq!(display_name(Some(" Ada ".into()), None, "s1"), "Ada");
        assert_eq!(
            display_name(Some(" ".into()), Some("a@x.test"), "s1"),
            "a@x.test"
        );
        assert_eq!(display_name(None, None, "s1"), "s1");
        assert_eq!(display_name(Some("x".repeat(300)), None, "s1").len(), 200);
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("", "abc"));
    }
}
