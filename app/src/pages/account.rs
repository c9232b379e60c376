//! The viewer's own account: roles, password and API tokens.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::auth::{
    ChangePassword, CreateApiToken, RevokeApiToken, current_viewer, list_api_tokens,
};
use crate::components::common::{ActionError, Badge, Empty, failed, loading};
use crate::components::kept::LatestResult;
use crate::error::AppError;
use crate::format;
use crate::model::{ApiToken, CreatedToken, Role, Viewer};

/// Shows who the viewer is, changes their password and manages their API tokens.
#[component]
pub fn AccountPage() -> impl IntoView {
    let viewer = Resource::new(|| (), |_| current_viewer());
    view! {
        <Title text="Account"/>
        <h1>"Account"</h1>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match viewer.await {
                    Ok(Some(viewer)) => view! { <Account viewer/> }.into_any(),
                    Ok(None) => failed(AppError::Unauthenticated),
                    Err(error) => failed(error),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Account(viewer: Viewer) -> impl IntoView {
    let roles = viewer.roles.clone();
    view! {
        <dl class="facts">
            <dt>"Name"</dt><dd>{viewer.display_name.clone()}</dd>
            <dt>"E-mail"</dt><dd>{viewer.email.clone().unwrap_or_else(|| "—".to_owned())}</dd>
            <dt>"Roles"</dt>
            <dd>
                {if viewer.roles.is_empty() {
                    "None; ask an admin for the roles you need.".into_any()
                } else {
                    role_list(&viewer.roles).into_any()
                }}
            </dd>
        </dl>
        <PasswordSection/>
        <TokenSection roles/>
    }
}

#[component]
fn PasswordSection() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let changed = view! {
        <LatestResult action=change key="password_changed"
            render=|()| view! { <p class="notice" role="status">"Your password was changed."</p> }/>
    };
    view! {
        <section>
            <h2>"Password"</h2>
            {changed}
            <ActionForm action=change attr:class="form narrow">
                <ActionError value=change.value()/>
                <label>
                    "Current password"
                    <input type="password" name="current_password" autocomplete="current-password"/>
                    <small>"Leave it empty if your account has no password yet (it was created with a sign-in link)."</small>
                </label>
                <label>
                    "New password"
                    <input type="password" name="new_password" autocomplete="new-password" minlength="12" required/>
                    <small>"At least 12 characters."</small>
                </label>
                <button type="submit">"Change password"</button>
            </ActionForm>
            <p class="hint">"Only local accounts have a password here; accounts that sign in through the identity provider change it there."</p>
        </section>
    }
}

/// Lists the viewer's API tokens, creates and revokes them, and shows a new token's secret once.
#[component]
fn TokenSection(roles: Vec<Role>) -> impl IntoView {
    let create = ServerAction::<CreateApiToken>::new();
    let revoke = ServerAction::<RevokeApiToken>::new();
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_api_tokens(),
    );
    let secret = view! {
        <LatestResult action=create key="api_token" render=|created| view! { <NewSecret created/> }/>
    };
    view! {
        <section>
            <h2>"API tokens"</h2>
            <p class="hint">
                "A token acts as you, with the roles you give it, for scripts that call Writ's API. "
                "Send it as " <code>"Authorization: Bearer <token>"</code> "."
            </p>
            {secret}
            <ActionError value=revoke.value()/>
            <Suspense fallback=loading>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Ok(tokens) if tokens.is_empty() => view! { <Empty text="You have no API tokens."/> }.into_any(),
                        Ok(tokens) => view! { <TokenTable tokens revoke/> }.into_any(),
                        Err(error) => failed(error),
                    }
                })}
            </Suspense>
            <h3>"New token"</h3>
            {if roles.is_empty() {
                view! { <p class="hint">"You hold no roles, so you cannot create a token."</p> }.into_any()
            } else {
                view! { <NewTokenForm create roles/> }.into_any()
            }}
        </section>
    }
}

#[component]
fn NewTokenForm(create: ServerAction<CreateApiToken>, roles: Vec<Role>) -> impl IntoView {
    view! {
        <ActionForm action=create attr:class="form narrow">
            <ActionError value=create.value()/>
            <label>
                "Name"
                <input type="text" name="name" required maxlength="200" placeholder="such as nightly-report"/>
            </label>
            <fieldset>
                <legend>"Roles"</legend>
                {roles.iter().map(|role| view! {
                    <label class="check">
                        <input type="checkbox" name="roles[]" value=role.as_str()/>
                        {role.label()}
                    </label>
                }).collect_view()}
                <small>"Only roles you hold. Give the token the fewest it needs."</small>
            </fieldset>
            <label>
                "Expires in"
                <input type="text" name="expires_in" value="90d" required placeholder="such as 30d or 12h"/>
                <small>"From 1m to 365d."</small>
            </label>
            <button type="submit">"Create token"</button>
        </ActionForm>
    }
}

/// Shows the secret of a token just created.
#[component]
fn NewSecret(created: CreatedToken) -> impl IntoView {
    view! {
        <div class="notice one-time" role="status">
            <p>
                <strong>{format!("Token {} created.", created.token.name)}</strong>
                " Copy it now: it will not be shown again."
            </p>
            <input type="text" readonly value=created.secret aria-label="New API token"/>
        </div>
    }
}

#[component]
fn TokenTable(tokens: Vec<ApiToken>, revoke: ServerAction<RevokeApiToken>) -> impl IntoView {
    view! {
        <table class="list">
            <thead>
                <tr>
                    <th>"Name"</th>
                    <th>"Token"</th>
                    <th>"Roles"</th>
                    <th>"Created"</th>
                    <th>"Expires"</th>
                    <th>"Last used"</th>
                    <th>"Revoked"</th>
                </tr>
            </thead>
            <tbody>
                {tokens.into_iter().map(|token| {
                    let id = token.id.to_string();
                    let status = match token.revoked_at {
                        Some(at) => view! {
                            <Badge kind="revoked" text="Revoked"/> " " {format::time(at)}
                        }
                        .into_any(),
                        None => view! {
                            <ActionForm action=revoke attr:class="inline">
                                <input type="hidden" name="id" value=id/>
                                <button type="submit" class="danger">"Revoke"</button>
                            </ActionForm>
                        }
                        .into_any(),
                    };
                    view! {
                        <tr>
                            <td>{token.name.clone()}</td>
                            <td><code>{format!("{}…", token.prefix)}</code></td>
                            <td>{role_list(&token.roles)}</td>
                            <td class="nowrap">{format::time(token.created_at)}</td>
                            <td class="nowrap">{format::maybe_time(token.expires_at)}</td>
                            <td class="nowrap">{format::maybe_time(token.last_used_at)}</td>
                            <td>{status}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// Joins role labels with commas.
fn role_list(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|role| role.label())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use crate::pages::resource_form::tests::decode_form;

    #[test]
    fn token_roles_decode_into_vec() {
        let body = "name=report&roles%5B%5D=auditor&roles%5B%5D=requester&expires_in=90d";
        let decoded: CreateApiToken = decode_form(body).unwrap();
        assert_eq!(
            decoded.roles,
            vec!["auditor".to_owned(), "requester".to_owned()]
        );
        assert_eq!(decoded.expires_in, "90d");
    }
}
