//! A real OpenID provider for the tests: `server/tests/oidc-provider/provider.mjs` (the
//! `oidc-provider` npm package) run by Node.js on a loopback port.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use reqwest::header::LOCATION;
use reqwest::{Client, StatusCode, Url};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Client id and secret registered for Writ at the test provider.
pub const CLIENT_ID: &str = "writ";
pub const CLIENT_SECRET: &str = "writ-test-client-secret";

/// A running provider, stopped when dropped.
pub struct TestProvider {
    /// The issuer exactly as the provider states it (no trailing slash).
    pub issuer: String,
    /// The issuer of the mix-up front, when started with `mixup`.
    pub mixup_issuer: Option<String>,
    http: Client,
    child: Child,
}

impl TestProvider {
    /// Starts the provider with `options` (see provider.mjs) and waits until it listens.
    pub async fn start(mut options: Value) -> Self {
        options["exitWithStdin"] = json!(true);
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc-provider");
        assert!(
            dir.join("node_modules/oidc-provider").is_dir(),
            "the test provider's packages are missing; run `npm ci` in {} (scripts/test.sh does)",
            dir.display()
        );
        let mut child = Command::new("node")
            .arg(dir.join("provider.mjs"))
            .arg(options.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs the test provider");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        tokio::time::timeout(
            Duration::from_secs(30),
            BufReader::new(stdout).read_line(&mut line),
        )
        .await
        .expect("the test provider starts within 30 s")
        .unwrap();
        let started: Value = serde_json::from_str(&line).expect("the provider prints its issuer");
        let issuer = started["issuer"].as_str().unwrap().to_owned();
        let mixup_issuer = started["mixupIssuer"].as_str().map(str::to_owned);
        let http = Client::builder().no_proxy().build().unwrap();
        Self {
            issuer,
            mixup_issuer,
            http,
            child,
        }
    }

    /// Stops the provider and waits until its process has exited.
    pub async fn stop(mut self) {
        self.child.kill().await.expect("the test provider stops");
    }

    /// Replaces the account `login` with `password` and `claims`.
    pub async fn set_account(&self, login: &str, password: &str, claims: Value) {
        let response = self
            .http
            .put(format!("{}/test/accounts/{login}", self.issuer))
            .json(&json!({ "password": password, "claims": claims }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
}

/// Follows the browser through the provider from `authorization_url`, signing in as `login`
/// when the provider shows its sign-in form, and returns the URL the provider sends the browser back to.
pub async fn authorize(
    client: &Client,
    authorization_url: &Url,
    login: &str,
    password: &str,
) -> Url {
    let mut url = authorization_url.clone();
    let provider_origin = authorization_url.origin();
    for _ in 0..10 {
        if url.origin() != provider_origin {
            return url;
        }
        let response = client.get(url.clone()).send().await.unwrap();
        if response.status().is_redirection() {
            url = url.join(location(&response)).unwrap();
            continue;
        }
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        // The provider's sign-in form posts to /interaction/<uid>/login.
        let form_url = url.join(&format!("{}/login", url.path())).unwrap();
        let response = client
            .post(form_url)
            .form(&[("login", login), ("password", password)])
            .send()
            .await
            .unwrap();
        assert!(response.status().is_redirection(), "{}", response.status());
        url = url.join(location(&response)).unwrap();
    }
    panic!("the provider did not send the browser back within 10 steps");
}

fn location(response: &reqwest::Response) -> &str {
    response.headers()[LOCATION].to_str().unwrap()
}
