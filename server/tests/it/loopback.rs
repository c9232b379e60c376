//! Real servers on loopback that stand in for the outside world: an SMTP server that hands each
//! received message to the test, and an HTTP server that responds like Slack and records
//! every call.

use std::collections::HashMap;
use std::net::TcpListener as StdTcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::post;
use mailin_embedded::response::OK;
use mailin_embedded::{Handler, Response, Server, SslConfig};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// How long a test waits for a message before it fails.
pub const WAIT: Duration = Duration::from_secs(30);

/// One message the SMTP server received, parsed.
#[derive(Clone, Debug)]
pub struct Mail {
    pub envelope_to: Vec<String>,
    pub raw: String,
    pub subject: String,
    pub to: String,
    pub text: String,
    pub html: String,
}

impl Mail {
    /// Returns the first `http` link in the text part that contains `needle`.
    pub fn link(&self, needle: &str) -> String {
        self.text
            .split_whitespace()
            .find(|word| word.starts_with("http") && word.contains(needle))
            .unwrap_or_else(|| panic!("no link with {needle:?} in:\n{}", self.text))
            .to_owned()
    }
}

/// An SMTP server (mailin-embedded) on a loopback port, running until the test process ends.
pub struct SmtpSink {
    pub port: u16,
    received: mpsc::UnboundedReceiver<Mail>,
}

#[derive(Clone)]
struct Collector {
    sender: mpsc::UnboundedSender<Mail>,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Collector {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.data.clear();
        OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let raw = String::from_utf8_lossy(&self.data).into_owned();
        let parsed = mail_parser::MessageParser::default().parse(self.data.as_slice());
        let mail = match parsed {
            Some(message) => Mail {
                envelope_to: self.to.clone(),
                subject: message.subject().unwrap_or_default().to_owned(),
                to: message
                    .to()
                    .and_then(|to| to.first())
                    .and_then(|address| address.address())
                    .unwrap_or_default()
                    .to_owned(),
                text: message.body_text(0).unwrap_or_default().into_owned(),
                html: message.body_html(0).unwrap_or_default().into_owned(),
                raw,
            },
            None => panic!("the SMTP server received a message it cannot parse:\n{raw}"),
        };
        let _ = self.sender.send(mail);
        OK
    }
}

impl SmtpSink {
    /// Starts the server on a free loopback port.
    pub fn start() -> Self {
        let listener = StdTcpListener::bind("127.0.0.1:0").expect("a loopback port is free");
        Self::start_on(listener)
    }

    /// Starts the server on `listener`.
    pub fn start_on(listener: StdTcpListener) -> Self {
        let port = listener.local_addr().unwrap().port();
        let (sender, received) = mpsc::unbounded_channel();
        let collector = Collector {
            sender,
            to: Vec::new(),
            data: Vec::new(),
        };
        let mut server = Server::new(collector);
        server
            .with_name("smtp.test")
            .with_ssl(SslConfig::None)
            .unwrap()
            .with_num_threads(2)
            .with_tcp_listener(listener);
        // mailin-embedded serves until the process exits; each test's server is abandoned
        // with its port when the test ends.
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        Self { port, received }
    }

    /// Waits for the next message.
    pub async fn next(&mut self) -> Mail {
        tokio::time::timeout(WAIT, self.received.recv())
            .await
            .expect("a message arrives in time")
            .expect("the SMTP server runs")
    }

    /// Returns a message already received, if any, without waiting.
    pub fn try_next(&mut self) -> Option<Mail> {
        self.received.try_recv().ok()
    }
}

/// Returns a loopback port that nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = StdTcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// One call the Slack stand-in received.
#[derive(Clone, Debug)]
pub struct SlackCall {
    /// `chat.postMessage`, `users.lookupByEmail`, `users.info`, `webhook` or `response`.
    pub method: String,
    pub authorization: Option<String>,
    /// The JSON body, or the form fields as a JSON object.
    pub body: Value,
}

#[derive(Clone)]
struct SlackState {
    calls: mpsc::UnboundedSender<SlackCall>,
    /// E-mail address to Slack user id, for `users.lookupByEmail`.
    users: Arc<Mutex<HashMap<String, String>>>,
}

/// An HTTP server on loopback that responds to Slack's Web API methods, the webhook and response
/// URLs, and records each call.
pub struct SlackStub {
    pub base: String,
    calls: mpsc::UnboundedReceiver<SlackCall>,
    users: Arc<Mutex<HashMap<String, String>>>,
}

impl SlackStub {
    /// Starts the server on a free loopback port.
    pub async fn start() -> Self {
        let (sender, calls) = mpsc::unbounded_channel();
        let users = Arc::new(Mutex::new(HashMap::new()));
        let state = SlackState {
            calls: sender,
            users: users.clone(),
        };
        let router = Router::new()
            .route("/api/{method}", post(api))
            .route("/webhook", post(plain))
            .route("/response", post(plain))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self {
            base: format!("http://{address}"),
            calls,
            users,
        }
    }

    /// Makes `users.lookupByEmail` and `users.info` know `email` as Slack user `slack_id`.
    pub fn add_user(&self, email: &str, slack_id: &str) {
        self.users
            .lock()
            .unwrap()
            .insert(email.to_owned(), slack_id.to_owned());
    }

    /// Returns the Web API base URL to configure.
    pub fn api_url(&self) -> url::Url {
        format!("{}/api", self.base).parse().unwrap()
    }

    /// Waits for the next call.
    pub async fn next(&mut self) -> SlackCall {
        tokio::time::timeout(WAIT, self.calls.recv())
            .await
            .expect("a Slack call arrives in time")
            .expect("the Slack stand-in runs")
    }

    /// Returns a call already received, if any, without waiting.
    pub fn try_next(&mut self) -> Option<SlackCall> {
        self.calls.try_recv().ok()
    }
}

async fn api(
    State(state): State<SlackState>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::Json<Value> {
    let is_json = headers
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    let body: Value = if is_json {
        serde_json::from_slice(&body).unwrap()
    } else {
        let fields: serde_json::Map<String, Value> = url::form_urlencoded::parse(&body)
            .map(|(key, value)| (key.into_owned(), Value::String(value.into_owned())))
            .collect();
        Value::Object(fields)
    };
    let authorization = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let answer = {
        let users = state.users.lock().unwrap();
        match method.as_str() {
            "users.lookupByEmail" => {
                match body["email"].as_str().and_then(|email| users.get(email)) {
                    Some(id) => json!({ "ok": true, "user": { "id": id } }),
                    None => json!({ "ok": false, "error": "users_not_found" }),
                }
            }
            "users.info" => {
                let id = body["user"].as_str().unwrap_or_default();
                match users.iter().find(|(_, known)| known.as_str() == id) {
                    Some((email, _)) => {
                        json!({ "ok": true, "user": { "id": id, "profile": { "email": email } } })
                    }
                    None => json!({ "ok": false, "error": "user_not_found" }),
                }
            }
            "chat.postMessage" => {
                json!({ "ok": true, "channel": body["channel"], "ts": "1700000000.000100" })
            }
            _ => json!({ "ok": false, "error": "unknown_method" }),
        }
    };
    let _ = state.calls.send(SlackCall {
        method,
        authorization,
        body,
    });
    axum::Json(answer)
}

async fn plain(State(state): State<SlackState>, uri: axum::http::Uri, body: Bytes) -> &'static str {
    let _ = state.calls.send(SlackCall {
        method: uri.path().trim_start_matches('/').to_owned(),
        authorization: None,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    "ok"
}
