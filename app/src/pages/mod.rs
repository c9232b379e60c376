//! The console's pages, one module per page or closely related pair.

pub mod account;
pub mod approve;
pub mod audit;
pub mod clients;
pub mod dashboard;
pub mod decision_detail;
pub mod decisions;
pub mod grants;
pub mod identities;
pub mod identity_detail;
pub mod identity_form;
pub mod import;
pub mod notifications;
pub mod policies;
pub mod policy_version;
pub mod request_detail;
pub mod request_new;
pub mod requests;
pub mod resource_form;
pub mod resources;
pub mod sign_in;
pub mod users;

use leptos::prelude::*;
use leptos_meta::Title;

/// The page for an unknown path.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found"/>
        <h1>"Page not found"</h1>
        <p>"There is no page at this address. " <a href="/">"Go to the dashboard"</a></p>
    }
}
