//! OpenID Connect sign-in: provider discovery, the authorization code flow with PKCE, `state`
//! and `nonce`, and ID token validation against the injected clock.
//!
//! The HTTP client talks only to the URLs in the provider's discovery document (token, keys
//! and userinfo endpoints), follows no redirects, and is used for nothing else.

mod flow;
mod types;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use openidconnect::{ClientId, ClientSecret, IssuerUrl, RedirectUrl};
use url::Url;

use crate::clock::Clock;

pub use self::flow::{Callback, PendingSignIn, SignInFailure};
use self::types::{ProviderMetadata, WritClient};

/// Path of the sign-in callback on Writ, where the provider sends people back.
pub const CALLBACK_PATH: &str = "/sign-in/oidc/callback";
/// Path that starts an OpenID Connect sign-in.
pub const START_PATH: &str = "/sign-in/oidc";
/// How long a started sign-in may take before its callback is rejected.
pub const FLOW_LIFETIME: Duration = Duration::from_secs(600);
/// How long a request to the provider may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// The relying-party settings for one OpenID provider.
#[derive(Clone)]
pub struct OidcSettings {
    /// The issuer exactly as the provider states it.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Scopes requested besides `openid`.
    pub scopes: Vec<String>,
    pub redirect_url: Url,
    /// Name of the claim that carries groups.
    pub groups_claim: String,
    /// Whether to read claims from the userinfo endpoint as well.
    pub userinfo: bool,
    /// Clock skew tolerated on an ID token's `exp` and `iat`.
    pub clock_leeway: Duration,
}

impl std::fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .field("redirect_url", &self.redirect_url.as_str())
            .field("groups_claim", &self.groups_claim)
            .field("userinfo", &self.userinfo)
            .field("clock_leeway", &self.clock_leeway)
            .finish_non_exhaustive()
    }
}

/// A discovered OpenID provider and Writ's client registration at it.
#[derive(Clone)]
pub struct OidcProvider {
    client: WritClient,
    http: reqwest::Client,
    settings: OidcSettings,
    /// Whether the provider states that it adds `iss` to authorization responses (RFC 9207),
    /// which then must be present and match.
    iss_parameter_supported: bool,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl OidcProvider {
    /// Fetches the provider's discovery document and signing keys. Fails when the issuer in
    /// the document differs from the configured one in any character.
    pub async fn discover(settings: OidcSettings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        if settings.client_id.is_empty() {
            anyhow::bail!(
                "WRIT_OIDC_CLIENT_ID is empty; set it to the client id registered for Writ at the provider"
            );
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(HTTP_TIMEOUT)
            .build()
            .context("cannot build the HTTP client for the OpenID provider")?;
        let issuer = IssuerUrl::new(settings.issuer.clone())
            .with_context(|| format!("WRIT_OIDC_ISSUER {:?} is not a URL", settings.issuer))?;
        let metadata = ProviderMetadata::discover_async(issuer, &http)
            .await
            .map_err(|error| discovery_error(&settings.issuer, error))?;
        if settings.userinfo && metadata.userinfo_endpoint().is_none() {
            anyhow::bail!(
                "WRIT_OIDC_USERINFO is on but the provider's discovery document lists no userinfo endpoint; turn WRIT_OIDC_USERINFO off"
            );
        }
        let iss_parameter_supported = metadata
            .additional_metadata()
            .authorization_response_iss_parameter_supported
            .unwrap_or(false);
        let secret = (!settings.client_secret.is_empty())
            .then(|| ClientSecret::new(settings.client_secret.clone()));
        let redirect = RedirectUrl::new(settings.redirect_url.to_string())
            .context("WRIT_OIDC_REDIRECT_URL is not a URL")?;
        let client = WritClient::from_provider_metadata(
            metadata,
            ClientId::new(settings.client_id.clone()),
            secret,
        )
        .set_redirect_uri(redirect);
        tracing::info!(
            issuer = %settings.issuer,
            redirect_url = %settings.redirect_url,
            "discovered the OpenID provider"
        );
        Ok(Self {
            client,
            http,
            settings,
            iss_parameter_supported,
            clock,
        })
    }

    /// Returns the configured settings.
    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }
}

fn discovery_error<E: std::error::Error + 'static>(
    configured: &str,
    error: openidconnect::DiscoveryError<E>,
) -> anyhow::Error {
    match error {
        openidconnect::DiscoveryError::Validation(message) => anyhow::anyhow!(
            "the OpenID provider's discovery document names a different issuer than WRIT_OIDC_ISSUER ({message}); \
             set WRIT_OIDC_ISSUER to the issuer exactly as the provider states it, including any trailing slash"
        ),
        other => {
            let mut message =
                format!("cannot discover the OpenID provider at {configured}: {other}");
            let mut source = std::error::Error::source(&other);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            anyhow::anyhow!("{message}; check WRIT_OIDC_ISSUER")
        }
    }
}
