//! The admin's decision clients: registering them, rotating their tokens and disabling them.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::decisions::{
    CREATED_CLIENT_KEY, CreateClient, DisableClient, ROTATED_CLIENT_KEY, RotateClientToken,
    list_clients,
};
use crate::components::common::{ActionError, Badge, Empty, failed, loading};
use crate::components::kept::LatestResult;
use crate::format;
use crate::model::{CreatedClient, DecisionClient};

/// Lists decision clients, registers new ones and shows a new token once.
#[component]
pub fn ClientsPage() -> impl IntoView {
    let create = ServerAction::<CreateClient>::new();
    let rotate = ServerAction::<RotateClientToken>::new();
    let disable = ServerAction::<DisableClient>::new();
    let clients = Resource::new(
        move || {
            (
                create.version().get(),
                rotate.version().get(),
                disable.version().get(),
            )
        },
        |_| list_clients(),
    );
    let tokens = view! {
        <LatestResult action=create key=CREATED_CLIENT_KEY
            render=|created| view! { <NewToken created rotated=false/> }/>
        <LatestResult action=rotate key=ROTATED_CLIENT_KEY
            render=|created| view! { <NewToken created rotated=true/> }/>
    };
    view! {
        <Title text="Decision clients"/>
        <h1>"Decision clients"</h1>
        <p class="hint">
            "A decision client is a service, gateway or agent that asks Writ for runtime decisions. "
            "It calls " <code>"POST /api/v1/decisions"</code> " with its token as "
            <code>"Authorization: Bearer <token>"</code> "."
        </p>
        {tokens}
        <ActionError value=rotate.value()/>
        <ActionError value=disable.value()/>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let clients = match clients.await {
                    Ok(clients) => clients,
                    Err(error) => return failed(error),
                };
                view! {
                    {if clients.is_empty() {
                        view! { <Empty text="No decision clients are registered."/> }.into_any()
                    } else {
                        view! { <ClientTable clients rotate disable/> }.into_any()
                    }}
                    <section>
                        <h2>"Register a client"</h2>
                        <NewClientForm create/>
                    </section>
                }
                .into_any()
            })}
        </Suspense>
    }
}

#[component]
fn NewClientForm(create: ServerAction<CreateClient>) -> impl IntoView {
    view! {
        <ActionForm action=create attr:class="form narrow">
            <ActionError value=create.value()/>
            <label>
                "Name"
                <input type="text" name="name" required maxlength="200" placeholder="such as payments-gateway"/>
            </label>
            <label>
                "Description"
                <input type="text" name="description" maxlength="2000"/>
                <small>"What the client is and who runs it."</small>
            </label>
            <button type="submit">"Register client"</button>
        </ActionForm>
    }
}

/// Shows a client's new token, which the server never shows again.
#[component]
fn NewToken(created: CreatedClient, rotated: bool) -> impl IntoView {
    let headline = if rotated {
        format!("New token for {}.", created.client.name)
    } else {
        format!("Client {} registered.", created.client.name)
    };
    let replaced = rotated.then_some(" The old token no longer works.");
    view! {
        <div class="notice one-time" role="status">
            <p>
                <strong>{headline}</strong>
                " This is the only time the token is shown: copy it now and store it where the client reads its secrets."
                {replaced}
            </p>
            <input type="text" readonly value=created.token aria-label="Decision client token"/>
        </div>
    }
}

#[component]
fn ClientTable(
    clients: Vec<DecisionClient>,
    rotate: ServerAction<RotateClientToken>,
    disable: ServerAction<DisableClient>,
) -> impl IntoView {
    view! {
        <table class="list clients">
            <thead>
                <tr>
                    <th>"Name"</th>
                    <th>"Token"</th>
                    <th>"Created"</th>
                    <th>"Last used"</th>
                    <th>"Disabled"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>
                {clients
                    .into_iter()
                    .map(|client| view! { <ClientRow client rotate disable/> })
                    .collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn ClientRow(
    client: DecisionClient,
    rotate: ServerAction<RotateClientToken>,
    disable: ServerAction<DisableClient>,
) -> impl IntoView {
    let id = client.id.to_string();
    let rotate_id = id.clone();
    let disabled = client.disabled_at.is_some();
    let actions = (!disabled).then(|| {
        view! {
            <ActionForm action=rotate attr:class="inline">
                <input type="hidden" name="id" value=rotate_id/>
                <button type="submit" class="secondary">"Rotate token"</button>
            </ActionForm>
            " "
            <ActionForm action=disable attr:class="inline">
                <input type="hidden" name="id" value=id/>
                <button type="submit" class="danger">"Disable"</button>
            </ActionForm>
        }
    });
    view! {
        <tr class:disabled=disabled>
            <td>
                {client.name}
                {(!client.description.is_empty()).then(|| view! {
                    <br/><small class="hint">{client.description}</small>
                })}
            </td>
            <td><code>{format!("{}…", client.prefix)}</code></td>
            <td class="nowrap">{format::time(client.created_at)}</td>
            <td class="nowrap">{format::maybe_time(client.last_used_at)}</td>
            <td>
                {client.disabled_at.map(|at| view! {
                    <Badge kind="disabled" text="Disabled"/>
                    <br/><small class="hint">{format!("since {}", format::time(at))}</small>
                })}
            </td>
            <td class="row-actions">{actions}</td>
        </tr>
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use crate::pages::resource_form::tests::decode_form;

    #[test]
    fn client_description_is_optional() {
        let decoded: CreateClient = decode_form("name=payments-gateway").unwrap();
        assert_eq!(decoded.name, "payments-gateway");
        assert_eq!(decoded.description, "");
    }
}
