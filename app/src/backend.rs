//! The operations the console's server functions call, implemented by the `writ` server.
//!
//! `app` never depends on `server`: the server provides an `Arc<dyn Backend>` as Leptos context,
//! and each method checks the role and relationship it needs before acting.

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use crate::error::AppError;
use crate::model::*;

/// Shared handle to the backend, as stored in Leptos context.
pub type SharedBackend = Arc<dyn Backend>;

/// Result of a backend call.
pub type BackendResult<T> = Result<T, AppError>;

/// Console operations, each taking the signed-in viewer it acts for.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Returns how people may sign in.
    fn sign_in_methods(&self) -> SignInMethods;
    /// Checks a local account's password and returns the user id to sign in.
    async fn sign_in_password(&self, login: String, password: String) -> BackendResult<Uuid>;
    /// Returns the display name of the user a sign-in link is for, without using it.
    async fn peek_sign_in_link(&self, token: String) -> BackendResult<String>;
    /// Uses a one-time sign-in link and returns the user id to sign in.
    async fn redeem_sign_in_link(&self, token: String) -> BackendResult<Uuid>;
    /// Records that the viewer signed out.
    async fn record_sign_out(&self, viewer: &Viewer) -> BackendResult<()>;
    /// Changes the viewer's own local password.
    async fn change_password(
        &self,
        viewer: &Viewer,
        current: String,
        new: String,
    ) -> BackendResult<()>;

    /// Collects what the viewer's dashboard shows.
    async fn dashboard(&self, viewer: &Viewer) -> BackendResult<Dashboard>;

    /// Lists identities matching `filter`, one page after `cursor`.
    async fn list_identities(
        &self,
        viewer: &Viewer,
        filter: IdentityFilter,
        cursor: Option<String>,
    ) -> BackendResult<Page<Identity>>;
    /// Loads one identity.
    async fn get_identity(&self, viewer: &Viewer, id: Uuid) -> BackendResult<Identity>;
    /// Adds an identity to the inventory.
    async fn create_identity(
        &self,
        viewer: &Viewer,
        input: IdentityInput,
    ) -> BackendResult<Identity>;
    /// Replaces an identity's editable fields.
    async fn update_identity(
        &self,
        viewer: &Viewer,
        id: Uuid,
        input: IdentityInput,
    ) -> BackendResult<Identity>;
    /// Disables or re-enables an identity.
    async fn set_identity_status(
        &self,
        viewer: &Viewer,
        id: Uuid,
        status: IdentityStatus,
    ) -> BackendResult<Identity>;
    /// Imports identities from CSV text.
    async fn import_identities(
        &self,
        viewer: &Viewer,
        csv: String,
        mode: ImportMode,
    ) -> BackendResult<ImportReport>;
    /// Lists human identities that can own others.
    async fn owner_choices(&self, viewer: &Viewer) -> BackendResult<Vec<Choice>>;
    /// Lists identities the viewer may request access for: themselves and what they own.
    async fn subject_choices(&self, viewer: &Viewer) -> BackendResult<Vec<Choice>>;

    /// Lists resources by name, one page after `cursor`; admins may include archived ones.
    async fn list_resources(
        &self,
        viewer: &Viewer,
        include_archived: bool,
        cursor: Option<String>,
    ) -> BackendResult<Page<Resource>>;
    /// Lists the resources the viewer may request.
    async fn requestable_resources(&self, viewer: &Viewer) -> BackendResult<Vec<Resource>>;
    /// Loads one resource.
    async fn get_resource(&self, viewer: &Viewer, id: Uuid) -> BackendResult<Resource>;
    /// Creates a resource.
    async fn create_resource(
        &self,
        viewer: &Viewer,
        input: ResourceInput,
    ) -> BackendResult<Resource>;
    /// Replaces a resource's fields.
    async fn update_resource(
        &self,
        viewer: &Viewer,
        id: Uuid,
        input: ResourceInput,
    ) -> BackendResult<Resource>;
    /// Archives a resource so it can no longer be requested, or restores it.
    async fn set_resource_archived(
        &self,
        viewer: &Viewer,
        id: Uuid,
        archived: bool,
    ) -> BackendResult<Resource>;
    /// Lists users and groups that can be named as requesters or approvers.
    async fn principal_choices(&self, viewer: &Viewer) -> BackendResult<Vec<Choice>>;

    /// Files an access request.
    async fn create_request(
        &self,
        viewer: &Viewer,
        input: RequestInput,
    ) -> BackendResult<AccessRequest>;
    /// Lists the viewer's own requests, newest first.
    async fn list_my_requests(
        &self,
        viewer: &Viewer,
        cursor: Option<String>,
    ) -> BackendResult<Page<AccessRequest>>;
    /// Lists pending requests the viewer may review.
    async fn list_review_queue(
        &self,
        viewer: &Viewer,
        cursor: Option<String>,
    ) -> BackendResult<Page<AccessRequest>>;
    /// Loads a request with its reviews and grant.
    async fn get_request(&self, viewer: &Viewer, id: Uuid) -> BackendResult<RequestDetail>;
    /// Approves or denies a request.
    async fn review_request(
        &self,
        viewer: &Viewer,
        id: Uuid,
        decision: ReviewDecision,
        comment: String,
    ) -> BackendResult<RequestDetail>;
    /// Cancels the viewer's own pending request.
    async fn cancel_request(&self, viewer: &Viewer, id: Uuid) -> BackendResult<AccessRequest>;

    /// Lists grants; non-admins see only grants they requested.
    async fn list_grants(
        &self,
        viewer: &Viewer,
        scope: GrantScope,
        cursor: Option<String>,
    ) -> BackendResult<Page<Grant>>;
    /// Extends a live grant by a duration such as `1h`, within the resource's maximum.
    async fn extend_grant(
        &self,
        viewer: &Viewer,
        id: Uuid,
        by: String,
        reason: String,
    ) -> BackendResult<Grant>;
    /// Ends a live grant early.
    async fn revoke_grant(&self, viewer: &Viewer, id: Uuid, reason: String)
    -> BackendResult<Grant>;

    /// Lists audit events matching `filter`, newest first.
    async fn list_audit(
        &self,
        viewer: &Viewer,
        filter: AuditFilter,
        cursor: Option<String>,
    ) -> BackendResult<Page<AuditEvent>>;

    /// Lists console users by name, one page after `cursor`.
    async fn list_users(
        &self,
        viewer: &Viewer,
        cursor: Option<String>,
    ) -> BackendResult<Page<User>>;
    /// Creates a local user; returns a sign-in link when no password was given.
    async fn create_local_user(
        &self,
        viewer: &Viewer,
        input: NewUserInput,
    ) -> BackendResult<(User, Option<IssuedLink>)>;
    /// Replaces a user's console roles.
    async fn set_user_roles(
        &self,
        viewer: &Viewer,
        id: Uuid,
        roles: Vec<String>,
    ) -> BackendResult<User>;
    /// Disables a user (ending their sessions) or re-enables them.
    async fn set_user_disabled(
        &self,
        viewer: &Viewer,
        id: Uuid,
        disabled: bool,
    ) -> BackendResult<User>;
    /// Issues a one-time sign-in link for a local user.
    async fn issue_sign_in_link(&self, viewer: &Viewer, id: Uuid) -> BackendResult<IssuedLink>;
    /// Lists groups with their members, one page after `cursor`.
    async fn list_groups(
        &self,
        viewer: &Viewer,
        cursor: Option<String>,
    ) -> BackendResult<Page<Group>>;
    /// Creates a group.
    async fn create_group(
        &self,
        viewer: &Viewer,
        name: String,
        description: String,
    ) -> BackendResult<Group>;
    /// Adds a user to a group, or removes them.
    async fn set_group_member(
        &self,
        viewer: &Viewer,
        group_id: Uuid,
        user_id: Uuid,
        member: bool,
    ) -> BackendResult<Group>;

    /// Lists the viewer's API tokens.
    async fn list_api_tokens(&self, viewer: &Viewer) -> BackendResult<Vec<ApiToken>>;
    /// Creates an API token acting with `roles`, which must be among the viewer's own.
    async fn create_api_token(
        &self,
        viewer: &Viewer,
        name: String,
        roles: Vec<String>,
        expires_in: String,
    ) -> BackendResult<CreatedToken>;
    /// Revokes one of the viewer's API tokens.
    async fn revoke_api_token(&self, viewer: &Viewer, id: Uuid) -> BackendResult<()>;

    /// Loads what an approval link's confirmation page shows; `viewer` is the signed-in user,
    /// if any. Opening a link changes nothing.
    async fn open_approval_link(
        &self,
        viewer: Option<&Viewer>,
        token: String,
    ) -> BackendResult<ApprovalLinkView>;
    /// Approves or denies through an approval link, using it up.
    async fn decide_approval_link(
        &self,
        viewer: Option<&Viewer>,
        token: String,
        decision: ReviewDecision,
        comment: String,
    ) -> BackendResult<ApprovalLinkOutcome>;
    /// Loads the admin's notifications page.
    async fn notifications_overview(
        &self,
        viewer: &Viewer,
        failing_only: bool,
    ) -> BackendResult<NotificationsOverview>;
    /// Sets or clears the Slack channel id of a resource.
    async fn set_resource_slack_channel(
        &self,
        viewer: &Viewer,
        resource_id: Uuid,
        channel: String,
    ) -> BackendResult<()>;
    /// Sends a failed notification delivery again.
    async fn retry_delivery(&self, viewer: &Viewer, id: Uuid) -> BackendResult<()>;

    /// Loads the active policy version, its rules, the version history and the Cedar schema.
    async fn policy_overview(&self, viewer: &Viewer) -> BackendResult<PolicyOverview>;
    /// Loads one policy version with its rules and its diff from the active version.
    async fn policy_version(&self, viewer: &Viewer, id: Uuid)
    -> BackendResult<PolicyVersionDetail>;
    /// Validates Cedar source and saves it as a new, inactive policy version.
    async fn save_policy_draft(
        &self,
        viewer: &Viewer,
        source: String,
        reason: String,
    ) -> BackendResult<PolicyVersion>;
    /// Makes a policy version the active one. Activating an older version is the rollback.
    async fn activate_policy(
        &self,
        viewer: &Viewer,
        id: Uuid,
        reason: String,
    ) -> BackendResult<PolicyVersion>;
    /// Replays recorded decisions against a policy version and returns those it would change.
    async fn policy_what_if(&self, viewer: &Viewer, id: Uuid) -> BackendResult<WhatIf>;
    /// Lists recorded decisions matching `filter`, newest first, one page after `cursor`.
    async fn list_decisions(
        &self,
        viewer: &Viewer,
        filter: DecisionFilter,
        cursor: Option<String>,
    ) -> BackendResult<Page<DecisionSummary>>;
    /// Loads one recorded decision with its context, rules and controls.
    async fn get_decision(&self, viewer: &Viewer, id: Uuid) -> BackendResult<DecisionDetail>;
    /// Lists the registered decision clients.
    async fn list_clients(&self, viewer: &Viewer) -> BackendResult<Vec<DecisionClient>>;
    /// Registers a decision client and returns its token, which is shown only this once.
    async fn create_client(
        &self,
        viewer: &Viewer,
        name: String,
        description: String,
    ) -> BackendResult<CreatedClient>;
    /// Replaces a decision client's token and returns the new one, shown only this once.
    async fn rotate_client_token(&self, viewer: &Viewer, id: Uuid) -> BackendResult<CreatedClient>;
    /// Disables a decision client, so its token is no longer accepted.
    async fn disable_client(&self, viewer: &Viewer, id: Uuid) -> BackendResult<DecisionClient>;
}

/// The signed-in viewer, or `None`, placed in each request's extensions by the server.
#[derive(Clone, Debug, Default)]
pub struct CurrentViewer(pub Option<Viewer>);
