//! The HTTP server: the console (Leptos), the JSON API, health checks and the middleware stack.

pub mod api;
pub mod csrf;
pub mod decisions;
pub mod oidc;
pub mod server_fn_status;
pub mod session_store;
pub mod sessions;
pub mod slack;
pub mod strict_json;
pub mod viewer;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use app::backend::SharedBackend;
use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::console::ConsoleBackend;
use crate::decide::Decider;
use crate::services::Services;

use self::session_store::{PgSessionStore, SessionTimeouts};

/// Header carrying each request's id, set when the client sent none.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Settings of the HTTP layer.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// Directory with `pkg/` (the hydration bundle) and `writ.css`.
    pub site_root: PathBuf,
    /// How long a session lasts without activity.
    pub session_idle_timeout: Duration,
    /// How long a session lasts from sign-in, however active.
    pub session_absolute_timeout: Duration,
    /// The OpenID provider, when sign-in through one is configured.
    pub oidc: Option<Arc<crate::oidc::OidcProvider>>,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// The decision service behind `/api/v1/decisions`.
    pub decider: Arc<Decider>,
}

/// State shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub svc: Services,
    pub backend: SharedBackend,
    pub leptos_options: LeptosOptions,
    /// Whether the hydration bundle exists, so pages load it.
    pub hydrate: bool,
    pub decider: Arc<Decider>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// Builds the whole router.
pub fn router(svc: Services, settings: &HttpSettings) -> Router {
    let site_root = settings.site_root.clone();
    let hydrate = site_root.join("pkg").join("writ_bg.wasm").is_file();
    if hydrate {
        tracing::info!(site_root = %site_root.display(), "serving the hydration bundle");
    } else {
        tracing::info!(
            site_root = %site_root.display(),
            "no hydration bundle found; serving server-rendered pages only (run scripts/build-wasm.sh to build it)"
        );
    }
    let leptos_options = LeptosOptions::builder()
        .output_name("writ")
        .site_root(site_root.display().to_string())
        .site_pkg_dir("pkg")
        .build();
    let backend: SharedBackend = Arc::new(ConsoleBackend::new(svc.clone()));
    let state = AppState {
        svc: svc.clone(),
        backend: backend.clone(),
        leptos_options: leptos_options.clone(),
        hydrate,
        decider: settings.decider.clone(),
    };

    let https = svc.settings.public_url.scheme() == "https";
    let store = PgSessionStore::new(
        svc.pool.clone(),
        svc.clock.clone(),
        SessionTimeouts {
            idle: settings.session_idle_timeout,
            absolute: settings.session_absolute_timeout,
        },
    );
    let sessions = SessionManagerLayer::new(store)
        .with_name("writ_session")
        .with_http_only(true)
        .with_secure(https)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(
            time::Duration::try_from(settings.session_idle_timeout)
                .unwrap_or(time::Duration::hours(12)),
        ));

    let routes = generate_route_list(app::App);
    let sign_in = match &settings.oidc {
        Some(provider) => oidc::routes(svc.clone(), provider.clone()),
        None => Router::new(),
    };
    let context = {
        let backend = backend.clone();
        move || {
            provide_context(backend.clone());
            provide_context(app::api::flash::TakenResults::default());
        }
    };
    let shell = {
        let options = leptos_options.clone();
        move || app::shell(options.clone(), hydrate)
    };
    // Paths no route matches are rendered by the console too, whose router shows its
    // not-found page with status 404.
    let not_found_page = leptos_axum::render_app_async_with_context(context.clone(), shell.clone());
    let console = Router::new()
        .merge(sign_in)
        .leptos_routes_with_context(&state, routes, context, shell)
        .fallback(move |request: axum::extract::Request| not_found_page(request))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            viewer::load_viewer,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            csrf::reject_cross_site,
        ))
        .layer(sessions)
        // Console pages and server-function results can carry secrets shown once.
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("cache-control"),
            HeaderValue::from_static("no-store"),
        ))
        .layer(axum::middleware::from_fn(
            server_fn_status::set_error_status,
        ));

    // The API reads bodies through its JSON extractor, so an oversized body gets the API's JSON
    // error. Every other route is cut off by the request body limit.
    let limited = Router::new()
        .merge(console)
        .nest_service("/pkg", ServeDir::new(site_root.join("pkg")))
        .route_service("/writ.css", ServeFile::new(site_root.join("writ.css")))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            settings.max_body_bytes,
        ));
    let api = api::router(state.clone()).layer(axum::extract::DefaultBodyLimit::max(
        settings.max_body_bytes,
    ));
    let router = Router::new()
        .merge(limited)
        .nest("/api/v1", api)
        .nest("/integrations/slack", slack::router(state.clone()))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(60),
        ));
    with_security_headers(router)
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &axum::http::Request<axum::body::Body>| {
                    let request_id = request
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|value| value.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id,
                    )
                })
                .on_request(())
                .on_response(
                    |response: &axum::http::Response<axum::body::Body>,
                     latency: Duration,
                     _span: &tracing::Span| {
                        tracing::info!(
                            status = response.status().as_u16(),
                            latency_ms = latency.as_millis() as u64,
                            "handled request"
                        );
                    },
                ),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Adds response headers that lock the console down in the browser.
fn with_security_headers(router: Router) -> Router {
    // Leptos's hydration loader is an inline module script, hence 'unsafe-inline' for scripts;
    // 'wasm-unsafe-eval' lets the browser compile the bundle.
    let csp = "default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'; \
               style-src 'self'; img-src 'self' data:; connect-src 'self'; \
               frame-ancestors 'none'; form-action 'self'; base-uri 'none'";
    let header = |name: &'static str, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        )
    };
    router
        .layer(header("content-security-policy", csp))
        .layer(header("x-content-type-options", "nosniff"))
        .layer(header("x-frame-options", "DENY"))
        // Links may carry one-time tokens in their query, so other sites never get a referrer;
        // Writ's own form posts keep theirs, which no-JavaScript form redirects need.
        .layer(header("referrer-policy", "same-origin"))
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match sqlx::query_scalar!("select 1 as \"one!\"")
        .fetch_one(&state.svc.pool)
        .await
    {
        Ok(_) => (StatusCode::OK, "ready"),
        Err(error) => {
            tracing::warn!(error = %error, "readiness check cannot reach the database");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}
