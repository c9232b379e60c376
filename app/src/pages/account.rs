//! Placeholder until the page is written.

use leptos::prelude::*;

/// Placeholder.
#[component]
pub fn AccountPage() -> impl IntoView {
    view! { <p>"Coming soon"</p> }
}
