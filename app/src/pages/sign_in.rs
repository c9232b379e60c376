//! Sign-in pages: local password, and the confirmation page of a one-time sign-in link.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::auth::{RedeemSignInLink, SignIn, peek_sign_in_link};
use crate::components::common::{ActionError, failed, loading};

/// Local account sign-in.
#[component]
pub fn SignInPage() -> impl IntoView {
    let sign_in = ServerAction::<SignIn>::new();
    view! {
        <Title text="Sign in"/>
        <h1>"Sign in"</h1>
        <ActionForm action=sign_in attr:class="form narrow">
            <ActionError value=sign_in.value()/>
            <label>"Sign-in name" <input type="text" name="login" autocomplete="username" required/></label>
            <label>"Password" <input type="password" name="password" autocomplete="current-password" required/></label>
            <button type="submit">"Sign in"</button>
        </ActionForm>
        <p class="hint">
            "First time here? Open the one-time link that " <code>"writ serve"</code>
            " printed in its terminal, or ask an admin for a sign-in link."
        </p>
    }
}

/// Confirms a one-time sign-in link before using it, so that opening the link alone changes
/// nothing.
#[component]
pub fn LinkPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let redeem = ServerAction::<RedeemSignInLink>::new();
    let name = Resource::new(token, peek_sign_in_link);
    view! {
        <Title text="Sign in with a link"/>
        <h1>"Sign in with a link"</h1>
        <ActionError value=redeem.value()/>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match name.await {
                    Ok(name) => view! {
                        <ActionForm action=redeem attr:class="form narrow">
                            <input type="hidden" name="token" value=token()/>
                            <p>"This link signs you in as " <strong>{name}</strong> "."</p>
                            <button type="submit">"Continue"</button>
                        </ActionForm>
                    }
                    .into_any(),
                    Err(error) => failed(error),
                }
            })}
        </Suspense>
    }
}
