//! Sign-in pages: the identity provider or a local password, and the confirmation page of a
//! one-time sign-in link.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::auth::{RedeemSignInLink, SignIn, available_sign_in_methods, peek_sign_in_link};
use crate::components::common::{ActionError, failed, loading};
use crate::return_to::{safe_return_to, sign_in_path};

/// Sign-in: the identity provider's button when one is configured, and the local account
/// form. Both return to the `return_to` path afterwards.
#[component]
pub fn SignInPage() -> impl IntoView {
    let sign_in = ServerAction::<SignIn>::new();
    let query = use_query_map();
    let return_to = move || {
        query
            .read()
            .get("return_to")
            .and_then(|path| safe_return_to(&path))
            .unwrap_or_default()
    };
    let methods = Resource::new(|| (), |_| available_sign_in_methods());
    view! {
        <Title text="Sign in"/>
        <h1>"Sign in"</h1>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let methods = methods.await.unwrap_or_default();
                let provider_link = sign_in_path("/sign-in/oidc", &return_to());
                view! {
                    {methods.oidc.then(|| view! {
                        <p>
                            <a class="button" id="sign-in-provider" href=provider_link.clone()>
                                "Sign in with your identity provider"
                            </a>
                        </p>
                    })}
                    {(methods.oidc && !methods.local).then(|| view! {
                        <h2>"Break-glass administrator"</h2>
                        <p class="hint">
                            "Local sign-in is turned off except for the bootstrap administrator."
                        </p>
                    })}
                    <ActionForm action=sign_in attr:class="form narrow">
                        <ActionError value=sign_in.value()/>
                        <input type="hidden" name="return_to" value=return_to()/>
                        <label>"Sign-in name" <input type="text" name="login" autocomplete="username" required/></label>
                        <label>"Password" <input type="password" name="password" autocomplete="current-password" required/></label>
                        <button type="submit">"Sign in"</button>
                    </ActionForm>
                }
            })}
        </Suspense>
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
