//! Placeholder until the page is written.

use leptos::prelude::*;

/// Placeholder.
#[component]
pub fn UsersPage() -> impl IntoView {
    view! { <p>"Coming soon"</p> }
}

/// Placeholder.
#[component]
pub fn GroupsPage() -> impl IntoView {
    view! { <p>"Coming soon"</p> }
}
